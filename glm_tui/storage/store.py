"""The session store: every conversation in one SQLite file in the user's data directory.

Why SQLite: one file that survives power loss (WAL, every write a transaction), that two glm-tui
processes can share (busy timeout, ``BEGIN IMMEDIATE`` so a writer never dead-locks on a lock
upgrade), and that answers full-text search over half a million messages in milliseconds (FTS5).

Layout: ``sessions`` (one row per conversation, settings as JSON), ``messages`` (one row per
message, ordered by a per-session ``position`` that is always ``0 .. count-1``), two FTS5
external-content indexes kept in sync by triggers, and image bytes as files beside the database
(:mod:`glm_tui.storage.images`). The schema is versioned with ``PRAGMA user_version`` and
upgraded step by step, each step its own transaction.

API keys never reach this module: a session refers to its server profile by name only.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from glm_tui.model.sampling import SamplingError, SamplingParams
from glm_tui.model.session import (
    ImageAttachment,
    Message,
    MessageStatus,
    Role,
    Session,
    Timings,
    ToolCall,
    Usage,
    new_session_id,
)
from glm_tui.storage.checkpointer import Checkpointer
from glm_tui.storage.images import ImageStore, ImageStoreError

_T = TypeVar("_T")
_Row = tuple[Any, ...]

DB_NAME = "sessions.db"
IMAGES_DIR = "images"
BUSY_TIMEOUT_S = 5.0
SCHEMA_VERSION = 2

SNIPPET_START = "\x02"
"""Marks the start of a matched stretch in :attr:`SearchHit.snippet` (never occurs in chat text)."""
SNIPPET_END = "\x03"
"""Marks the end of a matched stretch in :attr:`SearchHit.snippet`."""

SEARCH_BUDGET_S = 0.12
"""How long a search may read messages that the index cannot narrow down (1-2 letter words)."""

INTERRUPTED_ERROR = "glm-tui stopped before this reply finished"
PREVIEW_CHARS = 120
_MIN_FTS_TERM = 3  # the trigram tokenizer cannot look up anything shorter


class StoreError(Exception):
    """Something about saved sessions went wrong; the message is in plain words."""


class StoreCorruptError(StoreError):
    """The database file is not a usable SQLite database (garbage, truncated, damaged)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"The session database {path} cannot be read: {reason}")
        self.path = path
        self.reason = reason


class StoreWriteError(StoreError):
    """Writing failed for a reason outside glm-tui (read-only or full disk, a lock held too long).

    Retrying later can succeed, which is why the recorder keeps unsaved writes in memory.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"Cannot save to {path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class SessionSummary:
    """One row of the sessions list; ``preview`` is the latest message text on one line."""

    id: str
    title: str
    model: str
    updated_at: float
    message_count: int
    preview: str


@dataclass(frozen=True)
class SearchHit:
    """A full-text match: in a session title (``message_id`` None) or in one message.

    ``snippet`` is one line of text around the match, with each matched stretch between
    :data:`SNIPPET_START` and :data:`SNIPPET_END`; :func:`snippet_parts` splits it.
    """

    session_id: str
    title: str
    message_id: int | None
    snippet: str
    updated_at: float


def snippet_parts(snippet: str) -> list[tuple[str, bool]]:
    """Split a snippet into ``(text, is_match)`` pieces for drawing without any markup."""
    parts: list[tuple[str, bool]] = []
    rest = snippet
    while rest:
        start = rest.find(SNIPPET_START)
        if start < 0:
            parts.append((rest, False))
            break
        if start:
            parts.append((rest[:start], False))
        end = rest.find(SNIPPET_END, start + 1)
        if end < 0:
            parts.append((rest[start + 1 :], True))
            break
        parts.append((rest[start + 1 : end], True))
        rest = rest[end + 1 :]
    return [(text, match) for text, match in parts if text]


# --- schema -------------------------------------------------------------------------------

_SCHEMA_V1 = """
CREATE TABLE sessions (
    num INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    server_profile TEXT NOT NULL DEFAULT 'default',
    model TEXT NOT NULL DEFAULT '',
    system_prompt TEXT NOT NULL DEFAULT '',
    sampling TEXT NOT NULL DEFAULT '{}',
    tools TEXT NOT NULL DEFAULT '[]',
    tool_choice TEXT,
    stream INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX sessions_by_update ON sessions(updated_at, num);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL DEFAULT '',
    images TEXT NOT NULL DEFAULT '[]',
    tool_calls TEXT NOT NULL DEFAULT '[]',
    tool_call_id TEXT,
    name TEXT,
    status TEXT NOT NULL DEFAULT 'complete',
    error TEXT,
    created_at REAL NOT NULL,
    UNIQUE (session_id, position)
);
"""

# Version 2: usage and timings per message, and full-text search over titles and message text.
# The trigram tokenizer matches any substring of 3+ characters, so Chinese text (no spaces
# between words) is searchable as well as English.
_SCHEMA_V2 = """
ALTER TABLE messages ADD COLUMN usage TEXT;
ALTER TABLE messages ADD COLUMN timings TEXT;
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content, content='messages', content_rowid='id', tokenize='trigram'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE VIRTUAL TABLE sessions_fts USING fts5(
    title, content='sessions', content_rowid='num', tokenize='trigram'
);
CREATE TRIGGER sessions_fts_insert AFTER INSERT ON sessions BEGIN
    INSERT INTO sessions_fts(rowid, title) VALUES (new.num, new.title);
