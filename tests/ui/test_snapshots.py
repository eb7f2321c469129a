"""Snapshots of every screen and dialog, at 120x40 and 80x24 (pytest-textual-snapshot).

Accept new pictures with ``pytest tests/ui/test_snapshots.py --snapshot-update`` and look at
them (``snapshot_report.html``) before committing.

Each picture is reached the way a person gets there: the app resumes a stored conversation and
the test presses the screen's key (Ctrl+O, Ctrl+T, F6, F8, F2, Delete), never builds the screen
itself, so renaming a class or moving a module does not change what is drawn or tested.

What makes the pictures repeatable:

- The server URL and the data directory are shown on some screens (the model picker, the request
  view, the damaged-database dialog), so both are fixed: a demo server on one loopback port and a
  data directory under one path. Two copies of the suite may run at once, so the tests holding
  them take an inter-process lock (the other copy waits its turn).
- Sessions are stored with fixed ids and dates long past (the list shows dates, not "2 min ago").
- Before each picture the test waits for what it shows (rows drawn, models listed, the server
  checked), then stops cursors blinking and clears toasts, which would otherwise come and go.
"""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import ModalScreen, Screen
from textual.widgets import Input

from glm_tui.chat.tools import WEATHER_TOOL
from glm_tui.demo.server import DemoServer
from glm_tui.model.sampling import SamplingParams
from glm_tui.model.session import ImageAttachment, Message, MessageStatus, Role, Session, Usage
from glm_tui.storage.store import SessionStore
from glm_tui.ui.widgets.status_bar import ConnectionState
from tests.support.demo import post_chat
from tests.ui.conftest import make_app, wait_for

SIZES = pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])

PORT = 18473  # below Linux's ephemeral range, so no test's free port lands on it
HOME = Path("/tmp/glm-tui-snapshots")
LOCK = Path("/tmp/glm-tui-snapshots.lock")
SHOWCASE_QUESTION = "Show me the Markdown showcase"
GARBAGE = b"this is not a database, it is a shopping list\n" * 200


def _when(day: int, hour: int) -> float:
    """A fixed local time in March 2023: always a different year, so the list shows dates."""
    return datetime(2023, 3, day, hour, 0).timestamp()


