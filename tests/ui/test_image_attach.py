"""Attaching pictures on screen: the picker, chips, pasted paths, bad files, sending and editing.

Everything runs against the real app and a real demo server on loopback, with real picture files
made by Pillow in a temporary folder that is also the current folder (where the picker opens).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.command import CommandPalette

from glm_tui.chat import image_prep
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import Role
from glm_tui.ui.dialogs.attach_image import AttachImageModal, ImageTree
from glm_tui.ui.screens.image_view import ImageViewScreen
from glm_tui.ui.widgets.image_thumbnail import ImageThumbnail
from tests.support.pictures import (
    BLUE,
    attach_by_keys,
    open_picker,
    screen_text,
    vision_app,
    wait_chips_ready,
    write_picture,
)
from tests.support.raw_server import RawServer, json_script, stream_script
from tests.support.toasts import ToastLog
from tests.ui.conftest import click, logged_requests, ready, wait_for, wait_reply_done

SIZE = (120, 40)


@pytest.fixture
def pictures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of pictures (and a text file), made the current folder: the picker opens here."""
    folder = tmp_path / "pictures"
    write_picture(folder, "red.jpg", size=(64, 48))
    write_picture(folder, "blue.png", BLUE, size=(40, 30), fmt="PNG")
    (folder / "notes.txt").write_text("not a picture\n", encoding="utf-8")
    monkeypatch.chdir(folder)
    return folder


async def test_keys_only_the_path_completes_and_the_chip_shows_the_picture(
        glm4_server: str, pictures: Path) -> None:
    app = vision_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press(*"What is it?")
        await attach_by_keys(pilot, pictures / "red.jpg")
        [chip] = await wait_chips_ready(pilot, 1)
        assert str(chip.label()).startswith("red.jpg · 64×48 · ")
        assert "red.jpg · 64×48" in screen_text(pilot)
        assert screen.prompt.text == "What is it?"  # typed text untouched
        assert app.focused is screen.prompt


async def test_the_tree_shows_only_folders_and_pictures_and_enter_attaches(
        glm4_server: str, pictures: Path) -> None:
    write_picture(pictures / "holiday", "[red]beach.png", fmt="PNG")
    write_picture(pictures, "\x1b[31mescape.png", fmt="PNG")  # a name a shell could make
    app = vision_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        picker = await open_picker(pilot)
        tree = picker.query_one(ImageTree)
        await wait_for(pilot, lambda: "red.jpg" in screen_text(pilot), what="the tree listed")
        text = screen_text(pilot)
        assert "blue.png" in text and "holiday" in text and "notes.txt" not in text
        assert "␛[31mescape.png" in text and "\x1b" not in text  # made visible, inert
        await pilot.press("down")  # from the path field into the tree
        assert app.focused is tree
        await pilot.press("down", "enter")  # the first entry, the folder "holiday": opened
        await wait_for(pilot, lambda: "[red]beach.png" in screen_text(pilot),
                       what="the folder's picture, its name shown literally")
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, AttachImageModal),
                       what="the picker to close")
        [chip] = await wait_chips_ready(pilot, 1)
        assert chip.pending.name == "[red]beach.png"


async def test_the_palette_entry_opens_the_picker(glm4_server: str, pictures: Path) -> None:
    app = vision_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
        await pilot.press(*"attach")
        await wait_for(pilot, lambda: "Attach (^f)" in screen_text(pilot), what="the entry")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AttachImageModal),
                       what="the picker")


async def test_a_typed_path_that_is_missing_or_a_folder_is_not_attached(
        glm4_server: str, pictures: Path) -> None:
    app = vision_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        picker = await open_picker(pilot)
        await pilot.press(*"missing.jpg", "enter")
        await wait_for(pilot, lambda: "There is no file at" in screen_text(pilot),
                       what="the warning")
        assert app.screen is picker
        field = picker.query_one("#attach-path")
        field.value = ""
        await pilot.press(*str(pictures.parent), "enter")  # a folder: opened in the tree
        await wait_for(pilot, lambda: picker.query_one(ImageTree).path == pictures.parent,
                       what="the tree at the parent folder")
        assert field.value == f"{pictures.parent}/"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is not picker, what="the picker closed")
        assert app.screen.query_one("#attachments").chips == []