END;
CREATE TRIGGER sessions_fts_delete AFTER DELETE ON sessions BEGIN
    INSERT INTO sessions_fts(sessions_fts, rowid, title) VALUES ('delete', old.num, old.title);
END;
CREATE TRIGGER sessions_fts_update AFTER UPDATE OF title ON sessions BEGIN
    INSERT INTO sessions_fts(sessions_fts, rowid, title) VALUES ('delete', old.num, old.title);
    INSERT INTO sessions_fts(rowid, title) VALUES (new.num, new.title);
END;
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
INSERT INTO sessions_fts(sessions_fts) VALUES ('rebuild');
"""

_MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1, 2: _SCHEMA_V2}
"""Step ``n`` turns a version ``n-1`` database into version ``n``."""

_MESSAGE_COLUMNS = (
    "id, role, content, images, tool_calls, tool_call_id, name, status, error, usage, timings,"
    " created_at, position"
)
_SESSION_COLUMNS = (
    "id, title, created_at, updated_at, server_profile, model, system_prompt, sampling, tools,"
    " tool_choice, stream"
)


class SessionStore:
    """All saved sessions in ``data_dir/sessions.db``; safe to share between threads and processes.

    Every method is one transaction. Reads and writes are serialised by a lock so a UI worker
    thread and the event loop can both use one store.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.db_path = self.data_dir / DB_NAME
        self.images_dir = self.data_dir / IMAGES_DIR
        self._images = ImageStore(self.images_dir)
        self._lock = threading.RLock()
        self._checkpointer = Checkpointer(self.db_path, BUSY_TIMEOUT_S)
        self.last_search_complete = True
        """False when the last :meth:`search` stopped at its time budget before the oldest
        messages."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreWriteError(self.data_dir, exc.strerror or str(exc)) from exc
        _check_header(self.db_path)
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
            # Checkpoints run on a background thread (core/checkpointer.py), not inside commits.
            self._conn.execute("PRAGMA wal_autocheckpoint = 0")
            self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise self._translate(exc, writing=True) from exc
        if str(mode).lower() != "wal":
            raise StoreWriteError(self.db_path, f"the database cannot use WAL mode ({mode})")

    def _migrate(self) -> None:
        version = self._user_version()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"The session database {self.db_path} was written by a newer glm-tui "
                f"(schema {version}; this version understands up to {SCHEMA_VERSION}). "
                "Update glm-tui or use another --data-dir."
            )
        for step in range(version + 1, SCHEMA_VERSION + 1):
            with self._write() as conn:
                # Another process may have upgraded while we waited for the write lock.
                if conn.execute("PRAGMA user_version").fetchone()[0] >= step:
                    continue
                for statement in _split_sql(_MIGRATIONS[step]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {step}")

    def _user_version(self) -> int:
        with self._read() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    @staticmethod
    def move_aside(db_path: Path) -> Path:
        """Rename a damaged database (and its -wal/-shm files) to a dated name; never deletes.

        Call only when no store has the file open. Returns the new path of the database file.
        """
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = db_path.with_name(f"{db_path.name}.corrupt-{stamp}")
        target = base
        counter = 1
        while any(Path(f"{target}{s}").exists() for s in ("", "-wal", "-shm")):
            target = base.with_name(f"{base.name}-{counter}")
            counter += 1
        try:
            for suffix in ("-wal", "-shm"):
                side = Path(f"{db_path}{suffix}")
                if side.exists():
                    side.rename(Path(f"{target}{suffix}"))
            db_path.rename(target)
        except OSError as exc:
            raise StoreWriteError(db_path, f"could not rename it: {exc.strerror or exc}") from exc
        return target

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
        text = str(exc)
        lowered = text.lower()
        if "not a database" in lowered or "malformed" in lowered:
            return StoreCorruptError(self.db_path, text)
        write_words = ("readonly", "read-only", "disk is full", "disk i/o", "unable to open",
                       "locked", "busy", "no such file or directory", "query_only")
        if any(word in lowered for word in write_words):
            if "locked" in lowered or "busy" in lowered:
                text = "another glm-tui kept the database locked for more than 5 seconds"
            if writing:
                return StoreWriteError(self.db_path, text)
        return StoreError(f"Session database {self.db_path}: {text}")

    # --- sessions ---------------------------------------------------------------------------

    def create_session(self, session: Session) -> None:
        """Store a new session and any messages it already has (setting their ids)."""
        self.create_sessions([session])

    def create_sessions(self, sessions: Iterable[Session]) -> None:
        """Store many new sessions in one transaction (import, benchmarks)."""
        with self._write() as conn:
            for session in sessions:
                exists = conn.execute(
                    "SELECT 1 FROM sessions WHERE id = ?", (session.id,)
                ).fetchone()
                if exists:
                    raise StoreError(f"A session with id {session.id} already exists.")
                conn.execute(
                    f"INSERT INTO sessions ({_SESSION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    _session_row(session),
                )
                for position, message in enumerate(session.messages):
                    cursor = conn.execute(
                        "INSERT INTO messages (session_id, position, role, content, images,"
                        " tool_calls, tool_call_id, name, status, error, usage, timings,"
                        " created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (session.id, position, *_message_values(message)),
                    )
                    message.id = cursor.lastrowid

    def save_session(self, session: Session) -> None:
        """Store the session's title, times and settings (not its messages); creates it if new."""
        row = _session_row(session)
        with self._write() as conn:
            conn.execute(
                f"INSERT INTO sessions ({_SESSION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(id) DO UPDATE SET title = excluded.title,"
                " updated_at = excluded.updated_at, server_profile = excluded.server_profile,"
                " model = excluded.model, system_prompt = excluded.system_prompt,"
                " sampling = excluded.sampling, tools = excluded.tools,"
                " tool_choice = excluded.tool_choice, stream = excluded.stream",
                row,
            )

    def load_session(self, session_id: str, *, last: int | None = None) -> Session:
        """The session with its messages, or only its ``last`` newest ones for huge sessions.

        Messages still marked streaming belong to a glm-tui that died mid-reply: they come back
        marked interrupted. That is done in the returned object only, because another running
        glm-tui may be streaming that very reply right now; it is saved when the message is next
        written.
        """
        if last is not None and last < 0:
            raise ValueError("last must be >= 0")
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            if row is None:
                raise StoreError(f"There is no saved session {session_id}.")
            if last is None:
                rows = conn.execute(
                    f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE session_id = ?"
                    " ORDER BY position",
                    (session_id,),
                ).fetchall()
            else:
                rows = conn.execute(
                    f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE session_id = ?"
                    " ORDER BY position DESC LIMIT ?",
                    (session_id, last),
                ).fetchall()
                rows.reverse()
        session = self._guard(_session_from_row, row)
        session.messages = [self._guard(_message_from_row, r) for r in rows]
        for message in session.messages:
            if message.status is MessageStatus.STREAMING:
                message.status = MessageStatus.INTERRUPTED
                if message.error is None:
                    message.error = INTERRUPTED_ERROR
        return session

    def load_messages_before(
        self, session_id: str, before_position: int, limit: int
    ) -> list[Message]:
        """Up to ``limit`` messages just before ``before_position``, oldest first (scroll-back).

        Positions run ``0 .. count_messages()-1``, so after ``load_session(last=N)`` the first
        loaded message is at ``count_messages() - N`` (or use :meth:`position_of`).
        """
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE session_id = ? AND position < ?"
                " ORDER BY position DESC LIMIT ?",
                (session_id, before_position, limit),
            ).fetchall()
        rows.reverse()
        messages = [self._guard(_message_from_row, r) for r in rows]
        for message in messages:
            if message.status is MessageStatus.STREAMING:
                message.status = MessageStatus.INTERRUPTED
                if message.error is None:
                    message.error = INTERRUPTED_ERROR
        return messages

    def position_of(self, message_id: int) -> int:
        """The position of a stored message within its session."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT position FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
        if row is None:
            raise StoreError(f"Message {message_id} is not in the store (was it deleted?).")
        return int(row[0])

    def count_messages(self, session_id: str) -> int:
        with self._read() as conn:
            return int(
                conn.execute(
                    "SELECT count(*) FROM messages WHERE session_id = ?", (session_id,)
                ).fetchone()[0]
            )

    def list_sessions(
        self, filter_text: str = "", limit: int = 200, offset: int = 0
    ) -> list[SessionSummary]:
        """Sessions, most recently updated first; ``filter_text`` matches title or model."""
        where, params = _filter_clause(filter_text)
        with self._read() as conn:
            rows = conn.execute(
                "SELECT s.id, s.title, s.model, s.updated_at,"
                " (SELECT count(*) FROM messages m WHERE m.session_id = s.id),"
                " (SELECT substr(m.content, 1, 400) FROM messages m WHERE m.session_id = s.id"
                "  AND m.content != '' ORDER BY m.position DESC LIMIT 1)"
                f" FROM sessions s {where} ORDER BY s.updated_at DESC, s.num DESC"
                " LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [
            SessionSummary(
                id=row[0], title=row[1], model=row[2], updated_at=row[3],
                message_count=row[4], preview=_one_line(row[5] or "", PREVIEW_CHARS),
            )
            for row in rows
        ]

    def count_sessions(self, filter_text: str = "") -> int:
        where, params = _filter_clause(filter_text)
        with self._read() as conn:
            return int(
                conn.execute(f"SELECT count(*) FROM sessions s {where}", params).fetchone()[0]
            )

    def rename_session(self, session_id: str, title: str) -> None:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE sessions SET title = ?, updated_at = max(updated_at, ?) WHERE id = ?",
                (title, time.time(), session_id),
            )
            if cursor.rowcount == 0:
                raise StoreError(f"There is no saved session {session_id}.")

    def duplicate_session(self, session_id: str) -> str:
        """Copy a session with all its messages under a new id; returns the new id."""
        new_id = new_session_id()
        now = time.time()
        with self._write() as conn:
            row = conn.execute("SELECT title FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                raise StoreError(f"There is no saved session {session_id}.")
            title = f"{row[0]} (copy)" if row[0] else "Copy"
            conn.execute(
                f"INSERT INTO sessions ({_SESSION_COLUMNS}) SELECT ?, ?, ?, ?, server_profile,"
                " model, system_prompt, sampling, tools, tool_choice, stream FROM sessions"
                " WHERE id = ?",
                (new_id, title, now, now, session_id),
            )
            conn.execute(
                "INSERT INTO messages (session_id, position, role, content, images, tool_calls,"
                " tool_call_id, name, status, error, usage, timings, created_at)"
                " SELECT ?, position, role, content, images, tool_calls, tool_call_id, name,"
                " status, error, usage, timings, created_at FROM messages WHERE session_id = ?"
                " ORDER BY position",
                (new_id, session_id),
            )
        return new_id

    def delete_session(self, session_id: str) -> None:
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            if cursor.rowcount == 0:
                raise StoreError(f"There is no saved session {session_id}.")

    def has_session(self, session_id: str) -> bool:
        with self._read() as conn:
            row = conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return row is not None

    def last_session_id(self) -> str | None:
        """The most recently updated session (for ``--resume``)."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT id FROM sessions ORDER BY updated_at DESC, num DESC LIMIT 1"
            ).fetchone()
        return None if row is None else str(row[0])

    def resolve_id(self, prefix: str) -> str:
        """The full id of the one session whose id starts with ``prefix``."""
        wanted = prefix.strip()
        if not wanted:
            raise StoreError("No session id given.")
        with self._read() as conn:
            exact = conn.execute("SELECT id FROM sessions WHERE id = ?", (wanted,)).fetchone()
            if exact is not None:
                return str(exact[0])
            rows = conn.execute(
                "SELECT id FROM sessions WHERE substr(id, 1, ?) = ? LIMIT 2",
                (len(wanted), wanted),
            ).fetchall()
        if not rows:
            raise StoreError(f"No saved session id starts with '{wanted}'.")
        if len(rows) > 1:
            raise StoreError(
                f"More than one saved session id starts with '{wanted}'; type more of the id."
            )
        return str(rows[0][0])

    # --- messages ---------------------------------------------------------------------------

    def append_message(self, session_id: str, message: Message) -> int:
        """Store a message at the end of its session; sets and returns ``message.id``."""
        values = _message_values(message)
        with self._write() as conn:
            touched = conn.execute(
                "UPDATE sessions SET updated_at = max(updated_at, ?) WHERE id = ?",
                (time.time(), session_id),
            ).rowcount
            if touched == 0:
                raise StoreError(f"There is no saved session {session_id}.")
            position = conn.execute(
                "SELECT coalesce(max(position) + 1, 0) FROM messages WHERE session_id = ?",
                (session_id,),
            ).fetchone()[0]
            cursor = conn.execute(
                "INSERT INTO messages (session_id, position, role, content, images, tool_calls,"
                " tool_call_id, name, status, error, usage, timings, created_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (session_id, position, *values),
            )
            row_id = cursor.lastrowid
        assert row_id is not None
        message.id = row_id
        return row_id

    def update_message(self, message: Message) -> None:
        """Rewrite a stored message (a reply that grew, changed status, got usage...)."""
        if message.id is None:
            raise StoreError("This message was never saved, so it cannot be updated.")
        values = _message_values(message)
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE messages SET role = ?, content = ?, images = ?, tool_calls = ?,"
                " tool_call_id = ?, name = ?, status = ?, error = ?, usage = ?, timings = ?,"
                " created_at = ? WHERE id = ?",
                (*values, message.id),
            )
            if cursor.rowcount == 0:
                raise StoreError(f"Message {message.id} is no longer saved (was it deleted?).")
            conn.execute(
                "UPDATE sessions SET updated_at = max(updated_at, ?)"
                " WHERE id = (SELECT session_id FROM messages WHERE id = ?)",
                (time.time(), message.id),
            )

    def delete_messages_from(self, session_id: str, message_id: int) -> None:
        """Delete a message and every later one in its session (regenerate, edit and resend)."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT position FROM messages WHERE id = ? AND session_id = ?",
                (message_id, session_id),
            ).fetchone()
            if row is None:
                raise StoreError(f"Message {message_id} is not in session {session_id}.")
            conn.execute(
                "DELETE FROM messages WHERE session_id = ? AND position >= ?",
                (session_id, row[0]),
            )
            conn.execute(
                "UPDATE sessions SET updated_at = max(updated_at, ?) WHERE id = ?",
                (time.time(), session_id),
            )

    # --- search -----------------------------------------------------------------------------

    def search(
        self, query: str, limit: int = 100, *, time_budget: float = SEARCH_BUDGET_S
    ) -> list[SearchHit]:
        """Title matches first, then message matches, newest first.

        Every whitespace-separated word must occur (as a substring, any case). The user's text
        is never FTS syntax: each word is quoted, so quotes, ``*``, ``-`` and ``NEAR`` are just
        text. Words shorter than three characters cannot use the trigram index and are matched
        with LIKE, which reads messages newest first; when that takes longer than
        ``time_budget`` seconds the search stops with the newest matches found so far and
        :attr:`last_search_complete` is False (the UI can say "older messages not searched").
        """
        self.last_search_complete = True
        terms = query.split()
        if not terms or limit <= 0:
            return []
        long_terms = [t for t in terms if len(t) >= _MIN_FTS_TERM]
        short_terms = [t for t in terms if len(t) < _MIN_FTS_TERM]
        deadline = time.perf_counter() + time_budget
        with self._read() as conn:
            conn.set_progress_handler(lambda: time.perf_counter() > deadline, 2000)
            try:
                hits = self._search_titles(conn, terms, long_terms, short_terms, limit)
                if len(hits) < limit:
                    hits += self._search_messages(
                        conn, terms, long_terms, short_terms, limit - len(hits)
                    )
            finally:
                conn.set_progress_handler(None, 0)
        return hits

    def _rows_in_time(
        self, conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]
    ) -> list[_Row]:
        """The rows a query yields before the search's deadline interrupts it."""
        rows: list[_Row] = []
        try:
            for row in conn.execute(sql, params):
                rows.append(row)
        except sqlite3.OperationalError as exc:
            if "interrupt" not in str(exc).lower():
                raise
            self.last_search_complete = False
        return rows

    def _search_titles(
        self, conn: sqlite3.Connection, terms: list[str], long_terms: list[str],
        short_terms: list[str], limit: int,
    ) -> list[SearchHit]:
        likes = " ".join("AND s.title LIKE ? ESCAPE '\\'" for _ in short_terms)
        like_params = [_like(t) for t in short_terms]
        if long_terms:
            rows = self._rows_in_time(
                conn,
                "SELECT s.id, s.title, s.updated_at FROM sessions_fts"
                " JOIN sessions s ON s.num = sessions_fts.rowid"
                f" WHERE sessions_fts MATCH ? {likes} ORDER BY s.updated_at DESC LIMIT ?",
                (_fts_query(long_terms), *like_params, limit),
            )
        else:
            rows = self._rows_in_time(
                conn,
                f"SELECT s.id, s.title, s.updated_at FROM sessions s WHERE 1 {likes}"
                " ORDER BY s.updated_at DESC LIMIT ?",
                (*like_params, limit),
            )
        return [
            SearchHit(session_id=r[0], title=r[1], message_id=None,
                      snippet=_make_snippet(r[1], terms), updated_at=r[2])
            for r in rows
        ]

    def _search_messages(
        self, conn: sqlite3.Connection, terms: list[str], long_terms: list[str],
        short_terms: list[str], limit: int,
    ) -> list[SearchHit]:
        likes = " ".join("AND m.content LIKE ? ESCAPE '\\'" for _ in short_terms)
        like_params = [_like(t) for t in short_terms]
        if long_terms:
            rows = self._rows_in_time(
                conn,
                "SELECT m.session_id, s.title, m.id, m.content, s.updated_at"
                " FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
                " JOIN sessions s ON s.id = m.session_id"
                f" WHERE messages_fts MATCH ? {likes} ORDER BY messages_fts.rowid DESC LIMIT ?",
                (_fts_query(long_terms), *like_params, limit),
            )
        else:
            rows = self._rows_in_time(
                conn,
                "SELECT m.session_id, s.title, m.id, m.content, s.updated_at FROM messages m"
                f" JOIN sessions s ON s.id = m.session_id WHERE 1 {likes}"
                " ORDER BY m.id DESC LIMIT ?",
                (*like_params, limit),
            )
        return [
            SearchHit(session_id=r[0], title=r[1], message_id=r[2],
                      snippet=_make_snippet(r[3], terms), updated_at=r[4])
            for r in rows
        ]

    # --- images -----------------------------------------------------------------------------

    def put_image(self, data: bytes, ext: str) -> str:
        """Store image bytes content-addressed beside the database; returns the SHA-256."""
        try:
            return self._images.put(data, ext)
        except ImageStoreError as exc:
            raise StoreWriteError(self.images_dir, str(exc)) from exc

    def image_path(self, sha256: str) -> Path:
        try:
            return self._images.path(sha256)
        except ImageStoreError as exc:
            raise StoreError(str(exc)) from exc

    # --- helpers ----------------------------------------------------------------------------

    def _guard(self, build: Callable[[_Row], _T], row: _Row) -> _T:
        """Turn a row glm-tui cannot understand into a StoreError naming the file."""
        try:
            return build(row)
        except (ValueError, TypeError, KeyError, SamplingError) as exc:
            raise StoreError(
                f"The session database {self.db_path} holds a row this glm-tui cannot read: {exc}"
            ) from exc


