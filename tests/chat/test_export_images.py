"""Images out through export and back in through import: same attachments, same bytes.

Every image here is a real JPEG made with Pillow, normalised by ``prepare_image`` and kept in a
real store in a tmp data dir, as the app does.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import struct
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from glm_tui.chat.attachments import data_url, keep_image
from glm_tui.chat.export import prepare_export, render, write_export
from glm_tui.chat.image_prep import prepare_image
from glm_tui.chat.importing import ImportProblems, read_import, save_import
from glm_tui.model.session import ImageAttachment, Message, MessageStatus, Role, Session
from glm_tui.storage.store import SessionStore
from tests.support.demo import image_bytes

RED = (200, 30, 40)
BLUE = (20, 40, 210)


def kept(store: SessionStore, folder: Path, name: str, colour: tuple[int, int, int],
         size: tuple[int, int] = (64, 48)) -> ImageAttachment:
    """A Pillow-made picture attached as the app attaches one: prepared, then kept."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(image_bytes(colour, size, fmt="PNG" if name.endswith(".png") else "JPEG"))
    return keep_image(store, prepare_image(path))


def stored_bytes(store: SessionStore, image: ImageAttachment) -> bytes:
    return store.image_path(image.sha256).read_bytes()


def picture_session(store: SessionStore, tmp_path: Path) -> Session:
    """Two questions with pictures (one with two), replies, and one picture used twice."""
    pictures = tmp_path / "pictures"
    cat = kept(store, pictures, "cat.jpg", RED)
    sky = kept(store, pictures, "sky 北京.png", BLUE, (80, 20))
    session = Session(title="Pictures", model="glm-4v", system_prompt="Look closely.")
    session.messages = [
        Message(Role.USER, "What's in this image?", images=[cat]),
        Message(Role.ASSISTANT, "A red square."),
        Message(Role.USER, "And these two?", images=[sky, cat]),
        Message(Role.ASSISTANT, "Blue, then red again."),
    ]
    store.create_session(session)
    return store.load_session(session.id)


def without_ids(session: Session) -> Session:
    for message in session.messages:
        message.id = None
    return session


def image_parts(exported: dict[str, Any]) -> list[str]:
    return [part["image_url"]["url"] for message in exported["messages"]
            if isinstance(message.get("content"), list)
            for part in message["content"] if part["type"] == "image_url"]


# --- JSON ------------------------------------------------------------------------------------


