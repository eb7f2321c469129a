"""A careless server's stream (issue 13 items 8 and 13): never a silent loss, the right words.

An invalid-JSON frame mid-stream used to lose its text while the reply was marked complete and
``ask`` exited 0; a server that accepted the connection and then said nothing showed the status
"unreachable". Both run here against the byte-exact scripted server on loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from glm_tui.model.session import MessageStatus
from glm_tui.ui.app import GlmTuiApp
from glm_tui.ui.widgets.status_bar import ConnectionState
from tests.e2e.test_ask import glm_tui
from tests.support.raw_server import RawServer, Script, json_script, sse
from tests.support.waiting import wait_for
from tests.ui.conftest import make_app, ready, send, settings_for, wait_reply_done


def content(text: str, finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}


MODELS = json_script(200, {"object": "list", "data": [{"id": "m"}]})


def with_unreadable_frames() -> Script:
    return Script(body=sse(content("Rivers "), b'{"choices": [{"delta": {"content": "lost',
                           content("run to the sea."), b"\xff\xfe not json",
                           content("", "stop")))


@pytest.fixture
def server() -> Iterator[RawServer]:
    with RawServer() as raw:
        yield raw


def test_ask_says_how_many_pieces_were_skipped_and_exits_1(server: RawServer) -> None:
    server.add(with_unreadable_frames())
    run = glm_tui("ask", "--base-url", server.base_url, "--model", "m", "rivers?")
    assert run.stdout.rstrip("\n") == "Rivers run to the sea."
    assert "2 pieces of the reply could not be read" in run.stderr
    assert run.returncode == 1


async def test_the_app_marks_a_reply_with_skipped_pieces(server: RawServer) -> None:
    server.add(MODELS, with_unreadable_frames())
    app = make_app(server.base_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: len(server.requests) >= 1, what="the models check")
        await send(pilot, "rivers?")
        reply = await wait_reply_done(pilot)
        assert reply.content == "Rivers run to the sea."
        assert reply.status is MessageStatus.COMPLETE
        assert reply.error is not None and "2 pieces of the reply could not be read" in reply.error
        # The person sees it under the reply, not only in the store.
        shown = "\n".join(str(block.render()) for block in app.screen.query(".error-block"))
        assert "could not be read" in shown


async def test_a_server_that_accepts_and_never_answers_has_timed_out(server: RawServer) -> None:
    server.add(MODELS, Script(body=(), ending="hang", header_delay=30))
    app = GlmTuiApp(replace(settings_for(server.base_url), read_timeout=0.5))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await wait_for(pilot, lambda: len(server.requests) >= 1, what="the models check")
        await send(pilot, "hello?")
        reply = await wait_reply_done(pilot)
        assert reply.status is MessageStatus.FAILED
        assert "read timeout" in (reply.error or "")
        assert screen.status.state is ConnectionState.TIMED_OUT


async def test_a_key_echoed_by_the_server_is_never_stored_nor_exported(
    server: RawServer, data_dir: Path,
) -> None:
    """Issue 13 item 9: the error body quoting the Authorization header stayed in sessions.db."""
    key = "sk-live-9f8e7d6c5b4a39281706"
    body = {"error": {"message": f"Invalid token in header 'Authorization: Bearer {key}'"}}
    server.add(MODELS, json_script(401, body))
    app = GlmTuiApp(settings_for(server.base_url, api_key=key))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: len(server.requests) >= 1, what="the models check")
        await send(pilot, "hello?")
        reply = await wait_reply_done(pilot)
        assert reply.status is MessageStatus.FAILED
        assert "Invalid token" in (reply.error or "") and key not in (reply.error or "")
    assert server.requests[-1].headers.get("authorization") == f"Bearer {key}"  # it was sent
    stored = b"".join(path.read_bytes() for path in data_dir.glob("sessions.db*"))
    assert b"Invalid token" in stored  # the error is stored...
    assert key.encode() not in stored  # ...without the key
    exported = glm_tui("sessions", "export", reply_session_id(data_dir), "--format", "json")
    assert "Invalid token" in exported.stdout and key not in exported.stdout


def reply_session_id(data_dir: Path) -> str:
    from glm_tui.storage.store import SessionStore

    store = SessionStore(data_dir)
    try:
        session_id = store.last_session_id()
    finally:
        store.close()
    assert session_id is not None
    return session_id