# --- module helpers -------------------------------------------------------------------------


def _check_header(path: Path) -> None:
    """Refuse garbage and truncated files before SQLite touches them.

    SQLite only notices truncation when it reads a missing page, possibly deep into a session;
    the header's page count lets us say so at once, naming the file, before anything is written.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreWriteError(path, exc.strerror or str(exc)) from exc
    if size == 0:
        return  # an empty file is a new database as far as SQLite is concerned
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
    except OSError as exc:
        raise StoreWriteError(path, exc.strerror or str(exc)) from exc
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        raise StoreCorruptError(path, "file is not a database (no SQLite header)")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    page_count = int.from_bytes(header[28:32], "big")
    change_counter = header[24:28]
    valid_for = header[92:96]
    wal = Path(f"{path}-wal")
    wal_pending = wal.exists() and wal.stat().st_size > 0
    if change_counter == valid_for and page_count and not wal_pending:
        expected = page_count * page_size
        if size < expected:
            raise StoreCorruptError(
                path, f"file is truncated ({size:,} of {expected:,} bytes are there)"
            )


def _split_sql(script: str) -> list[str]:
    """Statements of a migration script, trigger bodies kept whole."""
    statements: list[str] = []
    current = ""
    for line in script.strip().splitlines():
        current += line + "\n"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _session_row(session: Session) -> tuple[Any, ...]:
    return (
        session.id, session.title, session.created_at, session.updated_at,
        session.server_profile, session.model, session.system_prompt,
        _dumps(session.sampling.to_dict()), _dumps(session.tools),
        None if session.tool_choice is None else _dumps(session.tool_choice),
        1 if session.stream else 0,
    )


def _session_from_row(row: tuple[Any, ...]) -> Session:
    tool_choice = None if row[9] is None else json.loads(row[9])
    return Session(
        id=row[0], title=row[1], created_at=row[2], updated_at=row[3],
        server_profile=row[4], model=row[5], system_prompt=row[6],
        sampling=SamplingParams.from_dict(json.loads(row[7])),
        tools=json.loads(row[8]), tool_choice=tool_choice, stream=bool(row[10]),
    )


def _message_values(message: Message) -> tuple[Any, ...]:
    """role .. created_at, in the column order of the INSERT/UPDATE statements."""
    return (
        message.role.value, message.content,
        _dumps([asdict(image) for image in message.images]),
        _dumps([asdict(call) for call in message.tool_calls]),
        message.tool_call_id, message.name, message.status.value, message.error,
        None if message.usage is None else _dumps(asdict(message.usage)),
        None if message.timings is None else _dumps(asdict(message.timings)),
        message.created_at,
    )


def _message_from_row(row: tuple[Any, ...]) -> Message:
    usage = None if row[9] is None else Usage(**json.loads(row[9]))
    timings = None if row[10] is None else Timings(**json.loads(row[10]))
    return Message(
        id=row[0], role=Role(row[1]), content=row[2],
        images=[ImageAttachment(**image) for image in json.loads(row[3])],
        tool_calls=[ToolCall(**call) for call in json.loads(row[4])],
        tool_call_id=row[5], name=row[6], status=MessageStatus(row[7]), error=row[8],
        usage=usage, timings=timings, created_at=row[11],
    )


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filter_clause(filter_text: str) -> tuple[str, tuple[str, ...]]:
    text = filter_text.strip()
    if not text:
        return "", ()
    pattern = _like(text)
    return "WHERE (s.title LIKE ? ESCAPE '\\' OR s.model LIKE ? ESCAPE '\\')", (pattern, pattern)


def _fts_query(terms: list[str]) -> str:
    """Each word as a quoted FTS5 string (quotes doubled): AND of literal substrings."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


