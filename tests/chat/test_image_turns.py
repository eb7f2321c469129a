"""Pictures in a turn: kept in a real store, shaped per server kind, refused before sending.

Every picture is a real JPEG made by Pillow and prepared by ``prepare_image``; the stores are
real SQLite files in tmp folders; the last tests send through the real ChatClient to the demo
server and read the bodies back from its request log.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from glm_tui.chat.attachments import (
    attachment_label,
    image_loader,
    images_in_memory,
    keep_image,
)
from glm_tui.chat.image_prep import PreparedImage, prepare_image
from glm_tui.chat.reply_tracker import ReplyStats
from glm_tui.chat.turn import Link, Turn, TurnOutcome, prepare_turn
from glm_tui.client.client import ChatClient
from glm_tui.client.errors import says_images_unsupported
from glm_tui.client.events import ChatEvent, ErrorKind, StreamError
from glm_tui.demo.server import DemoServer
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import ImageAttachment, Message, MessageStatus, Role, Session
from glm_tui.storage.store import SessionStore

JPEG_URL = "data:image/jpeg;base64,"
SPRING_OR_WINTER = "Do you think this is a spring or winter photo?"


def picture(folder: Path, name: str, colour: tuple[int, int, int],
            size: tuple[int, int] = (320, 240)) -> PreparedImage:
    path = folder / name
    Image.new("RGB", size, colour).save(path)
    return prepare_image(path)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SessionStore]:
    opened = SessionStore(tmp_path / "data")
    yield opened
    opened.close()


@pytest.fixture
def cat(tmp_path: Path) -> PreparedImage:
    return picture(tmp_path, "cat.png", (220, 20, 20))


@pytest.fixture
def dog(tmp_path: Path) -> PreparedImage:
    return picture(tmp_path, "dog.png", (30, 60, 220), (200, 100))


def user(text: str, *images: ImageAttachment) -> Message:
    return Message(Role.USER, text, images=list(images))


def assistant(text: str) -> Message:
    return Message(Role.ASSISTANT, text)


def image_urls(content: Any) -> list[str]:
    if not isinstance(content, list):
        return []
    return [part["image_url"]["url"] for part in content if part["type"] == "image_url"]


def jpeg_of(url: str) -> bytes:
    assert url.startswith(JPEG_URL)
    return base64.b64decode(url[len(JPEG_URL):])


# -- keeping ------------------------------------------------------------------------------------


def test_keep_image_stores_the_jpeg_once_and_the_loader_reads_it_back(
        store: SessionStore, cat: PreparedImage) -> None:
    attachment = keep_image(store, cat)
    assert attachment == keep_image(store, cat)  # content-addressed: stored once
    assert (attachment.mime, attachment.width, attachment.height, attachment.name,
            attachment.bytes) == ("image/jpeg", 320, 240, "cat.png", len(cat.jpeg))
    assert store.image_path(attachment.sha256).read_bytes() == cat.jpeg
    assert attachment_label(attachment) == f"cat.png · 320×240 · {len(cat.jpeg)} bytes"
    assert jpeg_of(image_loader(store)(attachment)) == cat.jpeg


def test_a_session_with_a_picture_comes_back_with_its_size(store: SessionStore,
                                                           cat: PreparedImage) -> None:
    session = Session(model="glm-4v", messages=[user("What's in this image?",
                                                     keep_image(store, cat))])
    store.create_session(session)
    [back] = store.load_session(session.id).messages
    assert back.images == session.messages[0].images
    assert back.images[0].bytes == len(cat.jpeg)


# -- shaping per server kind ----------------------------------------------------------------------


def test_glm4v_sends_the_first_picture_of_the_conversation_in_every_request(
        store: SessionStore, cat: PreparedImage, dog: PreparedImage) -> None:
    first, second = keep_image(store, cat), keep_image(store, dog)
    session = Session(model="glm-4v", system_prompt="Answer in English.", messages=[
        user("What's in this image?", first), assistant("A red square."),
        user("And this one?", second)])
    prepared = prepare_turn(session, ServerKind.GLM4V, image_loader=image_loader(store))
    assert prepared.refusal is None
    messages = prepared.request["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]  # no system message
    assert messages[0]["content"][0] == {"type": "text",
                                        "text": "Answer in English.\n\nWhat's in this image?"}
    assert [jpeg_of(url) for url in image_urls(messages[0]["content"])] == [cat.jpeg]
    assert messages[2]["content"] == "And this one?"  # the second picture is not sent
    assert prepared.notes == (
        "Only the first image of the conversation, cat.png, is sent: the GLM-4V server reads "
        "one image per request.",
        "The system prompt is sent inside the first question: the GLM-4V server refuses a "
        "system message.",
    )
    assert prepared.sent_images == (first,)


def test_glm4v_follow_up_questions_carry_the_picture_and_no_notes(
        store: SessionStore, cat: PreparedImage) -> None:
    session = Session(model="glm-4v", messages=[
        user("What's in this image?", keep_image(store, cat)), assistant("A red square."),
        user(SPRING_OR_WINTER)])
    prepared = prepare_turn(session, ServerKind.GLM4V, image_loader=image_loader(store))
    assert (prepared.refusal, prepared.notes) == (None, ())
    assert len(image_urls(prepared.request["messages"][0]["content"])) == 1
    assert prepared.request["messages"][2] == {"role": "user", "content": SPRING_OR_WINTER}


@pytest.mark.parametrize("kind", [ServerKind.OPENAI, ServerKind.GENERIC, ServerKind.ZHIPU])
def test_other_kinds_get_every_picture_as_image_url_parts(
        store: SessionStore, cat: PreparedImage, dog: PreparedImage, kind: ServerKind) -> None:
    first, second = keep_image(store, cat), keep_image(store, dog)
    session = Session(model="glm-4v-plus", system_prompt="Be brief.", messages=[
        user("Compare these.", first, second), assistant("Red, then blue."),
        user("And now?", first)])
    prepared = prepare_turn(session, kind, image_loader=image_loader(store))
    messages = prepared.request["messages"]
    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert [jpeg_of(u) for u in image_urls(messages[1]["content"])] == [cat.jpeg, dog.jpeg]
    assert [jpeg_of(u) for u in image_urls(messages[3]["content"])] == [cat.jpeg]
    assert (prepared.refusal, prepared.notes) == (None, ())
    assert prepared.sent_images == (first, second, first)


def test_the_glm4_text_server_refuses_a_question_with_a_picture(
        store: SessionStore, cat: PreparedImage) -> None:
    session = Session(model="glm-4", messages=[user("What's in this image?",
                                                    keep_image(store, cat))])
    prepared = prepare_turn(session, ServerKind.GLM4, image_loader=image_loader(store))
    assert prepared.refusal == (
        "The GLM-4 local server cannot read images (cat.png): remove it or choose a vision "
        "model such as glm-4v. Nothing was sent.")
    assert prepared.sent_images == ()
    assert prepared.request["messages"] == [{"role": "user", "content": "What's in this image?"}]


async def test_a_refused_turn_cannot_reach_a_server(store: SessionStore,
                                                    cat: PreparedImage) -> None:
    session = Session(model="glm-4", messages=[user("What?", keep_image(store, cat))])
    prepared = prepare_turn(session, ServerKind.GLM4, image_loader=image_loader(store))
    connected: list[bool] = []

    async def connect() -> Any:
        connected.append(True)
        raise AssertionError("connected")

    turn = Turn(prepared, Message(Role.ASSISTANT), save_interval=1.0)
    with pytest.raises(ValueError, match="a refused turn cannot be sent"):
        await turn.run(connect, _View())
    assert connected == []


def test_the_glm4_text_server_leaves_earlier_pictures_out_and_says_so(
        store: SessionStore, cat: PreparedImage, dog: PreparedImage) -> None:
    session = Session(model="glm-4", messages=[
        user("Look.", keep_image(store, cat), keep_image(store, dog)), assistant("Nice."),
        user("Tell me a joke.")])
    prepared = prepare_turn(session, ServerKind.GLM4, image_loader=image_loader(store))
    assert prepared.refusal is None
    assert [m["content"] for m in prepared.request["messages"]] == [
        "Look.", "Nice.", "Tell me a joke."]
    assert prepared.notes == (
        "2 earlier images are not sent: the GLM-4 local server cannot read images.",)


def test_a_server_that_said_no_to_pictures_is_refused_next_time(
        store: SessionStore, cat: PreparedImage) -> None:
    kept = keep_image(store, cat)
    asking = Session(model="llama3", messages=[user("What is it?", kept)])
    prepared = prepare_turn(asking, ServerKind.GENERIC, image_loader=image_loader(store),
                            images_refused=True)
    assert prepared.refusal == (
        "The server said that llama3 cannot read images (cat.png): remove it or choose a "
        "vision model. Nothing was sent.")
    later = Session(model="llama3", messages=[user("What is it?", kept), assistant("?"),
                                              user("Hello")])
    text_only = prepare_turn(later, ServerKind.GENERIC, image_loader=image_loader(store),
                             images_refused=True)
    assert text_only.refusal is None
    assert image_urls(text_only.request["messages"][0]["content"]) == []
    assert text_only.notes == (
        "1 earlier image is not sent: the server said this model cannot read images.",)


def test_a_picture_missing_from_the_store_refuses_the_turn(
        store: SessionStore, cat: PreparedImage) -> None:
    kept = keep_image(store, cat)
    store.image_path(kept.sha256).unlink()
    session = Session(model="glm-4v", messages=[user("What's in this image?", kept)])
    prepared = prepare_turn(session, ServerKind.GLM4V, image_loader=image_loader(store))
    assert prepared.refusal is not None
    assert prepared.refusal.startswith(f"cat.png cannot be sent: image {kept.sha256[:12]}… is "
                                       "missing from ")
    assert prepared.refusal.endswith(". Nothing was sent.")


@pytest.mark.parametrize(("status", "said", "refused"), [
    (500, "image input is not supported - hint: if this is unexpected, you may need to "
          "provide the mmproj", True),  # llama.cpp
    (400, "At most 0 image(s) may be provided in one prompt.", True),  # vLLM
    (400, "Invalid content type. image_url is only supported by certain models.", True),
    (400, "Model does not support images. Please use a model that does.", True),  # LM Studio
    (500, "The server was not compiled for multimodal or the model projector can't be loaded.",
     True),
    (422, "messages[0].content: Input should be a valid string", True),  # GLM-4 text server
    (400, "max_tokens is too large", False),
    (500, "Internal Server Error", False),
], ids=["llama.cpp", "vllm", "openai", "lm-studio", "llamafile", "glm4-text", "other-400",
        "bare-500"])
def test_what_counts_as_this_model_cannot_read_images(status: int, said: str,
                                                      refused: bool) -> None:
    error = StreamError(ErrorKind.HTTP, f"The server answered HTTP {status}: {said}", status,
                        server_detail=said)
    assert says_images_unsupported(error) is refused


async def test_the_outcome_says_when_the_server_refused_the_pictures(
        store: SessionStore, cat: PreparedImage) -> None:
    said = "image input is not supported - hint: you may need to provide the mmproj"
    error = StreamError(ErrorKind.HTTP, f"The server answered HTTP 500: {said}", 500,
                        server_detail=said)

    class Refusing:
        async def chat(self, request: dict[str, Any]) -> AsyncGenerator[ChatEvent, None]:
            yield error

    with_picture = Session(model="llava", messages=[user("What?", keep_image(store, cat))])
    without = Session(model="llava", messages=[user("What?")])
    outcomes = []
    for session in (with_picture, without):
        prepared = prepare_turn(session, ServerKind.GENERIC, image_loader=image_loader(store))

        async def connect() -> Refusing:
            return Refusing()

        turn = Turn(prepared, Message(Role.ASSISTANT, status=MessageStatus.STREAMING),
                    save_interval=1.0)
        outcomes.append(await turn.run(connect, _View()))
    assert [o.images_refused for o in outcomes] == [True, False]


def test_ask_s_pictures_in_memory_are_shaped_the_same(cat: PreparedImage,
                                                      store: SessionStore) -> None:
    [attachment], loader = images_in_memory([cat])
    assert attachment == keep_image(store, cat)  # the same reference as a stored one
    session = Session(model="glm-4v", messages=[user("What?", attachment)])
    from_memory = prepare_turn(session, ServerKind.GLM4V, image_loader=loader)
    from_store = prepare_turn(session, ServerKind.GLM4V, image_loader=image_loader(store))
    assert from_memory.request == from_store.request


# -- the reference flow at API level, against the demo server's request log ----------------------


class _View:
    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.text = self.chunks.append
        self.thoughts: list[str] = []
        self.reasoning = self.thoughts.append

    def answer_was_reasoning(self, text: str) -> None:
        pass

    def state(self) -> None:
        pass

    def link(self, state: Link, detail: str) -> None:
        pass

    def stats(self, stats: ReplyStats) -> None:
        pass

    def save(self) -> None:
        pass

    def finished(self, outcome: TurnOutcome) -> None:
        pass


async def _ask(url: str, session: Session, kind: ServerKind, store: SessionStore) -> str:
    prepared = prepare_turn(session, kind, image_loader=image_loader(store))
    assert prepared.refusal is None
    client = ChatClient(url, "EMPTY")

    async def connect() -> ChatClient:
        return client

    view = _View()
    turn = Turn(prepared, Message(Role.ASSISTANT, status=MessageStatus.STREAMING),
                save_interval=1.0)
    try:
        outcome = await turn.run(connect, view)
    finally:
        await client.aclose()
    assert outcome.error is None, outcome.error
    if session.stream:
        assert len(view.chunks) > 1  # it really streamed
    session.messages.append(outcome.reply)
    return outcome.reply.content


def _logged_bodies(log: Path) -> list[dict[str, Any]]:
    return [entry["body"] for entry in map(json.loads, log.read_text().splitlines())
            if entry["path"].endswith("/chat/completions")]


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
async def test_the_glm4v_reference_flow_carries_the_picture_in_both_requests(
        tmp_path: Path, store: SessionStore, stream: bool) -> None:
    photo = tmp_path / "meadow.jpg"
    Image.new("RGB", (640, 480), (40, 160, 40)).save(photo, quality=95)
    kept = keep_image(store, prepare_image(photo))
    log = tmp_path / "requests.jsonl"
    server = DemoServer(flavor="glm4", token_rate=0, log_requests=log)
    url = server.start()
    try:
        session = Session(model="glm-4v", stream=stream, system_prompt="Be kind.",
                          messages=[user("What's in this image?", kept)])
        first = await _ask(url, session, ServerKind.GLM4V, store)
        assert "640×480 pixels" in first and "dominant colour is green" in first
        session.messages.append(user(SPRING_OR_WINTER))
        second = await _ask(url, session, ServerKind.GLM4V, store)
        assert SPRING_OR_WINTER in second
    finally:
        server.stop()
    bodies = _logged_bodies(log)
    assert len(bodies) == 2
    for body in bodies:
        assert body["stream"] is stream
        messages = body["messages"]
        assert all(m["role"] != "system" for m in messages)
        [url_sent] = image_urls(messages[0]["content"])
        assert jpeg_of(url_sent) == store.image_path(kept.sha256).read_bytes()
        assert sum(len(image_urls(m["content"])) for m in messages) == 1
    assert bodies[1]["messages"][-1] == {"role": "user", "content": SPRING_OR_WINTER}


async def test_the_openai_flavour_reads_two_pictures_of_one_question(
        tmp_path: Path, store: SessionStore, cat: PreparedImage, dog: PreparedImage) -> None:
    log = tmp_path / "requests.jsonl"
    server = DemoServer(flavor="openai", token_rate=0, log_requests=log)
    url = server.start()
    try:
        session = Session(model="gpt-4o", messages=[
            user("Compare them.", keep_image(store, cat), keep_image(store, dog))])
        reply = await _ask(url, session, ServerKind.OPENAI, store)
    finally:
        server.stop()
    assert "320×240 pixels" in reply and "200×100 pixels" in reply
    [body] = _logged_bodies(log)
    assert [jpeg_of(u) for u in image_urls(body["messages"][0]["content"])] == [
        cat.jpeg, dog.jpeg]


def test_the_jpeg_sent_is_the_normalised_picture(cat: PreparedImage) -> None:
    image = Image.open(io.BytesIO(cat.jpeg))
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (320, 240))


def test_the_label_of_a_reference_from_before_sizes_were_kept() -> None:
    old = ImageAttachment("ab" * 32, "image/jpeg", 640, 480, "sky.jpg")
    assert attachment_label(old) == "sky.jpg · 640×480"
    big = ImageAttachment("cd" * 32, "image/jpeg", 1120, 840, "", 1536 * 1024)
    assert attachment_label(big) == f"image {'cd' * 6} · 1120×840 · 1.5 MB"
    tiny = ImageAttachment("ef" * 32, "image/jpeg", 1, 1, "dot.jpg", 631)
    assert attachment_label(tiny) == "dot.jpg · 1×1 · 631 bytes"


def test_glm4v_gets_an_older_png_under_the_jpeg_prefix_it_decodes(tmp_path: Path,
                                                                   store: SessionStore) -> None:
    """A session imported from before every picture became a JPEG may hold a PNG: GLM-4V answers
    500 to ``data:image/png`` but decodes PNG bytes sent under the JPEG prefix."""
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), (0, 200, 0)).save(buffer, "PNG")
    digest = store.put_image(buffer.getvalue(), "png")
    png = ImageAttachment(digest, "image/png", 30, 20, "old.png")
    session = Session(model="glm-4v", messages=[user("What?", png)])
    [url] = image_urls(prepare_turn(session, ServerKind.GLM4V, image_loader=image_loader(store))
                       .request["messages"][0]["content"])
    assert url.startswith(JPEG_URL) and jpeg_of(url) == buffer.getvalue()
    [kept] = image_urls(prepare_turn(session, ServerKind.OPENAI, image_loader=image_loader(store))
                        .request["messages"][0]["content"])
    assert kept.startswith("data:image/png;base64,")  # other servers are told what it is
