"""Faults and hostile text: each one a clear message on screen, nothing lost, nothing executed.

Servers are real (demo servers on loopback, one with an api key, a port where nothing listens);
what is checked is what a person sees: the status bar, the error block with the server's own
words, the question still in the session, the text of the screen as the terminal would get it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from glm_tui.demo.server import DemoServer
from glm_tui.model.session import MessageStatus, Role
from glm_tui.ui.app import GlmTuiApp
from glm_tui.ui.widgets.status_bar import ConnectionState
from tests.support.toasts import ToastLog
from tests.ui.conftest import (
    ask,
    click,
    logged_requests,
    make_app,
    ready,
    wait_for,
    wait_reply_done,
)

SIZE = (110, 36)


def screen_lines(app: GlmTuiApp) -> list[str]:
    """The text of every cell row exactly as it would be written to the terminal."""
    strips = app.screen._compositor.render_strips()
    return ["".join(segment.text for segment in strip) for strip in strips]


def assert_terminal_safe(app: GlmTuiApp) -> None:
    """No character a terminal acts on (ESC, BEL, NUL, C1 controls...) is in the drawn text."""
    for line in screen_lines(app):
        for char in line:
            assert unicodedata.category(char) != "Cc", f"control {char!r} drawn in {line!r}"


def error_text(app: GlmTuiApp) -> str:
    blocks = app.screen.query(".error-block")
    return "\n".join(str(block.render()) for block in blocks if block.display)


async def test_no_server_listening_starts_says_unreachable_and_keeps_the_question(
    dead_url: str,
) -> None:
    app = make_app(dead_url, kind=None)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        # The prompt works at once, before the check has an answer.
        await pilot.press(*"draft")
        assert screen.prompt.text == "draft"
        await wait_for(pilot, lambda: app.connection_state is ConnectionState.UNREACHABLE,
                       what="the unreachable state")
        assert "unreachable" in screen.status.plain
        assert screen.prompt.text == "draft"  # typed text stays in the prompt

        screen.prompt.load_text("Is anyone there?")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not screen.reply_running
                       and len(screen.session.messages) == 2, what="the failed reply")
        await pilot.pause()
        question, reply = screen.session.messages
        assert question.role is Role.USER and question.content == "Is anyone there?"
        assert reply.status is MessageStatus.FAILED, reply
        assert app.connection_state is ConnectionState.UNREACHABLE, reply.error
        shown = error_text(app)
        assert "127.0.0.1" in shown
        view = screen.messages.get_view(reply)
        assert view is not None and "[failed]" in str(view.query_one(".message-header").render())

        # Retrying (Ctrl+R) sends the same question again; it is not lost or doubled.
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not screen.reply_running
                       and screen.session.messages[-1] is not reply, what="the retry")
        await wait_for(pilot, lambda: not screen.reply_running, what="the retry to end")
        assert [m.role for m in screen.session.messages] == [Role.USER, Role.ASSISTANT]


@pytest.fixture
def keyed_server(request_log: Path) -> Iterator[str]:
    server = DemoServer(flavor="glm4", token_rate=2000.0, api_key="x", log_requests=request_log)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


async def _failed_reply(pilot: Pilot[Any], text: str) -> tuple[str, MessageStatus]:
    reply = await ask(pilot, text)
    app = pilot.app
    assert isinstance(app, GlmTuiApp)
    return error_text(app), reply.status


async def test_401_wrong_api_key_shows_the_servers_words(keyed_server: str) -> None:
    app = make_app(keyed_server, api_key="wrong")
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        shown, status = await _failed_reply(pilot, "hello?")
        assert status is MessageStatus.FAILED
        assert "401" in shown
        assert app.connection_state is ConnectionState.ERROR
        assert "HTTP 401" in screen.status.plain
        assert screen.session.messages[0].content == "hello?"


async def test_404_wrong_base_path_is_explained(glm4_server: str) -> None:
    wrong = glm4_server.replace("/v1/", "/nothing-here/v1/")
    app = make_app(wrong)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        shown, status = await _failed_reply(pilot, "hello?")
        assert status is MessageStatus.FAILED
        assert "404" in shown
        assert "Not Found" in shown  # the server's own words


@pytest.mark.parametrize("status", [422, 500])
async def test_server_errors_show_the_servers_words(glm4_server: str, status: int) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        shown, reply_status = await _failed_reply(pilot, f"[[demo:status={status}]] hi")
        assert reply_status is MessageStatus.FAILED
        assert str(status) in shown
        # The server's own words: GLM-4's 500 is a bare text body, its 422 a detail list.
        words = "Internal Server Error" if status == 500 else "[[demo:status=422]]"
        assert words in shown
        assert screen.session.messages[0].role is Role.USER
        assert_terminal_safe(app)


async def test_stream_cut_keeps_the_text_marked_interrupted(glm4_server: str) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        reply = await ask(pilot, "[[demo:cut=40]] tell me everything about the sea")
        assert reply.status is MessageStatus.INTERRUPTED
        assert 0 < len(reply.content) <= 40
        assert reply.content.startswith("You asked")
        view = screen.messages.get_view(reply)
        assert view is not None
        assert "[interrupted]" in str(view.query_one(".message-header").render())
        assert error_text(app)
        markdown = view.query_one("StreamingMarkdown")
        assert markdown.text == reply.content  # type: ignore[attr-defined]


@pytest.mark.parametrize("empty", ["", "   ", "\n\n", " \t \n "])
async def test_an_empty_prompt_sends_nothing(glm4_server: str, request_log: Path,
                                             empty: str) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        screen.prompt.load_text(empty)
        await pilot.press("enter")
        await pilot.pause()
        assert screen.session.messages == []
        assert screen.messages.views() == []
        # A real question next: had the empty one gone out, it would be logged before this one.
        await ask(pilot, "after")
        assert [body["messages"] for body in logged_requests(request_log)] == [
            [{"role": "user", "content": "after"}]]


HOSTILE = {
    "closing-tag": "before [/] after",
    "click-action": "[@click=app.quit]x[/]",
    "bold-markup": "[bold]not bold[/bold] and [red]not red",
    "ansi": "\x1b[31mred\x1b[0m and \x1b[2J cleared?",
    "osc": "\x1b]0;pwned title\x07 and \x1b]52;c;ZXZpbA==\x07 clipboard",
    "controls": "nul\x00 bell\x07 bs\x08 cr\r del\x7f c1\x9b31m vt\x0b ff\x0c",
    "cjk": "你好，世界。日本語のテキスト。한국어",
    "emoji-zwj": "family 👨‍👩‍👧‍👦 and flag 🏳️‍🌈 and 👍🏽",
    "rtl": "مرحبا بالعالم — שלום עולם — \u202eevil\u202c",
}


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_hostile_text_is_shown_literally(glm4_server: str, name: str) -> None:
    text = HOSTILE[name]
    app = make_app(glm4_server)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        # Sent as the prompt's text would be (a TextArea splits lines on VT/FF, so the exact
        # characters go in directly); the demo server echoes them back in its reply.
        await screen.send(text)
        reply = await wait_reply_done(pilot)
        assert reply.status is MessageStatus.COMPLETE
        assert text in reply.content  # stored exactly as the model sent it
        assert screen.session.messages[0].content == text
        await pilot.pause()
        assert_terminal_safe(app)
        drawn = "\n".join(screen_lines(app))
        if name in ("closing-tag", "click-action", "bold-markup"):
            # Markup-like text is drawn as typed, in the question and in the reply.
            assert drawn.count(text.split(" and ")[0]) >= 2
        if name == "cjk":
            assert "你好" in drawn
        assert app.is_running  # [@click=app.quit] did not quit


async def test_a_100_kb_single_line_reply(glm4_server: str) -> None:
    line = "".join(f"word{i % 97}-" for i in range(15_000))[:100_000]
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        reply = await ask(pilot, f"[[demo:rate=0]][[demo:say={line}]]")
        assert reply.status is MessageStatus.COMPLETE
        assert reply.content == line
        await pilot.pause()
        assert_terminal_safe(app)
        screen.messages.scroll_end(animate=False)
        await pilot.pause()
        assert_terminal_safe(app)


GARBAGE = b"this is not a database, it is a shopping list\n" * 200


async def test_damaged_database_is_named_and_moved_aside_only_when_asked(
    glm4_server: str, data_dir: Path
) -> None:
    from textual.widgets import Button

    from glm_tui.storage.store import SessionStore
    from glm_tui.ui.dialogs.damaged_database import DamagedDatabaseModal

    db = data_dir / "sessions.db"
    db.write_bytes(GARBAGE)
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DamagedDatabaseModal),
                       what="the damaged-database dialog")
        body = str(app.screen.query_one(".dialog-body").render())
        assert str(db) in body
        assert db.read_bytes() == GARBAGE  # nothing touched before the user decides
        app.screen.query_one("#move-aside", Button).press()
        screen = await ready(pilot)
        await ask(pilot, "a fresh start")
        session_id = screen.session.id

    assert db.read_bytes() != GARBAGE
    moved = [p for p in data_dir.iterdir() if p.name.startswith("sessions.db.corrupt-")]
    assert len(moved) == 1 and moved[0].read_bytes() == GARBAGE
    store = SessionStore(data_dir)
    assert store.load_session(session_id).messages[0].content == "a fresh start"
    store.close()


async def test_damaged_database_quit_leaves_the_file_alone(glm4_server: str,
                                                           data_dir: Path) -> None:
    from glm_tui.ui.dialogs.damaged_database import DamagedDatabaseModal

    db = data_dir / "sessions.db"
    db.write_bytes(GARBAGE)
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DamagedDatabaseModal),
                       what="the damaged-database dialog")
        await click(pilot, "#quit")
        await wait_for(pilot, lambda: not app.is_running, what="the app to quit")
    assert app.return_code == 1
    assert db.read_bytes() == GARBAGE
    assert sorted(p.name for p in data_dir.iterdir()) == ["sessions.db"]


async def test_refused_writes_are_shown_and_saved_when_writing_works_again(
    glm4_server: str, data_dir: Path
) -> None:
    from glm_tui.storage.store import SessionStore

    app = make_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask(pilot, "saved normally")
        assert app.store is not None
        # SQLite refusing every write, as on a read-only or full disk (root ignores chmod).
        app.store._conn.execute("PRAGMA query_only = ON")
        reply = await ask(pilot, "while the disk refuses")
        assert reply.status is MessageStatus.COMPLETE  # the chat goes on in memory
        assert "not saved" in screen.status.plain
        assert len(toasts.titled("Cannot save")) == 1  # said once, not for every write
        await ask(pilot, "still refusing")
        assert len(toasts.titled("Cannot save")) == 1

        app.store._conn.execute("PRAGMA query_only = OFF")
        await wait_for(pilot, lambda: "not saved" not in screen.status.plain,
                       what="the pending writes to go out")
        session_id = screen.session.id

    store = SessionStore(data_dir)
    saved = store.load_session(session_id)
    store.close()
    assert [m.content for m in saved.messages if m.role is Role.USER] == [
        "saved normally", "while the disk refuses", "still refusing"]
    assert all(m.status is MessageStatus.COMPLETE for m in saved.messages)