async def test_chips_are_removed_with_delete_and_with_a_click_on_their_cross(
        glm4_server: str, pictures: Path) -> None:
    app = vision_app(glm4_server, model="gpt-4o", kind=ServerKind.OPENAI)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press(*"keep this")
        await attach_by_keys(pilot, pictures / "red.jpg")
        await attach_by_keys(pilot, pictures / "blue.png")
        first, second = await wait_chips_ready(pilot, 2)
        await pilot.press("tab")  # from the prompt to the attachments
        assert app.focused is first or app.focused is second
        focused = app.focused
        await pilot.press("delete")
        await wait_for(pilot, lambda: len(screen.attachments.chips) == 1, what="one removed")
        [left] = screen.attachments.chips
        assert left is not focused
        await click(pilot, ".chip-close")
        await wait_for(pilot, lambda: screen.attachments.chips == [], what="both removed")
        assert screen.prompt.text == "keep this"
        assert not screen.attachments.display or screen.attachments.has_class("-empty")


async def test_a_pasted_path_is_attached_with_a_toast_and_t_on_its_chip_gives_the_text_back(
        glm4_server: str, pictures: Path) -> None:
    app = vision_app(glm4_server)
    toasts = ToastLog(app)
    pasted = f"'{pictures / 'red.jpg'}'"  # a terminal pastes a dragged file quoted
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press(*"Look: ")
        app.post_message(events.Paste(pasted))
        [chip] = await wait_chips_ready(pilot, 1)
        assert screen.prompt.text == "Look: "  # the path was not typed in
        assert toasts.any_mentions("Attached red.jpg (the pasted text names a picture). To "
                                   "write the text instead: Tab to its chip, then t.")
        chip.focus()
        await pilot.press("t")
        await wait_for(pilot, lambda: screen.attachments.chips == [], what="chip removed")
        assert screen.prompt.text == "Look: " + pasted  # given back, nothing lost

        app.post_message(events.Paste(pasted))  # dropped by mistake: removed, nothing left
        [chip] = await wait_chips_ready(pilot, 1)
        chip.focus()
        await pilot.press("backspace")
        await wait_for(pilot, lambda: screen.attachments.chips == [], what="chip removed")
        assert screen.prompt.text == "Look: " + pasted

        app.post_message(events.Paste("see /no/such/picture.jpg please"))
        await wait_for(pilot, lambda: screen.prompt.text.endswith("please"), what="text paste")
        assert screen.attachments.chips == []


async def test_a_path_pasted_while_a_picture_has_the_focus_goes_to_the_prompt(
        glm4_server: str, pictures: Path) -> None:
    app = vision_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press(*"What's in this image?")
        await attach_by_keys(pilot, pictures / "red.jpg")
        await wait_chips_ready(pilot, 1)
        await pilot.press("enter")
        await wait_reply_done(pilot)
        screen.query_one(ImageThumbnail).focus()
        await pilot.pause()
        app.post_message(events.Paste(f"file://{pictures / 'blue.png'}"))
        [chip] = await wait_chips_ready(pilot, 1)
        assert chip.pending.name == "blue.png"
        assert app.focused is screen.prompt and screen.prompt.text == ""
        app.post_message(events.Paste("plain words"))
        await wait_for(pilot, lambda: screen.prompt.text == "plain words", what="text pasted")


async def test_a_text_file_named_jpg_gives_a_toast_and_loses_nothing(
        glm4_server: str, pictures: Path) -> None:
    (pictures / "fake.jpg").write_text("just words, honestly\n", encoding="utf-8")
    app = vision_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press(*"What's in this image?")
        await attach_by_keys(pilot, pictures / "fake.jpg", typed=3)
        await wait_for(pilot, lambda: toasts.titled("Not attached"), what="the toast")
        [toast] = toasts.titled("Not attached")
        assert toast.severity == "error" and "fake.jpg" in toast.message
        assert "not an image" in toast.message
        await wait_for(pilot, lambda: screen.attachments.chips == [], what="no chip")
        assert screen.prompt.text == "What's in this image?"
        assert screen.session.messages == []

        # Pasted, the same file: the toast again, and the pasted text is given back.
        app.post_message(events.Paste(f" {pictures / 'fake.jpg'}"))
        await wait_for(pilot, lambda: len(toasts.titled("Not attached")) == 2, what="toast 2")
        await wait_for(pilot, lambda: screen.prompt.text.endswith("fake.jpg"), what="text back")
        assert screen.prompt.text == f"What's in this image? {pictures / 'fake.jpg'}"
        assert screen.attachments.chips == [] and screen.session.messages == []


