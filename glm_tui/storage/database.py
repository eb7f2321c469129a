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
from glm_tui.storage.errors import StoreCorruptError, StoreError, StoreWriteError, translate_error
from glm_tui.storage.readonly import connect_read_only
from glm_tui.storage.rows import Row
from glm_tui.storage.schema import (
    SCHEMA_VERSION,
    check_header,
    migrate,
    move_aside,
    refuse_newer,
)

_T = TypeVar("_T")

BUSY_TIMEOUT_S = 5.0
"""How long a write waits for another glm-tui process holding the write lock."""

QUICK_CHECK_PROBLEMS = 1
"""How many problems ``quick_check`` looks for. One is enough to refuse the file, and with more
SQLite 3.40 can fail on the next damaged page before returning the first description."""


class Database:
    """One SQLite file opened for glm-tui: safe to share between threads and processes.

    Reads and writes are serialised by a lock so a UI worker thread and the event loop can both
    use one connection; every read is one snapshot and every write one ``BEGIN IMMEDIATE``
    transaction.
    """

    def __init__(self, db_path: Path, *, read_only: bool = False, check: bool = True) -> None:
        """Open ``db_path``; ``read_only`` opens it without changing anything on disk.

        Opened for writing with ``check``, the file is checked (``quick_check``) before anything
        is written, so damage inside an intact header is refused like a damaged header. That
        reads the whole file (seconds for a large store), so the app passes ``check=False`` and
        calls :meth:`find_damage` on a worker thread instead. Opened read-only it is not checked:
        reading is what salvages a damaged file.
        """
        self.db_path = db_path
        self.read_only = read_only
        self.warnings: list[str] = []
        """Things the caller should tell the user (a log beside the file that was unreadable)."""
        self._damage: StoreCorruptError | None = None
        self.closed = False
        """True once :meth:`close` was called (a check still running on a thread then has no
        one left to tell)."""
        self._lock = threading.RLock()
        self._checkpointer = Checkpointer(self.db_path, BUSY_TIMEOUT_S)
        check_header(self.db_path)
        try:
            if read_only:
                self._conn, warning = connect_read_only(self.db_path, BUSY_TIMEOUT_S)
                self.warnings += [] if warning is None else [warning]
            else:
                self._conn = sqlite3.connect(
                    self.db_path,
                    timeout=BUSY_TIMEOUT_S,
                    isolation_level=None,
                    check_same_thread=False,
                )
        except sqlite3.Error as exc:
            raise self._translate(exc, writing=not read_only) from exc
        try:
            if read_only:
                self._check_version()
            else:
                self._configure()
                if check:
                    damage = self._damage_in(self._conn)
                    if damage is not None:
                        raise damage
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

    def find_damage(self) -> StoreCorruptError | None:
        """Check the file for damage inside (``quick_check``) on a connection of its own.

        Safe on any thread while the store is in use (it takes no store lock). When damage is
        found every later write is refused with :class:`StoreWriteError`, so a recorder keeps
        what follows in memory instead of writing into a damaged file; the caller decides what
        to tell the user.
        """
        try:
            # Not mode=ro: if the store closes first, this is the last connection, and only a
            # writable one can checkpoint and remove the -wal/-shm files on close, as usual.
            conn = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_S)
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            return StoreCorruptError(self.db_path, str(exc), readable=True)
        try:
            damage = self._damage_in(conn)
        finally:
            conn.close()
        if damage is not None:
            self._damage = damage
        return damage

    def _damage_in(self, conn: sqlite3.Connection) -> StoreCorruptError | None:
        """SQLite's ``quick_check``: every page read and every b-tree checked (not that indexes
        match their tables, which ``integrity_check`` adds at about 1.5 times the cost). Its
        cost on the benchmark store is in the README."""
        problems: list[str] = []
        try:  # row by row: SQLite may report a problem and then fail on the next page
            for row in conn.execute(f"PRAGMA quick_check({QUICK_CHECK_PROBLEMS})"):
                problems.append(str(row[0]).replace("*** in database main ***\n", ""))
        except sqlite3.DatabaseError as exc:
            problems.append(str(exc))
        if problems == ["ok"]:
            return None
        return StoreCorruptError(self.db_path, "damaged inside: " + "; ".join(problems),
                                 readable=True)

    def _check_version(self) -> None:
        """A read-only store cannot upgrade: an older or newer schema is said, not guessed at."""
        version = self._user_version()
        refuse_newer(version, self.db_path)
        if version < SCHEMA_VERSION:
            raise StoreError(
                f"The session database {self.db_path} was written by an older glm-tui "
                f"(schema {version}). Start glm-tui once (or run a command that writes, such "
                "as 'sessions import') to upgrade it; this command only reads."
            )

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
        """Close the connection; the WAL is checkpointed so the file is complete on its own
        (opened read-only, nothing is written)."""
        self.closed = True
        self._checkpointer.close()
        with self._lock:
            self._conn.close()

    # --- transactions and errors ------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: ``BEGIN IMMEDIATE`` takes the write lock up front (no upgrade
        dead-lock between two processes), and any failure rolls everything back."""
        if self.read_only:
            raise StoreError(f"The session database {self.db_path} was opened read-only.")
        if self._damage is not None:
            raise StoreWriteError(self.db_path, "it is damaged inside, so nothing more is "
                                  "written into it (this conversation is kept in memory)")
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
