"""The whole app, configured from a config file, against `glm-tui serve-demo --flavor glm4`.

The server is a separate process started by the real command line, so the bytes on the wire are
the GLM-4 server's (no role chunk, ``\\r\\n\\r\\n`` frames, no usage, text/plain 500s). The server
kind is not configured: the app detects it from ``/v1/models`` the way it would for a real
GLM-4 server.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import MessageStatus, Role
from glm_tui.settings.config import load_settings
from glm_tui.storage.store import SessionStore
from glm_tui.ui.app import GlmTuiApp
from glm_tui.ui.widgets.status_bar import ConnectionState
from tests.ui.conftest import ask, logged_requests, ready, wait_for

SIZE = (120, 40)


@pytest.fixture
def serve_demo(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``glm-tui serve-demo --flavor glm4 --port 0`` in its own process; yields (url, log)."""
    log = tmp_path / "serve-demo.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "glm_tui", "serve-demo", "--flavor", "glm4", "--port", "0",
         "--token-rate", "2000", "--log-requests", str(log)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/v1/)", line)
        assert match, f"serve-demo did not say where it listens: {line!r}"
        yield match.group(1), log
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def app(serve_demo: tuple[str, Path], config_path: Path) -> GlmTuiApp:
    url, _ = serve_demo
    config_path.write_text(
        'server = "local"\n\n[servers.local]\n'
        f'base_url = "{url}"\nmodel = "glm-4"\n\n[sampling]\ntemperature = 0.4\n',
        encoding="utf-8",
    )
    return GlmTuiApp(load_settings())


async def test_chat_errors_and_a_cut_stream_against_the_glm4_server(
    app: GlmTuiApp, serve_demo: tuple[str, Path], data_dir: Path
) -> None:
    _, log = serve_demo
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await wait_for(pilot, lambda: app.connection_state is ConnectionState.READY,
                       what="the connection check")
        assert app.server_kind is ServerKind.GLM4  # detected from /v1/models
        assert screen.status.plain.startswith("local · glm-4")
        assert "T 0.4" in screen.status.plain

        # Plain chat, two turns: the second request carries the whole conversation.
        first = await ask(pilot, "Hello GLM")
        assert first.status is MessageStatus.COMPLETE and "Hello GLM" in first.content
        second = await ask(pilot, "And again")
        assert second.status is MessageStatus.COMPLETE
        body = logged_requests(log)[-1]
        assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
        assert body["messages"][1]["content"] == first.content
        assert body["temperature"] == 0.4 and body["stream"] is True

        # The server's errors, in its own words.
        failed = await ask(pilot, "[[demo:status=422]] invalid")
        assert failed.status is MessageStatus.FAILED
        assert failed.error is not None and "422" in failed.error
        assert app.connection_state is ConnectionState.ERROR
        failed = await ask(pilot, "[[demo:status=500]] broken")
        assert failed.error is not None and "Internal Server Error" in failed.error

        # A stream cut half-way keeps its text, marked interrupted; the chat goes on.
        cut = await ask(pilot, "[[demo:cut=60]] a long answer please")
        assert cut.status is MessageStatus.INTERRUPTED
        assert 0 < len(cut.content) <= 60
        after = await ask(pilot, "Still there?")
        assert after.status is MessageStatus.COMPLETE
        assert app.connection_state is ConnectionState.READY
        body = logged_requests(log)[-1]
        assert {"role": "assistant", "content": cut.content} in body["messages"]

        session_id = screen.session.id
        await pilot.press("ctrl+q")

    assert app.return_code == 0
    store = SessionStore(data_dir)
    saved = store.load_session(session_id)
    store.close()
    assert [m.status for m in saved.messages if m.role is Role.ASSISTANT] == [
        MessageStatus.COMPLETE, MessageStatus.COMPLETE, MessageStatus.FAILED,
        MessageStatus.FAILED, MessageStatus.INTERRUPTED, MessageStatus.COMPLETE,
    ]
    assert json.dumps(saved.sampling.to_dict())  # settings restored with the session


async def test_tools_passed_reply_arrives_in_one_piece(
    app: GlmTuiApp, serve_demo: tuple[str, Path]
) -> None:
    """GLM-4 buffers a text answer when tools are passed: the UI waits, then shows it all."""
    _, log = serve_demo
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        screen.session.tools = [{
            "type": "function",
            "function": {"name": "get_stock_price", "description": "Stock prices",
                         "parameters": {"type": "object", "properties": {}}},
        }]
        reply = await ask(pilot, "Tell me a joke about owls")
        assert reply.status is MessageStatus.COMPLETE
        assert "owls" in reply.content
        view = screen.messages.get_view(reply)
        assert view is not None
        assert view.query_one("StreamingMarkdown").text == reply.content  # type: ignore[attr-defined]
        assert "tools" in logged_requests(log)[-1]