def test_json_export_embeds_each_image_as_a_data_url(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data")
    session = picture_session(store, tmp_path)
    cat, sky = session.messages[0].images[0], session.messages[2].images[0]
    export = prepare_export(session, "json", store)
    assert export.notes == () and export.image_files == ()
    exported = json.loads(export.text)
    # The OpenAI messages are what a server would be sent: every picture, byte for byte.
    assert image_parts(exported) == [data_url("image/jpeg", stored_bytes(store, cat)),
                                     data_url("image/jpeg", stored_bytes(store, sky)),
                                     data_url("image/jpeg", stored_bytes(store, cat))]
    assert exported["messages"][1]["content"][0] == {"type": "text",
                                                     "text": "What's in this image?"}
    # The glm_tui block refers to them by hash, with what a placeholder shows.
    reference = exported["glm_tui"]["messages"][0]["images"][0]
    assert reference == {"sha256": cat.sha256, "mime": "image/jpeg", "width": 64, "height": 48,
                         "name": "cat.jpg", "bytes": len(stored_bytes(store, cat))}
    assert reference["bytes"] > 0
    # Without the store the text is references only (what render() gives).
    assert image_parts(json.loads(render(session, "json"))) == []
    store.close()


def test_json_round_trip_into_a_fresh_data_dir_is_identical(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data")
    session = picture_session(store, tmp_path)
    target = tmp_path / "out" / "chat.json"
    target.parent.mkdir()
    write_export(prepare_export(session, "json", store, target), target)

    fresh = SessionStore(tmp_path / "fresh")
    assert not fresh.has_image(session.messages[0].images[0].sha256)
    imported = read_import(target.read_bytes(), image_stored=fresh.has_image)
    assert imported.left_out == []
    assert sorted(imported.images) == sorted({i.sha256 for m in session.messages
                                              for i in m.images})
    saved = save_import(fresh, imported)
    assert saved.id == session.id  # nothing there by that id: the same id
    again = fresh.load_session(session.id)
    assert without_ids(again) == without_ids(store.load_session(session.id))
    for message in again.messages:
        for image in message.images:
            assert stored_bytes(fresh, image) == stored_bytes(store, image)
            assert hashlib.sha256(stored_bytes(fresh, image)).hexdigest() == image.sha256
    # ... and exporting the import gives the same file (but for the store's message ids).
    def no_ids(text: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(text)
        for message in data["glm_tui"]["messages"]:
            message.pop("id")
        return data

    assert no_ids(prepare_export(fresh.load_session(session.id), "json", fresh).text) == no_ids(
        target.read_text(encoding="utf-8"))
    store.close()
    fresh.close()


def test_a_question_left_out_of_the_openai_messages_keeps_its_picture(tmp_path: Path) -> None:
    """A question whose reply failed before any text is not in ``messages`` (no server would
    be sent it): its picture travels in its glm_tui entry instead, still only once."""
    store = SessionStore(tmp_path / "data")
    dog = kept(store, tmp_path / "pictures", "dog.jpg", (10, 160, 20))
    session = Session(title="Failed")
    session.messages = [
        Message(Role.USER, "Is this a dog?", images=[dog]),
        Message(Role.ASSISTANT, "", status=MessageStatus.FAILED, error="HTTP 500"),
    ]
    store.create_session(session)
    text = prepare_export(session, "json", store).text
    exported = json.loads(text)
    assert image_parts(exported) == []
    entry = exported["glm_tui"]["messages"][0]["images"][0]
    assert entry["data_url"] == data_url("image/jpeg", stored_bytes(store, dog))
    assert text.count(base64.b64encode(stored_bytes(store, dog)).decode()) == 1

    fresh = SessionStore(tmp_path / "fresh")
    imported = read_import(text)
    assert imported.left_out == [] and list(imported.images) == [dog.sha256]
    save_import(fresh, imported)
    assert fresh.load_session(session.id).messages[0].images == [dog]
    assert stored_bytes(fresh, dog) == stored_bytes(store, dog)
    store.close()
    fresh.close()


def test_glm_tui_entry_data_urls_are_read_wherever_they_are(tmp_path: Path) -> None:
    """Bytes in a later entry serve an earlier use of the same picture; a broken one is named
    by its place in the glm_tui block."""
    store = SessionStore(tmp_path / "data")
    dog = kept(store, tmp_path / "pictures", "dog.jpg", (10, 160, 20))
    session = Session(title="Twice")
    session.messages = [Message(Role.USER, "Dog?", images=[dog]),
                        Message(Role.ASSISTANT, "", status=MessageStatus.FAILED),
                        Message(Role.USER, "Dog again?", images=[dog]),
                        Message(Role.ASSISTANT, "", status=MessageStatus.FAILED)]
    exported = json.loads(prepare_export(session, "json", store).text)
    entries = [m["images"][0] for m in exported["glm_tui"]["messages"][::2]]
    entries[1]["data_url"] = entries[0].pop("data_url")  # the bytes now come second
    imported = read_import(json.dumps(exported))
    assert imported.left_out == [] and list(imported.images) == [dog.sha256]

    entries[1]["data_url"] = "data:image/jpeg;base64,AAAA"
    imported = read_import(json.dumps(exported))
    assert imported.left_out[0] == ("glm_tui.messages[2].images[0].data_url: the data is not an "
                                    "image (it is 3 bytes of something else); the image was "
                                    "left out")
    assert [line.split(":")[0] for line in imported.left_out[1:]] == [
        "glm_tui.messages[0].images[0]", "glm_tui.messages[2].images[0]"]
    store.close()


def test_an_image_missing_from_the_store_is_exported_without_its_picture(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data")
    session = picture_session(store, tmp_path)
    cat = session.messages[0].images[0]
    store.image_path(cat.sha256).unlink()
    export = prepare_export(session, "json", store)
    [note] = export.notes
    assert note.startswith("cat.jpg (message 1) was exported without its picture")
    assert "missing" in note and str(store.images_dir / cat.sha256[:2]) in note
    exported = json.loads(export.text)
    assert exported["messages"][1] == {"role": "user", "content": "What's in this image?"}
    assert len(image_parts(exported)) == 1  # the sky is still there
    assert exported["glm_tui"]["messages"][0]["images"][0]["sha256"] == cat.sha256  # kept

    # Imported elsewhere, the reference stays as a missing image, and that is said.
    imported = read_import(export.text)
    assert [line.split(":")[0] for line in imported.left_out] == [
        "glm_tui.messages[0].images[0]", "glm_tui.messages[2].images[1]"]
    assert "cat.jpg has no readable image data in this file" in imported.left_out[0]
    assert imported.session.messages[0].images == [cat]
    # Into a store that has it, nothing is said.
    assert read_import(export.text, image_stored=lambda sha: True).left_out == []
    store.close()


# --- Markdown --------------------------------------------------------------------------------


def test_markdown_writes_the_images_beside_it_and_links_them(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data")
    session = picture_session(store, tmp_path)
    cat, sky = session.messages[0].images[0], session.messages[2].images[0]
    target = tmp_path / "exports" / "my chat.md"
    target.parent.mkdir()
    export = prepare_export(session, "markdown", store, target)
    write_export(export, target)
    text = target.read_text(encoding="utf-8")
    links = re.findall(r"!\[([^\]]*)\]\(([^)]*)\)", text)
    assert [label for label, _ in links] == ["cat.jpg", "sky 北京.png", "cat.jpg"]
    # The link resolves from the export's folder to the exact stored bytes.
    for (_, link), image in zip(links, [cat, sky, cat], strict=True):
        assert (target.parent / unquote(link)).read_bytes() == stored_bytes(store, image)
    folder = target.parent / "my chat_images"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"cat-{cat.sha256[:12]}.jpg", f"sky-北京-{sky.sha256[:12]}.jpg"])  # cat once
    assert "*Image:" not in text
    assert oct(folder.stat().st_mode & 0o777) == oct(0o700)
    store.close()


def test_exporting_again_under_the_same_name_leaves_only_the_pictures_it_links(
        tmp_path: Path) -> None:
    """The conversation lost a picture since the last export: the folder beside the file must
    not keep it (someone sharing the folder would share a picture the file no longer shows),
    while a file the person put there themselves stays."""
    store = SessionStore(tmp_path / "data")
    session = picture_session(store, tmp_path)
    cat, sky = session.messages[0].images[0], session.messages[2].images[0]
    target = tmp_path / "chat.md"
    write_export(prepare_export(session, "markdown", store, target), target)
    folder = tmp_path / "chat_images"
    (folder / "notes.txt").write_text("mine")
    session.messages[2].images = []  # the sky picture is gone from the conversation
    write_export(prepare_export(session, "markdown", store, target), target)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"cat-{cat.sha256[:12]}.jpg", "notes.txt"])
    assert sky.sha256[:12] not in target.read_text(encoding="utf-8")
    # A JSON export of the same stem never touches the Markdown file's pictures.
    json_target = tmp_path / "chat.json"
    write_export(prepare_export(session, "json", store, json_target), json_target)
    assert (folder / f"cat-{cat.sha256[:12]}.jpg").exists()
    store.close()


def test_markdown_image_names_cannot_leave_the_folder(tmp_path: Path) -> None:
    """Names come from file names or imported files: only safe characters make a file name,
    and link text cannot break out of the link."""
    store = SessionStore(tmp_path / "data")
    names = ("../../etc/passwd", "a](http://evil)[b", "\x1b[31mred.jpg", "")
    hostile = [dataclasses.replace(kept(store, tmp_path / "pictures", f"{n}.jpg", (n * 60, 9, 9)),
                                   name=name) for n, name in enumerate(names)]
    session = Session(title="Names")
    session.messages = [Message(Role.USER, "names", images=hostile)]
    target = tmp_path / "out.md"
    write_export(prepare_export(session, "markdown", store, target), target)
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                     if p.is_file() and p.parent != tmp_path / "pictures"
                     and "data" not in p.parts)
    assert written == sorted(["out.md", *(f"out_images/{stem}-{image.sha256[:12]}.jpg"
                                          for stem, image in zip(
                                              ("passwd", "evil-b", "31mred", "image"), hostile,
                                              strict=True))])
    text = target.read_text(encoding="utf-8")
    assert f"![a\\](http://evil)\\[b](out_images/evil-b-{hostile[1].sha256[:12]}.jpg)" in text
    store.close()


