"""Damage inside the session database found after start (issue 13 item 11), for the App.

``quick_check`` reads the whole database file: 0.6 s for the 724 MB benchmark store (10,000
sessions, 500,000 messages) with the file in the page cache, 2.3 s on a loaded two-core machine,
5.2 s from a cold cache; far too long to hold the first frame. So the app
opens the store unchecked (a damaged *header* is still refused at once, by the store) and checks
on a daemon thread. Until the answer the app works normally; once damage is found the store
refuses writes (the recorder keeps them in memory) and the app shows the damaged-database dialog.
Moving the file aside then closes the damaged store and saves the conversation on screen, whole,
into the new database.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import App

from glm_tui.storage.private import tightened_notice
from glm_tui.storage.recorder import SessionRecorder
from glm_tui.storage.store import SessionStore, StoreCorruptError, StoreError
from glm_tui.ui.dialogs.damaged_database import DamagedDatabaseChoice, DamagedDatabaseModal
from glm_tui.ui.store_keeper import DamagedDatabase

CHECK_AFTER_START_S = 1.0
"""How long after the store opens the damage check starts (the first frame comes first)."""


def watch_store(app: App[Any], store: SessionStore,
                answered: Callable[[DamagedDatabaseChoice | None], Awaitable[None]]) -> None:
    """Just after the app opened ``store``: say what opening made private (issue 13 item 6),
    then check for damage inside on a daemon thread and, if some is found while ``store`` is
    still open (not closed at quit or by moving it aside), show the damaged-database dialog
    answered by ``answered``.

    A daemon thread, not a worker: quitting must not wait for the check.
    """
    if store.tightened:
        app.notify(tightened_notice(store.tightened, store.data_dir), title="Privacy",
                   timeout=15, markup=False)

    def found(damage: StoreCorruptError) -> None:
        if not store.closed:
            dialog = DamagedDatabaseModal(
                DamagedDatabase(damage.path, damage.reason, readable=True))
            app.push_screen(dialog, answered)

    def check() -> None:
        damage = store.find_damage()
        if damage is not None:
            with contextlib.suppress(RuntimeError):  # the app has exited meanwhile
                app.call_from_thread(found, damage)

    def start() -> None:
        if not store.closed:
            threading.Thread(target=check, name="glm-tui store check", daemon=True).start()

    # Not before the first frame: the check's thread and its reads of the whole file compete with
    # drawing it (start-up went 0.40 s -> 0.56 s with the check started at once).
    app.set_timer(CHECK_AFTER_START_S, start)


def can_carry_over(recorder: SessionRecorder, store: SessionStore) -> bool:
    """Stop ``recorder`` writing into ``store`` (found damaged, about to close); True when its
    session is all in memory (not a window of a longer saved one), so that :func:`carry_over`
    can save it whole into the new database."""
    if recorder.store is not store:
        return False
    try:
        whole = store.count_messages(recorder.session.id) <= len(recorder.session.messages)
    except StoreError:
        whole = False
    recorder.store = None
    return whole


def carry_over(recorder: SessionRecorder, store: SessionStore) -> str:
    """Save the recorder's whole session into ``store``; says how that went."""
    for message in recorder.session.messages:
        message.id = None  # ids of the damaged file mean nothing in the new one
    try:
        saved = recorder.attach(store)
    except StoreError as exc:
        return f"This conversation could not be saved in the new database: {exc}"
    if not saved:
        return f"This conversation is not saved yet: {recorder.last_error}"
    return "This conversation is saved in the new database."
