"""Issue 13 item 11, the app's side: ``quick_check`` reads the whole file (0.6-5 s for the benchmark
store), so it runs on a thread after start; damage it finds stops writes into the file, brings up
the damaged-database dialog, and moving the file aside saves the conversation in the new one.

Before the fix the app opened a file damaged inside, kept writing into it, and said nothing. The
check is held back by an event (not a sleep) so that a question can be asked while it runs.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from textual.widgets import Button

from glm_tui.model.session import MessageStatus, Role, Session
from glm_tui.storage.store import SessionStore, StoreCorruptError, StoreWriteError
from glm_tui.ui.dialogs.damaged_database import DamagedDatabaseModal
from tests.support.damage import damaged_store
from tests.ui.conftest import ask, make_app, ready, wait_for

SIZE = (110, 36)


async def test_damage_found_while_chatting_stops_writes_and_keeps_the_conversation(
    glm4_server: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    damaged_store(data_dir)
    gate = threading.Event()
    real_find_damage = SessionStore.find_damage

    def held_back(store: SessionStore) -> StoreCorruptError | None:
        gate.wait(60)
        return real_find_damage(store)

    monkeypatch.setattr(SessionStore, "find_damage", held_back)
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        reply = await ask(pilot, "asked while the check runs")
        damaged = app.store
        assert damaged is not None and reply.status is MessageStatus.COMPLETE

        gate.set()
        await wait_for(pilot, lambda: isinstance(app.screen, DamagedDatabaseModal)
                       and bool(app.screen.query("#move-aside")),
                       what="the damaged-database dialog, composed")
        body = str(app.screen.query_one(".dialog-body").render())
        assert "damaged inside" in body and "glm-tui sessions export ID -o FILE" in body
        with pytest.raises(StoreWriteError, match="damaged inside"):
            damaged.save_session(Session(title="nothing more goes into the damaged file"))

        app.screen.query_one("#move-aside", Button).press()
        await wait_for(pilot, lambda: app.store is not None and app.store is not damaged
                       and screen.recorder.store is app.store,
                       what="the conversation saved in the new database")
        assert app.screen is screen
        expected = [(m.role, m.content) for m in screen.session.messages]
        session_id = screen.session.id

    assert [p.name.startswith("sessions.db.corrupt-") for p in data_dir.iterdir()].count(True) == 1
    fresh = SessionStore(data_dir)
    try:
        saved = fresh.load_session(session_id)
        assert [(m.role, m.content) for m in saved.messages] == expected
        assert expected[0] == (Role.USER, "asked while the check runs") and len(expected) == 2
    finally:
        fresh.close()