def test_markdown_to_standard_output_names_the_images_instead(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data")
    session = picture_session(store, tmp_path)
    export = prepare_export(session, "markdown", store, None)
    assert export.image_files == () and export.notes == ()
    assert "*Image: cat.jpg (64×48, image/jpeg)*" in export.text
    assert "![" not in export.text
    store.close()


def test_markdown_with_a_missing_image_says_so_and_writes_the_rest(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data")
    session = picture_session(store, tmp_path)
    cat, sky = session.messages[0].images[0], session.messages[2].images[0]
    store.image_path(cat.sha256).unlink()
    target = tmp_path / "chat.md"
    export = prepare_export(session, "markdown", store, target)
    write_export(export, target)
    assert [note.split(":")[0] for note in export.notes] == [
        "cat.jpg (message 1) was exported without its picture"]
    text = target.read_text(encoding="utf-8")
    assert text.count("*Image: cat.jpg (64×48, image/jpeg)*") == 2
    assert f"![sky 北京.png](chat_images/sky-%E5%8C%97%E4%BA%AC-{sky.sha256[:12]}.jpg)" in text
    assert [p.name for p in (tmp_path / "chat_images").iterdir()] == [
        f"sky-北京-{sky.sha256[:12]}.jpg"]
    store.close()


def test_an_unwritable_image_folder_leaves_no_markdown(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data")
    session = picture_session(store, tmp_path)
    target = tmp_path / "chat.md"
    (tmp_path / "chat_images").write_text("a file where the folder would go")
    with pytest.raises(OSError) as caught:
        write_export(prepare_export(session, "markdown", store, target), target)
    assert "chat_images" in str(caught.value.filename)
    assert not target.exists()  # never a Markdown file linking to images that are not there
    store.close()


# --- import: broken images are named, the rest imports ---------------------------------------


def exported_with_pictures(tmp_path: Path) -> tuple[dict[str, Any], Session]:
    store = SessionStore(tmp_path / "data")
    session = picture_session(store, tmp_path)
    exported = json.loads(prepare_export(session, "json", store).text)
    store.close()
    return exported, session


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims a size (a decompression bomb's header) without its pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))


@pytest.mark.parametrize(("url", "reason"), [
    ("data:image/png;base64," + base64.b64encode(png_header(20000, 20000)).decode(),
     "the image is too large to open safely (Image size (400000000 pixels) exceeds limit"),
    ("data:image/jpeg;base64,!!!not-base64!!!", "the base64 text of the data: URL is broken"),
    ("data:image/jpeg;base64," + base64.b64encode(b"hello, I am text").decode(),
     "the data is not an image (it is text)"),
    ("data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xff\xe0\x00\x10JF").decode(),
     "the image data is damaged"),
    ("data:image/jpeg;base64,", "holds no data"),
    ("data:image/jpeg,%FF%D8", "not base64-encoded"),
    ("https://example.com/cat.jpg", "is a link, not image data (glm-tui does not fetch images)"),
    (42, "the image URL must be text"),
])
def test_a_broken_image_is_named_and_the_rest_imports(
    tmp_path: Path, url: object, reason: str
) -> None:
    exported, session = exported_with_pictures(tmp_path)
    exported["messages"][1]["content"][1]["image_url"]["url"] = url  # the first cat
    exported["messages"][3]["content"][2]["image_url"]["url"] = url  # the second cat
    imported = read_import(json.dumps(exported))
    for line, where in zip(imported.left_out, ["messages[1].content[1]", "messages[3].content[2]"],
                           strict=False):
        assert line.startswith(f"{where}: ") and line.endswith("; the image was left out")
        assert reason in line
    assert imported.left_out[2].startswith("glm_tui.messages[0].images[0]: cat.jpg has no "
                                           "readable image data")
    assert len(imported.left_out) == 4  # the cat's two references; the sky came through
    assert [m.content for m in imported.session.messages] == [m.content for m in session.messages]
    sky = session.messages[2].images[0]
    assert list(imported.images) == [sky.sha256]
    fresh = SessionStore(tmp_path / "fresh")
    save_import(fresh, imported)
    again = fresh.load_session(session.id)
    assert again.messages[0].images == session.messages[0].images  # kept, as a missing image
    assert not fresh.has_image(session.messages[0].images[0].sha256)
    assert fresh.has_image(sky.sha256)
    fresh.close()


def test_changed_pixels_no_longer_match_their_reference(tmp_path: Path) -> None:
    exported, _ = exported_with_pictures(tmp_path)
    other = image_bytes((1, 2, 3), (64, 48))
    exported["messages"][1]["content"][1]["image_url"]["url"] = data_url("image/jpeg", other)
    exported["messages"][3]["content"][2]["image_url"]["url"] = data_url("image/jpeg", other)
    imported = read_import(json.dumps(exported))
    assert hashlib.sha256(other).hexdigest() not in imported.images
    assert [line.split(":")[0] for line in imported.left_out] == [
        "glm_tui.messages[0].images[0]", "glm_tui.messages[2].images[1]"]


def test_a_bad_image_reference_is_still_a_problem(tmp_path: Path) -> None:
    exported, _ = exported_with_pictures(tmp_path)
    exported["glm_tui"]["messages"][0]["images"][0]["sha256"] = "../../etc/passwd"
    exported["glm_tui"]["messages"][2]["images"][0]["width"] = "wide"
    exported["glm_tui"]["messages"][2]["images"][1] = "cat.jpg"
    with pytest.raises(ImportProblems) as caught:
        read_import(json.dumps(exported))
    assert caught.value.problems == [
        'glm_tui.messages[0].images[0]: "sha256" must be 64 lowercase hex characters',
        'glm_tui.messages[2].images[0]: "width" must be a whole number',
        "glm_tui.messages[2].images[1]: must be an object, found a string",
    ]


def test_plain_openai_messages_with_data_url_images_import(tmp_path: Path) -> None:
    """A file from another tool: its pictures are checked by Pillow and stored as they are."""
    png = image_bytes((0, 128, 255), (30, 20), fmt="PNG")
    jpeg = image_bytes(RED, (40, 10))
    data = {"model": "gpt-4o", "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "Compare these"},
            {"type": "image_url", "image_url": {"url": data_url("image/png", png)}},
            {"type": "image_url", "image_url": data_url("image/jpeg", jpeg)},  # older shape
            {"type": "image_url", "image_url": {"url": "https://example.com/x.jpg"}},
        ]},
        {"role": "assistant", "content": "Blue and red."},
    ]}
    imported = read_import(data)
    assert imported.left_out == ["messages[0].content[3]: 'https://example.com/x.jpg' is a "
                                 "link, not image data (glm-tui does not fetch images); the "
                                 "image was left out"]
    question = imported.session.messages[0]
    assert question.content == "Compare these"
    assert question.images == [
        ImageAttachment(hashlib.sha256(png).hexdigest(), "image/png", 30, 20, "", len(png)),
        ImageAttachment(hashlib.sha256(jpeg).hexdigest(), "image/jpeg", 40, 10, "", len(jpeg)),
    ]
    store = SessionStore(tmp_path / "data")
    save_import(store, imported)
    assert store.image_path(question.images[0].sha256).read_bytes() == png
    assert store.image_path(question.images[0].sha256).suffix == ".png"
    assert store.image_path(question.images[1].sha256).read_bytes() == jpeg
    store.close()
