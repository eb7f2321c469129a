"""Pictures an MCP tool returned: kept in a real store, sent only where the server reads images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glm_tui.chat.attachments import image_loader
from glm_tui.chat.request import shape_messages
from glm_tui.chat.result_images import keep_result_images, result_images_in_memory
from glm_tui.chat.tool_loop import ToolLoop
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import ImageAttachment, Message, MessageStatus, Role, Session, ToolCall
from glm_tui.storage.store import SessionStore
from glm_tui.tool_servers.results import ResultImage
from tests.support.mcp_servers import png_bytes

MAP = ToolCall("call_map", "get_map", '{"city": "Paris"}')
TIME = ToolCall("call_time", "get_time", "{}")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SessionStore]:
    opened = SessionStore(tmp_path / "data")
    yield opened
    opened.close()


def answered(store: SessionStore, pictures: list[bytes]) -> tuple[Session, list[ImageAttachment]]:
    session = Session(messages=[
        Message(Role.USER, "map and time?"),
        Message(Role.ASSISTANT, "", tool_calls=[MAP, TIME], status=MessageStatus.COMPLETE),
    ])
    loop = ToolLoop(session)
    images, problems = keep_result_images(
        store, [ResultImage("image/png", data) for data in pictures], "get_map")
    assert problems == []
    session.messages.append(loop.answer(MAP, "a map of Paris", images))
    session.messages.append(loop.answer(TIME, "12:00"))
    return session, images


def test_pictures_follow_the_tool_results_as_a_user_message(store: SessionStore) -> None:
    session, images = answered(store, [png_bytes(), png_bytes((0, 0, 200))])
    assert [image.name for image in images] == ["get_map-1.png", "get_map-2.png"]
    assert images[0].mime == "image/png" and images[0].width == 8
    shaped = shape_messages(session, ServerKind.OPENAI, image_loader(store))
    roles = [message["role"] for message in shaped.messages]
    assert roles == ["user", "assistant", "tool", "tool", "user"]
    assert shaped.messages[2]["content"] == "a map of Paris"
    pictures: list[Any] = shaped.messages[4]["content"]
    assert pictures[0] == {"type": "text", "text": "The pictures returned by the tool calls "
                                                  "above (get_map):"}
    assert [part["image_url"]["url"][:22] for part in pictures[1:]] == [
        "data:image/png;base64,"] * 2
    assert shaped.sent_images == tuple(images)


def test_a_text_only_server_gets_the_text_and_a_note_instead(store: SessionStore) -> None:
    session, images = answered(store, [png_bytes()])
    shaped = shape_messages(session, ServerKind.GLM4, image_loader(store))
    assert [message["role"] for message in shaped.messages] == ["user", "assistant", "tool",
                                                                "tool"]
    assert shaped.messages[2]["content"] == ("a map of Paris\n[1 picture of this result left "
                                             "out of the request]")
    assert shaped.left_out_images == tuple(images)


def test_glm4v_takes_only_the_first_picture_of_the_conversation(store: SessionStore) -> None:
    session, images = answered(store, [png_bytes(), png_bytes((0, 0, 200))])
    shaped = shape_messages(session, ServerKind.GLM4V, image_loader(store))
    parts = shaped.messages[-1]["content"]
    assert len(parts) == 2 and parts[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert shaped.left_out_images == (images[1],)


def test_a_picture_whose_file_is_gone_is_left_out_not_a_refused_turn(
        store: SessionStore) -> None:
    session, images = answered(store, [png_bytes()])
    store.image_path(images[0].sha256).unlink()
    shaped = shape_messages(session, ServerKind.OPENAI, image_loader(store))
    assert shaped.missing_images == tuple(images)
    assert shaped.messages[-1]["role"] == "tool"


def test_bytes_that_are_not_a_picture_are_named_and_dropped(store: SessionStore) -> None:
    images, problems = keep_result_images(
        store, [ResultImage("image/png", b"hello, I am text"), ResultImage("image/gif",
                                                                         png_bytes())], "snap")
    assert [image.name for image in images] == ["snap-2.png"]  # the real format decides
    assert problems == ["picture 1 from snap was left out: the data is not an image (it is "
                        "text)"]


def test_ask_keeps_pictures_in_memory() -> None:
    images, load, problems = result_images_in_memory([ResultImage("image/png", png_bytes())],
                                                     "get_map")
    assert problems == []
    assert load(images[0]).startswith("data:image/png;base64,")