async def test_enter_while_a_picture_is_prepared_sends_once_it_is_ready(
        glm4_server: str, pictures: Path, monkeypatch: pytest.MonkeyPatch,
        request_log: Path) -> None:
    gate = threading.Event()
    real = image_prep.prepare_image

    def held(path: Path, limits: Any = image_prep.DEFAULT_LIMITS) -> Any:
        gate.wait(30)
        return real(path, limits)

    monkeypatch.setattr("glm_tui.ui.widgets.attachment_tray.prepare_image", held)
    (pictures / "fake.jpg").write_text("not a picture\n", encoding="utf-8")
    app = vision_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press(*"What's in this image?")
        await attach_by_keys(pilot, pictures / "red.jpg")
        await wait_for(pilot, lambda: "red.jpg · preparing…" in screen_text(pilot),
                       what="the chip preparing")
        await pilot.press("enter")
        await wait_for(pilot, lambda: toasts.any_mentions("Sending as soon as red.jpg is ready"),
                       what="the wait toast")
        assert screen.session.messages == [] and screen.prompt.text == "What's in this image?"
        gate.set()
        reply = await wait_reply_done(pilot)  # no second Enter
        assert "64×48" in reply.content and "red" in reply.content
        assert screen.attachments.chips == [] and screen.prompt.text == ""
        [question] = [m for m in screen.session.messages if m.role is Role.USER]
        assert [image.name for image in question.images] == ["red.jpg"]

        # A picture that fails meanwhile: nothing is sent, the question stays.
        gate.clear()
        await pilot.press(*"And now?")
        await attach_by_keys(pilot, pictures / "fake.jpg", typed=3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: toasts.any_mentions("Sending as soon as fake.jpg"),
                       what="the wait toast")
        gate.set()
        await wait_for(pilot, lambda: toasts.any_mentions("Not sent: a picture was not "
                                                          "attached"), what="not sent")
        assert screen.prompt.text == "And now?"
        assert len([m for m in screen.session.messages if m.role is Role.USER]) == 1
    assert len(logged_requests(request_log)) == 1


async def test_glm4v_says_a_second_picture_will_not_be_seen(
        glm4_server: str, pictures: Path, request_log: Path) -> None:
    app = vision_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press(*"Compare them")
        await attach_by_keys(pilot, pictures / "red.jpg")
        await attach_by_keys(pilot, pictures / "blue.png")
        await wait_chips_ready(pilot, 2)
        assert toasts.any_mentions("GLM-4V reads only the first image of a conversation "
                                   "(red.jpg): blue.png will not be seen.")
        await pilot.press("enter")
        await wait_reply_done(pilot)
        assert toasts.any_mentions("Only the first image of the conversation, red.jpg, is sent")
        [question] = [m for m in screen.session.messages if m.role is Role.USER]
        assert [image.name for image in question.images] == ["red.jpg", "blue.png"]
    [body] = logged_requests(request_log)
    parts = body["messages"][0]["content"]
    assert [part["type"] for part in parts] == ["text", "image_url"]


async def test_several_pictures_go_in_one_question_where_the_server_takes_them(
        openai_server: str, pictures: Path, request_log: Path) -> None:
    app = vision_app(openai_server, model="gpt-4o", kind=ServerKind.OPENAI)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press(*"Compare them")
        await attach_by_keys(pilot, pictures / "red.jpg")
        await attach_by_keys(pilot, pictures / "blue.png")
        await wait_chips_ready(pilot, 2)
        await pilot.press("enter")
        await wait_reply_done(pilot)
    [body] = logged_requests(request_log)
    parts = body["messages"][-1]["content"]
    assert [part["type"] for part in parts] == ["text", "image_url", "image_url"]
    assert all(part["image_url"]["url"].startswith("data:image/jpeg;base64,")
               for part in parts[1:])


async def test_editing_the_last_question_brings_its_pictures_back_as_chips(
        glm4_server: str, pictures: Path, request_log: Path) -> None:
    app = vision_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press(*"What's in this image?")
        await attach_by_keys(pilot, pictures / "red.jpg")
        await wait_chips_ready(pilot, 1)
        await pilot.press("enter")
        await wait_reply_done(pilot)
        await pilot.press("ctrl+g")
        [chip] = await wait_chips_ready(pilot, 1)
        assert chip.pending.name == "red.jpg" and chip.pending.path is None
        await pilot.press("escape")  # leave editing: its chips go with its text
        await wait_for(pilot, lambda: screen.attachments.chips == [], what="chips gone")
        await pilot.press("ctrl+g")
        await wait_chips_ready(pilot, 1)
        screen.prompt.load_text("And its colour?")
        await pilot.press("enter")
        await wait_reply_done(pilot)
        questions = [m for m in screen.session.messages if m.role is Role.USER]
        assert [(q.content, [i.name for i in q.images]) for q in questions] == [
            ("And its colour?", ["red.jpg"])]
    second = logged_requests(request_log)[-1]
    assert second["messages"][0]["content"][1]["image_url"]["url"].startswith(
        "data:image/jpeg;base64,")


