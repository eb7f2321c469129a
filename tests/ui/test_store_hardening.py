"""Issue 13 items 6 and 11 in the app (Pilot, a real demo server, a real store in a tmp dir).

Item 11: a store damaged inside (header intact) used to open and take writes; now the same
dialog as for a damaged header comes up (once the check on its thread answers, before anything
is written into the file) and says how to salvage.
Item 6: a store left readable by others is made private at start, with a notice naming it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from textual.widgets import Button

from glm_tui.storage.store import SessionStore
from glm_tui.ui.dialogs.damaged_database import DamagedDatabaseModal
from tests.support.damage import damaged_store, snapshot
from tests.support.toasts import ToastLog
from tests.support.waiting import click
from tests.ui.conftest import ask, make_app, ready, wait_for

SIZE = (110, 36)


async def test_damage_inside_brings_up_the_damaged_database_dialog(
    glm4_server: str, data_dir: Path
) -> None:
    damaged_store(data_dir)
    db = data_dir / "sessions.db"
    damaged_bytes = db.read_bytes()
    app = make_app(glm4_server, resume="last")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DamagedDatabaseModal)
                       and bool(app.screen.query("#move-aside")),
                       what="the damaged-database dialog, composed")
        body = str(app.screen.query_one(".dialog-body").render())
        assert "damaged inside" in body and str(db) in body
        assert "glm-tui sessions export ID -o FILE" in body  # how to salvage before moving
        assert db.read_bytes() == damaged_bytes  # nothing written into it
        app.screen.query_one("#move-aside", Button).press()
        screen = await ready(pilot)
        assert screen.session.title == "After the damage"  # resumed, intact, carried over
        await ask(pilot, "after moving the damaged file aside")
        session_id = screen.session.id

    moved = [p for p in data_dir.iterdir() if p.name.startswith("sessions.db.corrupt-")]
    assert len(moved) == 1 and moved[0].read_bytes() == damaged_bytes
    store = SessionStore(data_dir)
    try:
        assert [m.content for m in store.load_session(session_id).messages][:3] == [
            "later question", "reply", "after moving the damaged file aside"]
    finally:
        store.close()


async def test_quitting_at_damage_inside_leaves_the_directory_as_it_was(
    glm4_server: str, data_dir: Path
) -> None:
    damaged_store(data_dir)
    before = snapshot(data_dir)
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DamagedDatabaseModal)
                       and bool(app.screen.query("#quit")),
                       what="the damaged-database dialog, composed")
        await click(pilot, "#quit")
        await wait_for(pilot, lambda: not app.is_running, what="the app to quit")
    assert app.return_code == 1
    after = snapshot(data_dir)
    assert after["sessions.db"][3] == before["sessions.db"][3]  # not one byte written into it
    assert sorted(after) == ["last_session", "sessions.db"]  # closed cleanly, nothing moved


async def test_history_readable_by_others_is_made_private_with_a_notice(
    glm4_server: str, data_dir: Path
) -> None:
    SessionStore(data_dir).close()
    os.chmod(data_dir, 0o755)
    os.chmod(data_dir / "sessions.db", 0o644)
    app = make_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        notes = toasts.titled("Privacy")
        assert len(notes) == 1
        assert str(data_dir) in notes[0].message and "sessions.db" in notes[0].message
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE((data_dir / "sessions.db").stat().st_mode) == 0o600
        await ask(pilot, "saved privately")
        for side in ("sessions.db-wal", "sessions.db-shm"):
            assert stat.S_IMODE((data_dir / side).stat().st_mode) == 0o600

    again = make_app(glm4_server)
    async with again.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert not [n for n in again._notifications if n.title == "Privacy"]
