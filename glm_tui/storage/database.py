"""The database file underneath the session store: opening, transactions, errors.

:class:`Database` owns the one SQLite connection, its settings (WAL, busy timeout, foreign keys,
checkpoints on a background thread), the schema upgrade on open, and the two transaction shapes
every query runs in. :class:`glm_tui.storage.store.SessionStore` adds the queries on top, so that
module reads as what is stored and this one as how.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from glm_tui.model.sampling import SamplingError
from glm_tui.storage.checkpointer import Checkpointer
from glm_tui.storage.errors import StoreError, StoreWriteError, translate_error
from glm_tui.storage.rows import Row
from glm_tui.storage.schema import check_header, migrate, move_aside

_T = TypeVar("_T")

BUSY_TIMEOUT_S = 5.0
"""How long a write waits for another glm-tui process holding the write lock."""


class Database:
    """One SQLite file opened for glm-tui: safe to share between threads and processes.

    Reads and writes are serialised by a lock so a UI worker thread and the event loop can both
    use one connection; every read is one snapshot and every write one ``BEGIN IMMEDIATE``
    transaction.
    """

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._lock = threading.RLock()
        self._checkpointer = Checkpointer(self.db_path, BUSY_TIMEOUT_S)
        check_header(self.db_path)
        try:
            self._conn = sqlite3.connect(
                self.db_path,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise self._translate(exc, writing=True) from exc
        try:
            self._configure()
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    # --- opening ---------------------------------------------------------------------------

    def _configure(self) -> None:
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self._conn.execute("PRAGMA foreign_keys = ON")
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            self._conn.execute("PRAGMA synchronous = NORMAL")
            # Checkpoints run on a background thread (storage/checkpointer.py), not inside commits.
            self._conn.execute("PRAGMA wal_autocheckpoint = 0")
            self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise self._translate(exc, writing=True) from exc
        if str(mode).lower() != "wal":
            raise StoreWriteError(self.db_path, f"the database cannot use WAL mode ({mode})")

    def _migrate(self) -> None:
        migrate(self._write, self._user_version(), self.db_path)

    def _user_version(self) -> int:
        with self._read() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    @staticmethod
    def move_aside(db_path: Path) -> Path:
        """Rename a damaged database (and its -wal/-shm files) to a dated name; never deletes.

        Call only when no store has the file open. Returns the new path of the database file.
        """
        return move_aside(db_path)

    def close(self) -> None:
        """Close the connection; the WAL is checkpointed so the file is complete on its own."""
        self._checkpointer.close()
        with self._lock:
            self._conn.close()

    # --- transactions and errors ------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: ``BEGIN IMMEDIATE`` takes the write lock up front (no upgrade
        dead-lock between two processes), and any failure rolls everything back."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._translate(exc, writing=True) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._translate(exc, writing=True) from exc
                raise
            self._checkpointer.maybe_poke()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read as one snapshot (a deferred transaction), so multi-query reads are consistent."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN")
                try:
                    yield conn
                finally:
                    if conn.in_transaction:
                        conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._translate(exc, writing=False) from exc

    def _translate(self, exc: sqlite3.Error, *, writing: bool) -> StoreError:
        return translate_error(exc, self.db_path, writing=writing)

    # --- helpers ----------------------------------------------------------------------------

    def _guard(self, build: Callable[[Row], _T], row: Row) -> _T:
        """Turn a row glm-tui cannot understand into a StoreError naming the file."""
        try:
            return build(row)
        except (ValueError, TypeError, KeyError, SamplingError) as exc:
            raise StoreError(
                f"The session database {self.db_path} holds a row this glm-tui cannot read: {exc}"
            ) from exc