async def test_a_picture_in_a_message_opens_full_size_on_enter_and_click(
        glm4_server: str, pictures: Path) -> None:
    app = vision_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press(*"What's in this image?")
        await attach_by_keys(pilot, pictures / "red.jpg")
        await wait_chips_ready(pilot, 1)
        await pilot.press("enter")
        await wait_reply_done(pilot)
        thumbnail = screen.query_one(ImageThumbnail)
        assert "▣ red.jpg · 64×48" in screen_text(pilot)  # the placeholder: headless, text
        thumbnail.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ImageViewScreen), what="full view")
        await wait_for(pilot, lambda: "Kept at:" in screen_text(pilot), what="its details")
        text = screen_text(pilot)
        assert "red.jpg · 64×48" in text and "does not draw pictures" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="back")
        await click(pilot, ".image-caption")
        await wait_for(pilot, lambda: isinstance(app.screen, ImageViewScreen),
                       what="full view on a click")


async def test_half_blocks_draw_the_thumbnail_and_the_full_view_after_a_resume(
        glm4_server: str, pictures: Path) -> None:
    app = vision_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press(*"What's in this image?")
        await attach_by_keys(pilot, pictures / "red.jpg")
        await wait_chips_ready(pilot, 1)
        await pilot.press("enter")
        await wait_reply_done(pilot)
        session_id = app.screen.session.id  # type: ignore[attr-defined]

    resumed = vision_app(glm4_server, display="halfcell", resume=session_id)
    async with resumed.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await wait_for(pilot, lambda: screen.query(".image-picture"), what="the thumbnail")
        picture = screen.query_one(".image-picture")
        await wait_for(pilot, lambda: "▀" in screen_text(pilot) or "▄" in screen_text(pilot),
                       what="half blocks on screen")
        assert picture.region.height == 10
        assert "Enter opens" not in screen_text(pilot)  # a picture, not the placeholder
        screen.query_one(ImageThumbnail).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(resumed.screen, ImageViewScreen)
                       and resumed.screen.query("#image-view-picture"), what="the full view")
        big = resumed.screen.query_one("#image-view-picture")
        await wait_for(pilot, lambda: big.region.height > 10, what="drawn large")


async def test_a_text_only_server_warns_on_attach_and_refuses_keeping_question_and_chips(
        glm4_server: str, pictures: Path, request_log: Path) -> None:
    app = vision_app(glm4_server, model="glm-4")
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press(*"What's in this image?")
        await attach_by_keys(pilot, pictures / "red.jpg")
        await wait_chips_ready(pilot, 1)
        assert toasts.any_mentions("cannot read images: sending will be refused")
        await pilot.press("enter")
        await wait_for(pilot, lambda: toasts.titled("Not sent"), what="the refusal")
        [refusal] = toasts.titled("Not sent")
        assert refusal.severity == "error" and "red.jpg" in refusal.message
        assert screen.prompt.text == "What's in this image?"
        assert [chip.pending.name for chip in screen.attachments.chips] == ["red.jpg"]
        assert screen.session.messages == []
    assert logged_requests(request_log) == []



async def test_a_server_that_says_the_model_cannot_read_images_is_remembered(
        pictures: Path) -> None:
    said = "image input is not supported - hint: you may need to provide the mmproj"
    reply = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "llava",
             "choices": [{"index": 0, "delta": {"content": "Hello."}, "finish_reason": "stop"}]}
    with RawServer() as raw:
        raw.add(json_script(200, {"object": "list", "data": [{"id": "llava"}]}),
                json_script(400, {"error": {"message": said}}),
                stream_script([reply]))
        app = vision_app(raw.base_url, model="llava", kind=ServerKind.GENERIC)
        toasts = ToastLog(app)
        async with app.run_test(size=SIZE) as pilot:
            screen = await ready(pilot)
            await wait_for(pilot, lambda: len(raw.requests) >= 1, what="the models check")
            await pilot.press(*"What's in this image?")
            await attach_by_keys(pilot, pictures / "red.jpg")
            await wait_chips_ready(pilot, 1)
            await pilot.press("enter")
            failed = await wait_reply_done(pilot)
            assert failed.error is not None and "image input is not supported" in failed.error

            await pilot.press(*"And this one?")
            await attach_by_keys(pilot, pictures / "blue.png")
            await wait_chips_ready(pilot, 1)
            await pilot.press("enter")
            await wait_for(pilot, lambda: toasts.titled("Not sent"), what="the refusal")
            assert "The server said that llava cannot read images (blue.png)" in \
                toasts.titled("Not sent")[0].message
            assert screen.prompt.text == "And this one?"
            assert len(raw.requests) == 2  # nothing more was sent

            await screen.attachments.clear()
            await pilot.press("enter")  # the text alone goes
            answered = await wait_reply_done(pilot)
            assert answered.content == "Hello."
            assert len(raw.requests) == 3