def _one_line(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _make_snippet(text: str, terms: list[str], width: int = 140) -> str:
    """One line around the first match, every match between SNIPPET_START and SNIPPET_END."""
    flat = " ".join(text.replace(SNIPPET_START, " ").replace(SNIPPET_END, " ").split())
    folded = flat.casefold()
    needles = [t.casefold() for t in terms]
    first = min((i for i in (folded.find(n) for n in needles) if i >= 0), default=0)
    start = max(0, first - width // 3)
    end = min(len(flat), start + width)
    start = max(0, min(start, end - width))
    window, window_folded = flat[start:end], folded[start:end]
    if len(window_folded) != len(window):  # casefold changed lengths (ß): give up on marking
        marked = window
    else:
        spans: list[tuple[int, int]] = []
        for needle in needles:
            pos = window_folded.find(needle)
            while needle and pos >= 0:
                spans.append((pos, pos + len(needle)))
                pos = window_folded.find(needle, pos + len(needle))
        merged: list[list[int]] = []
        for a, b in sorted(spans):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        pieces: list[str] = []
        cursor = 0
        for a, b in merged:
            pieces += [window[cursor:a], SNIPPET_START, window[a:b], SNIPPET_END]
            cursor = b
        pieces.append(window[cursor:])
        marked = "".join(pieces)
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(flat) else ""
    return f"{prefix}{marked}{suffix}"