@pytest.fixture
def fixed_place(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The demo server at a fixed URL and the data directory at a fixed path, held alone."""
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another copy of the suite waits here
        shutil.rmtree(HOME, ignore_errors=True)
        (HOME / "data").mkdir(parents=True)
        monkeypatch.setenv("GLM_TUI_DATA_DIR", str(HOME / "data"))
        monkeypatch.setenv("GLM_TUI_CONFIG", str(HOME / "config.toml"))
        server = DemoServer(port=PORT, flavor="glm4", token_rate=0)
        try:
            url = server.start()
        except OSError as error:
            pytest.fail(f"the snapshot tests need 127.0.0.1:{PORT}: {error}")
        try:
            yield url
        finally:
            server.stop()
            shutil.rmtree(HOME, ignore_errors=True)


def _store_sessions(url: str) -> Session:
    """Three stored sessions; the newest (returned) is the showcase conversation."""
    answer = post_chat(url, {"model": "glm-4", "stream": False,
                             "messages": [{"role": "user", "content": SHOWCASE_QUESTION}]})
    showcase = answer.json()["choices"][0]["message"]["content"]
    older = [
        Session(id="snapshot-kyoto", title="Trip to Kyoto", model="glm-4",
                created_at=_when(2, 9), updated_at=_when(2, 10),
                messages=[Message(Role.USER, "Plan three days in Kyoto"),
                          Message(Role.ASSISTANT, "Day one: Fushimi Inari at dawn.")]),
        Session(id="snapshot-rust", title="Rust lifetimes", model="glm-4",
                created_at=_when(8, 14), updated_at=_when(8, 15),
                messages=[Message(Role.USER, "Why does the borrow checker complain?"),
                          Message(Role.ASSISTANT, "Because `x` does not live long enough.")]),
    ]
    current = Session(
        id="snapshot-showcase", title="Markdown showcase", model="glm-4",
        system_prompt="Answer briefly.", created_at=_when(12, 11), updated_at=_when(12, 12),
        sampling=SamplingParams(temperature=0.4, top_p=0.8, max_tokens=256),
        tools=[WEATHER_TOOL],
        messages=[
            Message(Role.USER, SHOWCASE_QUESTION),
            Message(Role.ASSISTANT, showcase),
            Message(Role.USER, "And a long story? [bold]not markup[/]"),
            Message(Role.ASSISTANT, "Once upon a time", status=MessageStatus.CANCELLED),
            Message(Role.USER, "[[demo:status=500]] break please"),
            Message(Role.ASSISTANT, "", status=MessageStatus.FAILED,
                    error="The server answered HTTP 500: Internal Server Error"),
        ],
    )
    store = SessionStore(HOME / "data")
    try:
        for session in [*older, current]:
            store.create_session(session)
    finally:
        store.close()
    return current


def _screen_text(pilot: Pilot[Any]) -> str:
    """Everything the active screen draws right now, as text."""
    strips = pilot.app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


async def _settle(pilot: Pilot[Any]) -> None:
    """The last steps before a picture: no blinking cursor, no toast, nothing pending."""
    await pilot.pause()
    for widget in pilot.app.screen.query("*"):
        if hasattr(widget, "cursor_blink"):
            widget.cursor_blink = False
    pilot.app.clear_notifications()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def _conversation_ready(pilot: Pilot[Any]) -> Screen[Any]:
    """The resumed conversation drawn, the server checked and the prompt focused."""
    app = pilot.app
    await wait_for(pilot, lambda: getattr(app, "connection_state", None) is ConnectionState.READY
                   and not isinstance(app.screen, ModalScreen)
                   and len(app.screen.query(".message")) == 6
                   and app.focused is not None and app.focused.id == "prompt",
                   what="the conversation, drawn and checked")
    await wait_for(pilot, lambda: "Markdown showcase" in _screen_text(pilot)
                   and "HTTP 500" in _screen_text(pilot),
                   what="the showcase and the failed reply on screen")
    return app.screen


def _after_key(key: str, shows: str,
               behind: str | None = None) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """Press ``key`` in the conversation, then wait for a new screen that draws ``shows`` (and,
    for a dialog over the conversation, ``behind``: under load the screen below was once
    captured before it was drawn again)."""
    async def run_before(pilot: Pilot[Any]) -> None:
        chat = await _conversation_ready(pilot)
        await pilot.press(key)
        await wait_for(pilot, lambda: pilot.app.screen is not chat
                       and shows in _screen_text(pilot)
                       and (behind is None or behind in _screen_text(pilot)),
                       what=f"{shows!r} after {key}")
        await _settle(pilot)

    return run_before


def _snap(snap_compare: Any, url: str, size: tuple[int, int],
          run_before: Callable[[Pilot[Any]], Awaitable[None]], *, resume: bool = True) -> None:
    session = _store_sessions(url) if resume else None
    app = make_app(url, resume=session.id if session is not None else None)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@SIZES
def test_conversation_with_the_markdown_showcase(snap_compare: Any, fixed_place: str,
                                                 size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _conversation_ready(pilot)
        await _settle(pilot)

    _snap(snap_compare, fixed_place, size, run_before)


@SIZES
def test_sessions_screen(snap_compare: Any, fixed_place: str, size: tuple[int, int]) -> None:
    _snap(snap_compare, fixed_place, size, _after_key("ctrl+o", "Trip to Kyoto"))


@SIZES
def test_sampling_settings(snap_compare: Any, fixed_place: str, size: tuple[int, int]) -> None:
    _snap(snap_compare, fixed_place, size, _after_key("ctrl+t", "emperature"))


@SIZES
def test_tools_screen(snap_compare: Any, fixed_place: str, size: tuple[int, int]) -> None:
    _snap(snap_compare, fixed_place, size, _after_key("f6", "valid: "))


@SIZES
def test_model_picker(snap_compare: Any, fixed_place: str, size: tuple[int, int]) -> None:
    _snap(snap_compare, fixed_place, size,
          _after_key("f8", "GLM-4v-9b", behind="Markdown showcase"))


@SIZES
def test_request_view(snap_compare: Any, fixed_place: str, size: tuple[int, int]) -> None:
    _snap(snap_compare, fixed_place, size, _after_key("f2", "Answer briefly."))


@SIZES
def test_confirm_dialog_before_deleting_a_session(snap_compare: Any, fixed_place: str,
                                                  size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        chat = await _conversation_ready(pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: pilot.app.screen is not chat
                       and "Trip to Kyoto" in _screen_text(pilot), what="the sessions")
        sessions = pilot.app.screen
        await pilot.press("tab")  # from the filter to the list
        await wait_for(pilot, lambda: pilot.app.focused is not None
                       and not isinstance(pilot.app.focused, Input), what="the list focused")
        await pilot.press("down", "x")  # the second row, "Rust lifetimes"; x deletes
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ModalScreen)
                       and pilot.app.screen is not sessions
                       and "Rust lifetimes" in _screen_text(pilot), what="the question")
        await _settle(pilot)

    _snap(snap_compare, fixed_place, size, run_before)


@SIZES
def test_damaged_database_dialog(snap_compare: Any, fixed_place: str,
                                 size: tuple[int, int]) -> None:
    (HOME / "data" / "sessions.db").write_bytes(GARBAGE)

    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ModalScreen)
                       and "sessions.db" in _screen_text(pilot)
                       and getattr(pilot.app, "connection_state", None) is ConnectionState.READY,
                       what="the damaged-database dialog")
        # The conversation behind the dialog redraws its status bar in its own time: the
        # picture is taken once it shows the state the app is in (it was "checking" or "ready"
        # by the load of the machine).
        behind = pilot.app.screen_stack[-2]
        behind.refresh(repaint=True)
        await wait_for(pilot, lambda: "●&#160;ready" in pilot.app.export_screenshot(),
                       what="the status bar behind the dialog drawn as ready")
        await _settle(pilot)

    _snap(snap_compare, fixed_place, size, run_before, resume=False)


# -- pictures (issue 9) -----------------------------------------------------------------------

PICTURE_BYTES = b"\xff\xd8 a stand-in for the stored JPEG: the text placeholder never decodes it"


def _store_picture_session() -> Session:
    """A conversation about a picture; the attachment's sizes are fixed, not Pillow's."""
    store = SessionStore(HOME / "data")
    try:
        sha = store.put_image(PICTURE_BYTES, "jpg")
        picture = ImageAttachment(sha, "image/jpeg", 1120, 840, "snowfield.jpg", 186_368)
        session = Session(
            id="snapshot-picture", title="A winter photo", model="glm-4v",
            created_at=_when(14, 9), updated_at=_when(14, 10),
            messages=[
                Message(Role.USER, "What's in this image?", images=[picture]),
                Message(Role.ASSISTANT, "The image is 1120×840 pixels, mode RGB (JPEG), and "
                        "its dominant colour is white."),
                Message(Role.USER, "Do you think this is a spring or winter photo?"),
                Message(Role.ASSISTANT, "Winter: snow covers the field."),
            ])
        store.create_session(session)
    finally:
        store.close()
    return session


async def _picture_conversation_ready(pilot: Pilot[Any]) -> Screen[Any]:
    app = pilot.app
    await wait_for(pilot, lambda: getattr(app, "connection_state", None) is ConnectionState.READY
                   and not isinstance(app.screen, ModalScreen)
                   and len(app.screen.query(".message")) == 4
                   and "snowfield.jpg · 1120×840 · 182 KB" in _screen_text(pilot)
                   and app.focused is not None and app.focused.id == "prompt",
                   what="the conversation with its picture")
    return app.screen


def _snap_picture(snap_compare: Any, url: str, size: tuple[int, int],
                  run_before: Callable[[Pilot[Any]], Awaitable[None]]) -> None:
    session = _store_picture_session()
    app = make_app(url, resume=session.id)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@SIZES
def test_conversation_with_a_picture(snap_compare: Any, fixed_place: str,
                                     size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _picture_conversation_ready(pilot)
        await _settle(pilot)

    _snap_picture(snap_compare, fixed_place, size, run_before)


@SIZES
def test_picture_full_view(snap_compare: Any, fixed_place: str, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        chat = await _picture_conversation_ready(pilot)
        for _ in range(4):  # back from the prompt: replies and questions, to the picture
            await pilot.press("shift+tab")
            if type(pilot.app.focused).__name__ == "ImageThumbnail":
                break
        await pilot.press("enter")
        await wait_for(pilot, lambda: pilot.app.screen is not chat
                       and "Kept at:" in _screen_text(pilot), what="the full view")
        await _settle(pilot)

    _snap_picture(snap_compare, fixed_place, size, run_before)


@SIZES
def test_attach_picture_dialog(snap_compare: Any, fixed_place: str, size: tuple[int, int],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    folder = HOME / "pictures"
    (folder / "holiday").mkdir(parents=True)
    for name in ("beach.jpg", "city at night.png", "notes.txt"):  # the text file is not listed
        (folder / name).write_bytes(PICTURE_BYTES)
    monkeypatch.chdir(folder)
    _snap(snap_compare, fixed_place, size,
          _after_key("ctrl+f", "city at night.png", behind="Markdown showcase"))


THINKING_REASONING = (
    "Check the primes up to √1009 ≈ 31.8:\n\n"
    "- 2, 3 and 5: no (odd, digit sum 10, ends in 9)\n"
    "- 7: 7 × 144 = 1008, remainder 1\n"
    "- 11, 13, 17, 19, 23, 29 and 31: none divides it\n\n"
    "So 1009 is prime. [bold]Not markup[/] stays as written."
)


def _store_thinking_session() -> Session:
    """A conversation with a thinking model: two replies, each with its reasoning."""
    session = Session(
        id="snapshot-thinking", title="Primes, thought through", model="glm-4.7",
        created_at=_when(14, 9), updated_at=_when(14, 10),
        messages=[
            Message(Role.USER, "Is 1001 prime?"),
            Message(Role.ASSISTANT, "No: 1001 = 7 × 11 × 13.",
                    reasoning="1001 = 7 × 143 and 143 = 11 × 13.", reasoning_seconds=4.2,
                    usage=Usage(prompt_tokens=12, completion_tokens=40, reasoning_tokens=31)),
            Message(Role.USER, "And 1009?"),
            Message(Role.ASSISTANT, "Yes, **1009 is prime**.", reasoning=THINKING_REASONING,
                    reasoning_seconds=12.4,
                    usage=Usage(prompt_tokens=60, completion_tokens=900, reasoning_tokens=830)),
        ],
    )
    store = SessionStore(HOME / "data")
    try:
        store.create_session(session)
    finally:
        store.close()
    return session


@SIZES
@pytest.mark.parametrize("opened", [False, True], ids=["folded", "one-opened"])
def test_conversation_with_thinking_blocks(snap_compare: Any, fixed_place: str,
                                           size: tuple[int, int], opened: bool) -> None:
    """Stored reasoning comes back folded to one line; Ctrl+L opens the newest reply's."""
    session = _store_thinking_session()

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: getattr(app, "connection_state", None)
                       is ConnectionState.READY and len(app.screen.query(".message")) == 4
                       and app.focused is not None and app.focused.id == "prompt"
                       and "Thought for 12.4 s · 830 tokens" in _screen_text(pilot)
                       and "1009 is prime" in _screen_text(pilot),
                       what="the conversation with its thinking lines")
        if opened:
            await pilot.press("ctrl+l")
            await wait_for(pilot, lambda: "none divides it" in _screen_text(pilot)
                           and "Not markup" in _screen_text(pilot),
                           what="the newest reply's reasoning, opened")
        await _settle(pilot)

    app = make_app(fixed_place, resume=session.id)
    assert snap_compare(app, terminal_size=size, run_before=run_before)
