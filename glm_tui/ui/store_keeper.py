"""The store keeper: opens the session store, retries a data directory that failed, re-attaches.

The app owns one. When the data directory cannot be written at start, conversations go on in
memory; the keeper retries every few seconds (and each write of a store-less recorder asks it
too), and once the store opens it writes every conversation that lived only in memory into it,
left ones included. A damaged database file is never touched here: moving it aside needs the
person's word (:class:`~glm_tui.ui.dialogs.damaged_database.DamagedDatabaseModal`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from textual.notifications import SeverityLevel
from textual.timer import Timer

from glm_tui.model.session import Session
from glm_tui.storage.recorder import SessionRecorder
from glm_tui.storage.store import SessionStore, StoreCorruptError, StoreError

STORE_RETRY_S = 3.0
"""How often a data directory that could not be opened is tried again (each write tries too)."""


class Notify(Protocol):
    """The app's ``notify`` (which sanitises every message)."""

    def __call__(self, message: str, *, title: str = ..., severity: SeverityLevel = ...,
                 timeout: float | None = ..., markup: bool = ...) -> None: ...


Schedule = Callable[[float, Callable[[], None]], Timer]
"""The app's ``set_interval``: the keeper's retry timer runs on the app's loop."""


@dataclass(frozen=True)
class DamagedDatabase:
    """The session database file that could not be read, and why."""

    path: Path
    reason: str
    readable: bool = False
    """Damage inside an intact file: the ``sessions`` commands can still salvage from it."""

    def advice(self) -> str:
        """What the user can do besides the two buttons."""
        text = ("glm-tui will not write over it. Moving it aside renames it to a dated name in "
                "the same folder (nothing is deleted) and starts a new, empty database.")
        if self.readable:
            text += ("\n\nMost of it can still be read. To save what is readable first, quit "
                     "and run 'glm-tui sessions list' and 'glm-tui sessions export ID -o FILE' "
                     "(they only read, and say what was lost), then start glm-tui again.")
        return text


class StoreKeeper:
    """Owns the :class:`SessionStore` (or its absence) and every recorder made without one."""

    def __init__(self, data_dir: Path, *, notify: Notify, schedule: Schedule,
                 opened: Callable[[SessionStore], None] | None = None) -> None:
        self.data_dir = Path(data_dir)
        # Called with each store just opened: the app says what was made private and checks
        # for damage inside on a thread (ui/store_damage.py); ``quick_check`` is too slow to
        # run before the first frame, so stores are opened unchecked here.
        self._opened = opened
        self.store: SessionStore | None = None
        self.closed = False
        self._notify = notify
        self._schedule = schedule
        self._retry_timer: Timer | None = None
        self._waiting: list[SessionRecorder] = []  # recorders made while there was no store

    def open(self) -> DamagedDatabase | None:
        """Open the store; a damaged file is returned, any other failure shown and retried."""
        try:
            self.store = SessionStore(self.data_dir, check=False)
            self._attach_waiting(self.store)
        except StoreCorruptError as exc:
            return DamagedDatabase(exc.path, exc.reason, readable=exc.readable)
        except StoreError as exc:
            self.store = None
            self._notify(f"{exc}\nThe conversation is kept in memory and saved as soon as "
                         "the data directory can be written.",
                         title="Sessions are not saved", severity="error", timeout=15,
                         markup=False)
            if self._retry_timer is None:
                self._retry_timer = self._schedule(STORE_RETRY_S, self.retry)
        else:
            if self._opened is not None:
                self._opened(self.store)
        return None

    def recorder_for(self, session: Session) -> SessionRecorder:
        """The recorder for a conversation: into the store, or in memory until it opens."""
        if self.store is not None:
            return SessionRecorder(self.store, session)
        recorder = SessionRecorder(None, session, reopen=self.reopen)
        self._waiting.append(recorder)
        return recorder

    def reopen(self) -> SessionStore | None:
        """The store, opening it now if it failed before; None while it still cannot be opened.

        A store-less recorder calls this before each write, so what is typed once the directory
        is fixed is saved at once, not at the next timer tick.
        """
        if self.closed:
            return None
        if self.store is not None:
            return self.store
        try:
            store = SessionStore(self.data_dir, check=False)
        except StoreError:
            return None
        self.store = store
        if self._opened is not None:
            self._opened(store)
        if self._retry_timer is not None:
            self._retry_timer.stop()
            self._retry_timer = None
        self._notify(f"Sessions are saved again, in {store.db_path}.", title="Saving",
                     markup=False)
        return store

    def retry(self) -> None:
        """Timer tick: once the store opens, write each in-memory conversation into it.

        One with no message yet is left to attach itself at its first write (its ``reopen``).
        """
        store = self.reopen()
        if store is not None:
            self._attach_waiting(store)

    def _attach_waiting(self, store: SessionStore) -> None:
        waiting, self._waiting = self._waiting, []
        for recorder in waiting:
            if recorder.store is not None or recorder.reopen is None:
                continue
            if not recorder.session.messages:
                continue
            try:
                recorder.attach(store)
            except StoreError as exc:
                self._notify(str(exc), title="Not saved", severity="error", markup=False)

    def let_go(self) -> None:
        """Close a store found damaged after start, so that its file can be moved aside."""
        if self.store is not None:
            self.store.close()
            self.store = None

    def move_aside(self) -> Path:
        """Rename the damaged database out of the way (raises StoreError); returns its new path."""
        return SessionStore.move_aside(self.data_dir / "sessions.db")

    def close(self) -> None:
        """Close the store; nothing opens it again after this."""
        self.closed = True
        if self._retry_timer is not None:
            self._retry_timer.stop()
            self._retry_timer = None
        if self.store is not None:
            self.store.close()
            self.store = None
