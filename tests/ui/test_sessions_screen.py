"""The sessions browser, driven with Pilot over a real SQLite store in a temporary directory."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input

from glm_tui.model.session import Message, Role, Session
from glm_tui.storage.store import SessionStore
from glm_tui.ui.dialogs.confirm import ConfirmModal
from glm_tui.ui.dialogs.export_session import ExportSessionModal, safe_file_stem
from glm_tui.ui.dialogs.rename_session import RenameSessionModal
from glm_tui.ui.messages import NewSession, OpenSession
from glm_tui.ui.screens.sessions import SessionsResult, SessionsScreen
from glm_tui.ui.widgets.session_list import PAGE_SIZE, ROW_HEIGHT, SessionList, relative_time
from tests.support.toasts import ToastLog
from tests.support.waiting import click, wait_for


def make_session(title: str, age_s: float, *texts: str, model: str = "glm-4") -> Session:
    """A session last updated ``age_s`` seconds before now (the test's now, not the module's
    import time: a long suite would otherwise age every session), alternating user/assistant."""
    now = time.time()
    messages = [
        Message(role=Role.USER if i % 2 == 0 else Role.ASSISTANT, content=text)
        for i, text in enumerate(texts)
    ]
    return Session(
        title=title,
        model=model,
        created_at=now - age_s,
        updated_at=now - age_s,
        messages=messages,
    )


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "store")


@pytest.fixture
def sessions(store: SessionStore) -> dict[str, Session]:
    """Four sessions; "Rust lifetimes" is the most recent, "Old groceries" the oldest."""
    made = {
        "groceries": make_session("Old groceries", 40 * 86400, "milk and eggs", "Noted."),
        "python": make_session(
            "Python asyncio question",
            3 * 3600,
            "How do tasks work?",
            "An asyncio task wraps a coroutine; the zebrafish example shows it.",
            model="glm-4-plus",
        ),
        "poem": make_session("A poem about rain", 600, "Write a poem", "Rain on the roof"),
        "rust": make_session("Rust lifetimes", 30, "What is 'a?", "A lifetime parameter."),
    }
    store.create_sessions(made.values())
    return made


class Host(App[None]):
    """Pushes the sessions screen the way the app does and keeps what it dismissed with."""

    def __init__(self, store: SessionStore, current: str | None = None) -> None:
        super().__init__()
        self.store = store
        self.current = current
        self.results: list[SessionsResult] = []

    def on_mount(self) -> None:
        self.push_screen(SessionsScreen(self.store, self.current), self.results.append)


def drawn(pilot: Pilot[None]) -> list[str]:
    """The text of every line the session list draws right now."""
    session_list = pilot.app.screen.query_one(SessionList)
    return [session_list.render_line(y).text for y in range(session_list.size.height)]


def drawn_titles(pilot: Pilot[None]) -> list[str]:
    """First lines of the rows on screen, trimmed."""
    first = the_list(pilot).scroll_offset.y % ROW_HEIGHT
    return [line.strip() for line in drawn(pilot)[first::ROW_HEIGHT] if line.strip()]


def the_list(pilot: Pilot[None]) -> SessionList:
    return pilot.app.screen.query_one(SessionList)


async def ready(pilot: Pilot[None]) -> None:
    """Wait until the sessions screen is on top and its list has been laid out."""

    def list_shown() -> bool:
        screen = pilot.app.screen
        if not isinstance(screen, SessionsScreen):
            return False
        lists = screen.query(SessionList)
        return bool(lists) and lists.first().size.height > 0

    await wait_for(pilot, list_shown)


async def type_filter(pilot: Pilot[None], text: str, expect: Callable[[], bool]) -> None:
    for key in text:
        await pilot.press("slash" if key == "/" else "space" if key == " " else key)
    await wait_for(pilot, expect)


async def test_rows_most_recent_first_with_facts(
    store: SessionStore, sessions: dict[str, Session]
) -> None:
    app = Host(store, current=sessions["poem"].id)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        titles = drawn_titles(pilot)
        assert [t.split("  ")[0].lstrip("● ") for t in titles] == [
            "Rust lifetimes",
            "A poem about rain",
            "Python asyncio question",
            "Old groceries",
        ]
        lines = drawn(pilot)
        assert "glm-4 · 2 msgs · just now" in lines[0]
        assert "10 min ago" in lines[2]
        assert "glm-4-plus" in lines[4] and "3 h ago" in lines[4]
        # The preview is the last message; the open session carries the marker.
        assert "A lifetime parameter." in lines[1]
        assert lines[2].startswith("●") and not lines[0].startswith("●")
        assert "4 sessions" in str(pilot.app.screen.query_one("#sessions-hint").render())


async def test_filter_narrows_and_enter_opens(
    store: SessionStore, sessions: dict[str, Session]
) -> None:
    app = Host(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await type_filter(pilot, "rain", lambda: the_list(pilot).row_count == 1)
        assert drawn_titles(pilot)[0].startswith("A poem about rain")
        await pilot.press("backspace", "backspace", "backspace", "backspace")
        await wait_for(pilot, lambda: the_list(pilot).row_count == 4)
        # Filtering covers the model name too.
        await type_filter(pilot, "plus", lambda: the_list(pilot).row_count == 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.results))
    assert app.results == [OpenSession(sessions["python"].id)]


async def test_search_shows_snippet_and_opens_hit(
    store: SessionStore, sessions: dict[str, Session]
) -> None:
    app = Host(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await type_filter(pilot, "/zebrafish", lambda: the_list(pilot).row_count == 1)
        lines = drawn(pilot)
        assert lines[0].strip().startswith("Python asyncio question")
        assert "the zebrafish example shows it" in lines[1]
        assert "\x02" not in lines[1] and "\x03" not in lines[1]
        assert "match in titles and messages" in str(
            pilot.app.screen.query_one("#sessions-hint").render()
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.results))
    result = app.results[0]
    assert isinstance(result, OpenSession)
    assert result.session_id == sessions["python"].id
    hit_message = sessions["python"].messages[1]
    assert result.message_id == hit_message.id


async def test_enter_right_after_typing_a_search_opens_its_first_hit(
    store: SessionStore, sessions: dict[str, Session]
) -> None:
    app = Host(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("slash", *"lifetime", "enter")  # no pause for the debounce or search
        await wait_for(pilot, lambda: bool(app.results))
    result = app.results[0]
    assert isinstance(result, OpenSession) and result.session_id == sessions["rust"].id


async def test_search_match_stays_visible_in_a_narrow_terminal(store: SessionStore) -> None:
    long_lead = " ".join(["filler"] * 40)
    store.create_session(make_session("Long one", 60, f"{long_lead} the marmoset appears here"))
    app = Host(store)
    async with app.run_test(size=(50, 20)) as pilot:
        await ready(pilot)
        await type_filter(pilot, "/marmoset appears", lambda: the_list(pilot).row_count == 1)
        assert "marmoset appears" in drawn(pilot)[1]


async def test_rename_duplicate_delete_change_the_store(
    store: SessionStore, sessions: dict[str, Session]
) -> None:
    app = Host(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("tab")
        await wait_for(pilot, lambda: the_list(pilot).has_focus)
        await pilot.press("down")  # "A poem about rain"

        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RenameSessionModal))
        for key in "Storm":
            await pilot.press(key)
        await pilot.press("enter")
        await wait_for(pilot, lambda: store.load_session(sessions["poem"].id).title == "Storm")
        await wait_for(pilot, lambda: any(t.startswith("Storm") for t in drawn_titles(pilot)))

        the_list(pilot).cursor = 0  # "Storm": the renamed session went to the top, the cursor too
        await wait_for(pilot, lambda: the_list(pilot).highlighted_row is not None)
        target = the_list(pilot).highlighted_row
        assert target is not None
        await pilot.press("d")
        await wait_for(pilot, lambda: store.count_sessions() == 5)
        copies = store.list_sessions("(copy)")
        assert [c.title for c in copies] == [f"{target.title} (copy)"]
        assert copies[0].message_count == 2
        await wait_for(pilot, lambda: drawn_titles(pilot)[0].startswith(f"{target.title} (copy)"))
        assert the_list(pilot).highlighted_row.session_id == target.session_id  # type: ignore[union-attr]
        await pilot.press("home")  # the cursor stayed on the original; the copy is on top

        # Delete asks first, naming the session; "Keep" keeps it.
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        question = str(app.screen.query_one(".dialog-body").render())
        assert f"“{target.title} (copy)”" in question and "2 messages" in question
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen))
        assert store.count_sessions() == 5
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await click(pilot, "#confirm")
        await wait_for(pilot, lambda: store.count_sessions() == 4)
        assert store.list_sessions("(copy)") == []
        await wait_for(pilot, lambda: the_list(pilot).row_count == 4)


async def test_export_markdown_and_json_write_real_files(
    store: SessionStore,
    sessions: dict[str, Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    rust = sessions["rust"]
    export_dir = home / "glm-tui-exports"
    app = Host(store)
    toasts = ToastLog(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("tab", "e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportSessionModal))
        path_input = app.screen.query_one("#export-path", Input)
        expected_md = export_dir / f"Rust-lifetimes-{rust.id[:8]}.md"
        assert path_input.value == str(expected_md)
        await pilot.press("enter")
        await wait_for(pilot, expected_md.exists)
        text = expected_md.read_text(encoding="utf-8")
        assert "# Rust lifetimes" in text and "A lifetime parameter." in text
        await wait_for(
            pilot, lambda: toasts.any_mentions(str(expected_md))
        )

        # Exporting to an existing file asks once more before replacing it.
        expected_md.write_text("older export", encoding="utf-8")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportSessionModal))
        await pilot.press("enter")
        warning = app.screen.query_one("#export-warning")
        await wait_for(pilot, lambda: "already exists" in str(warning.render()))
        assert expected_md.read_text(encoding="utf-8") == "older export"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "# Rust lifetimes" in expected_md.read_text("utf-8"))

        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportSessionModal))
        await click(pilot, "#export-json")
        expected_json = export_dir / f"Rust-lifetimes-{rust.id[:8]}.json"
        await wait_for(
            pilot,
            lambda: app.screen.query_one("#export-path", Input).value == str(expected_json),
        )
        await click(pilot, "#export-go")
        await wait_for(pilot, expected_json.exists)
        data = json.loads(expected_json.read_text(encoding="utf-8"))
        assert [m["content"] for m in data["messages"]] == ["What is 'a?", "A lifetime parameter."]

        # Cancel writes nothing.
        expected_json.unlink()
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportSessionModal))
        await click(pilot, "#export-cancel")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen))
        assert sorted(p.name for p in export_dir.iterdir()) == [expected_md.name]


async def test_export_to_unwritable_place_says_so(
    store: SessionStore, sessions: dict[str, Session], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    app = Host(store)
    toasts = ToastLog(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("tab", "e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportSessionModal))
        app.screen.query_one("#export-path", Input).value = str(blocker / "x.md")
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(toasts.titled("Export failed")))
        assert isinstance(app.screen, SessionsScreen)


async def test_escape_returns_none_and_n_asks_for_new(
    store: SessionStore, sessions: dict[str, Session]
) -> None:
    app = Host(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: bool(app.results))
        assert app.results == [None]
        app.push_screen(SessionsScreen(store, None), app.results.append)
        await ready(pilot)
        await pilot.press("n")  # typed into the filter while it has focus
        assert app.screen.query_one("#sessions-filter", Input).value == "n"
        await pilot.press("tab", "n")
        await wait_for(pilot, lambda: len(app.results) == 2)
    assert app.results[1] == NewSession()


async def test_hostile_titles_render_literally(store: SessionStore) -> None:
    hostile = [
        make_session("[bold]not bold[/bold]", 10, "q", "[red]a[/red]"),
        make_session("[@click=app.quit]x[/]", 20, "q", "fine"),
        make_session("\x1b[31mred\x1b[0m\x07 bell", 30, "q", "\x1b]0;pwned\x07title"),
    ]
    store.create_sessions(hostile)
    app = Host(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        lines = drawn(pilot)
        assert lines[0].strip().startswith("[bold]not bold[/bold]")
        assert "[red]a[/red]" in lines[1]
        assert lines[2].strip().startswith("[@click=app.quit]x[/]")
        assert not any("\x1b" in line or "\x07" in line for line in lines)
        # Control characters are shown as visible stand-ins, never sent to the terminal.
        assert lines[4].strip().startswith("␛[31mred␛[0m␇ bell")
        assert "␛]0;pwned␇title" in lines[5]
        # Clicking the row with the click-markup title highlights it; the app keeps running.
        await pilot.click(SessionList, offset=(10, 2))
        await wait_for(pilot, lambda: the_list(pilot).cursor == 1)
        assert app.is_running and isinstance(app.screen, SessionsScreen)
        # The rename and delete dialogs quote the title literally too.
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        assert "“[@click=app.quit]x[/]”" in str(app.screen.query_one(".dialog-body").render())
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen))
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RenameSessionModal))
        assert "[@click=app.quit]x[/]" in str(app.screen.query_one("#rename-question").render())


async def test_list_fetches_pages_as_it_scrolls(store: SessionStore) -> None:
    total = PAGE_SIZE * 3 + 17
    store.create_sessions(
        make_session(f"Session number {i:04d}", 60 + i * 60, "hi", "hello") for i in range(total)
    )
    app = Host(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        session_list = the_list(pilot)
        assert session_list.row_count == total
        assert session_list.cached_row_count == PAGE_SIZE
        assert session_list.virtual_size.height == total * 2
        await pilot.press("tab", "end")
        await wait_for(pilot, lambda: session_list.cursor == total - 1)
        assert drawn_titles(pilot)[-1].startswith(f"Session number {total - 1:04d}")
        assert session_list.cached_row_count == PAGE_SIZE + 17
        await pilot.press("home", "pagedown")
        await wait_for(pilot, lambda: session_list.cursor > 5)
        row = session_list.highlighted_row
        assert row is not None and row.title == f"Session number {session_list.cursor:04d}"


async def test_double_click_opens_a_row(store: SessionStore, sessions: dict[str, Session]) -> None:
    app = Host(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.double_click(SessionList, offset=(10, 4))  # third row, first line
        await wait_for(pilot, lambda: bool(app.results))
    assert app.results == [OpenSession(sessions["python"].id)]


async def test_empty_store_says_how_to_start(store: SessionStore) -> None:
    app = Host(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        assert "No saved sessions yet" in "".join(drawn(pilot))
        await pilot.press("enter")  # nothing to open: stays
        assert isinstance(app.screen, SessionsScreen) and app.results == []


def test_relative_time_reads_like_a_person() -> None:
    now = 1_800_000_000.0
    assert relative_time(now - 5, now) == "just now"
    assert relative_time(now - 180, now) == "3 min ago"
    assert relative_time(now - 2 * 3600, now) == "2 h ago"
    assert relative_time(now - 30 * 3600, now) == "yesterday"
    assert relative_time(now - 4 * 86400, now) == "4 days ago"
    assert relative_time(now - 40 * 86400, now)[0].isdigit()  # a date such as "8 Nov"
    assert relative_time(now + 600, now)[0].isdigit()  # from the future: a date, not "-10 min"


def test_export_file_names_are_safe() -> None:
    assert safe_file_stem("Rust lifetimes", "0123456789abcdef") == "Rust-lifetimes-01234567"
    assert safe_file_stem("../../etc/passwd", "abcdef0123") == "etc-passwd-abcdef01"
    assert safe_file_stem("[@click=app.quit]x[/]", "abcdef0123") == "click-app.quit-x-abcdef01"
    assert safe_file_stem("   ", "abcdef0123") == "session-abcdef01"
