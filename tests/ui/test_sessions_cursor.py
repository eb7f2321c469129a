"""After any change on the sessions screen the cursor stays on the session it was on (item 5).

Renaming the second row moved it to the top (the list is most recent first) while the cursor
stayed on row 2, so the next key (``e`` export, ``x`` delete) acted on another session. Each test
presses the keys a person would, then exports with ``e`` and reads which session was written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from glm_tui.model.session import Session
from glm_tui.storage.store import SessionStore
from glm_tui.ui.dialogs.confirm import ConfirmModal
from glm_tui.ui.dialogs.export_session import ExportSessionModal
from glm_tui.ui.dialogs.rename_session import RenameSessionModal
from glm_tui.ui.screens.sessions import SessionsScreen
from tests.support.waiting import click
from tests.ui.test_sessions_screen import Host, make_session, ready, the_list, wait_for

SIZE = (100, 30)


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "store")


@pytest.fixture
def sessions(store: SessionStore) -> dict[str, Session]:
    """Three sessions, most recent first: rust, poem, groceries."""
    made = {
        "groceries": make_session("Old groceries", 40 * 86400, "milk and eggs", "Noted."),
        "poem": make_session("A poem about rain", 600, "Write a poem", "Rain on the roof"),
        "rust": make_session("Rust lifetimes", 30, "What is 'a?", "A lifetime parameter."),
    }
    store.create_sessions(made.values())
    return made


async def export_highlighted(pilot: Pilot[None], target: Path) -> str:
    """Press ``e``, export as JSON to ``target``; returns the exported session's id."""
    app = pilot.app
    await pilot.press("e")
    await wait_for(pilot, lambda: isinstance(app.screen, ExportSessionModal))
    await click(pilot, "#export-json")
    app.screen.query_one("#export-path", Input).value = str(target)
    await click(pilot, "#export-go")
    await wait_for(pilot, target.exists)
    await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen))
    return str(json.loads(target.read_text(encoding="utf-8"))["glm_tui"]["session"]["id"])


async def to_list(pilot: Pilot[None]) -> None:
    await pilot.press("tab")
    await wait_for(pilot, lambda: the_list(pilot).has_focus)


def first_title(pilot: Pilot[None]) -> str | None:
    row = the_list(pilot).row_at(0)
    return None if row is None else row.title


async def test_after_renaming_the_second_row_the_cursor_follows_it(
    store: SessionStore, sessions: dict[str, Session], tmp_path: Path
) -> None:
    app = Host(store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await to_list(pilot)
        await pilot.press("down")  # the second row: "A poem about rain"
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RenameSessionModal))
        await pilot.press("ctrl+u", *"Storm", "enter")
        await wait_for(pilot, lambda: store.load_session(sessions["poem"].id).title == "Storm")
        await wait_for(pilot, lambda: first_title(pilot) == "Storm")
        exported = await export_highlighted(pilot, tmp_path / "out.json")
    assert exported == sessions["poem"].id


async def test_after_duplicating_the_cursor_stays_on_the_original(
    store: SessionStore, sessions: dict[str, Session], tmp_path: Path
) -> None:
    app = Host(store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await to_list(pilot)
        await pilot.press("down", "down")  # "Old groceries"
        await pilot.press("d")
        await wait_for(pilot, lambda: the_list(pilot).row_count == 4)
        exported = await export_highlighted(pilot, tmp_path / "out.json")
    assert exported == sessions["groceries"].id


async def test_after_deleting_the_cursor_takes_the_next_session(
    store: SessionStore, sessions: dict[str, Session], tmp_path: Path
) -> None:
    app = Host(store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await to_list(pilot)
        await pilot.press("down")  # "A poem about rain"
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_for(pilot, lambda: the_list(pilot).row_count == 2)
        exported = await export_highlighted(pilot, tmp_path / "out.json")
    assert exported == sessions["groceries"].id  # the row that took its place


async def test_while_filtering_a_renamed_session_that_still_matches_is_followed(
    store: SessionStore, sessions: dict[str, Session], tmp_path: Path
) -> None:
    app = Host(store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("o")  # "A poem about rain", "Old groceries"
        await wait_for(pilot, lambda: the_list(pilot).row_count == 2)
        await to_list(pilot)
        await pilot.press("down")  # "Old groceries"
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RenameSessionModal))
        await pilot.press("ctrl+u", *"Shopping done", "enter")
        await wait_for(pilot, lambda: first_title(pilot) == "Shopping done")
        exported = await export_highlighted(pilot, tmp_path / "out.json")
    assert exported == sessions["groceries"].id
