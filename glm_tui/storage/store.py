"""The session store: every conversation in one SQLite file in the user's data directory.

Why SQLite: one file that survives power loss (WAL, every write a transaction), that two glm-tui
processes can share (busy timeout, ``BEGIN IMMEDIATE`` so a writer never dead-locks on a lock
upgrade), and that answers full-text search over half a million messages in milliseconds (FTS5).

Layout: ``sessions`` (one row per conversation, settings as JSON), ``messages`` (one row per
message, ordered by a per-session ``position`` that is always ``0 .. count-1``), two FTS5
external-content indexes kept in sync by triggers, and image bytes as files beside the database
(:mod:`glm_tui.storage.images`).

This module is the transactions and the queries. Around it: :mod:`.schema` (header check, schema
version, upgrade runner) with :mod:`.migrations` (one script per version), :mod:`.rows` (rows <->
model objects), :mod:`.search` (FTS5), :mod:`.drafts` (each session's unsent text) and
:mod:`.errors`. The names callers use are importable
from here.

API keys never reach this module: a session refers to its server profile by name only.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from glm_tui.model.session import Message, Session, new_session_id
from glm_tui.storage.database import BUSY_TIMEOUT_S
from glm_tui.storage.drafts import DraftStore
from glm_tui.storage.errors import StoreCorruptError, StoreError, StoreWriteError
from glm_tui.storage.images import ImageStore, ImageStoreError
from glm_tui.storage.private import create_private_file, make_private_dir, tighten
from glm_tui.storage.rows import (
    INTERRUPTED_ERROR,
    MESSAGE_COLUMNS,
    MESSAGE_VALUE_COLUMNS,
    MESSAGE_VALUE_COUNT,
    PREVIEW_CHARS,
    SESSION_COLUMNS,
    SESSION_PLACEHOLDERS,
    SessionSummary,
    mark_interrupted,
    message_from_row,
    message_values,
    one_line,
    session_from_row,
    session_row,
)
from glm_tui.storage.salvage import Salvaged, salvage_session, salvage_summaries
from glm_tui.storage.schema import SCHEMA_VERSION
from glm_tui.storage.search import (
    SEARCH_BUDGET_S,
    SNIPPET_END,
    SNIPPET_START,
    SearchHit,
    filter_clause,
    snippet_parts,
)
from glm_tui.storage.search import search as _search

__all__ = [
    "BUSY_TIMEOUT_S", "DB_NAME", "IMAGES_DIR", "INTERRUPTED_ERROR", "PREVIEW_CHARS",
    "SCHEMA_VERSION", "SEARCH_BUDGET_S", "SNIPPET_END", "SNIPPET_START", "Salvaged", "SearchHit",
    "SessionStore", "SessionSummary", "StoreCorruptError", "StoreError", "StoreWriteError",
    "snippet_parts",
]

DB_NAME = "sessions.db"
IMAGES_DIR = "images"

_INSERT_MESSAGE = (
    f"INSERT INTO messages (session_id, position, {MESSAGE_VALUE_COLUMNS})"
    f" VALUES (?,?,{','.join('?' * MESSAGE_VALUE_COUNT)})"
)
_UPDATE_MESSAGE = (
    "UPDATE messages SET "
    + ", ".join(f"{name.strip()} = ?" for name in MESSAGE_VALUE_COLUMNS.split(","))
    + " WHERE id = ?"
)


class SessionStore(DraftStore):
    """All saved sessions in ``data_dir/sessions.db``; safe to share between threads and processes.

    Every method is one transaction (see :class:`Database` for how they are run).
    """

    def __init__(self, data_dir: Path, *, read_only: bool = False, check: bool = True) -> None:
        """Open (creating if needed) the store in ``data_dir``.

        Opened for writing, the data directory and the database are created private and what an
        older glm-tui left readable by others is made private (listed in :attr:`tightened`, for
        the caller to say so). ``read_only`` changes nothing on disk; it needs an existing
        database (see :meth:`open_read_only`). ``check``: see :class:`Database`.
        """
        self.data_dir = Path(data_dir)
        self.images_dir = self.data_dir / IMAGES_DIR
        self._images = ImageStore(self.images_dir)
        self.last_search_complete = True
        """False when the last :meth:`search` stopped at its time budget before the oldest
        messages."""
        self.tightened: list[Path] = []
        """What was readable by others and made owner-only when this store was opened."""
        db_path = self.data_dir / DB_NAME
        if not read_only:
            try:
                make_private_dir(self.data_dir)
                self.tightened = tighten(self.data_dir)
                create_private_file(db_path)
            except OSError as exc:
                raise StoreWriteError(self.data_dir, exc.strerror or str(exc)) from exc
        super().__init__(db_path, read_only=read_only, check=check)

    @classmethod
    def open_read_only(cls, data_dir: Path) -> SessionStore | None:
        """The store opened without changing anything on disk, or None when there is no database
        (no file, or an empty one: nothing was ever saved). Nothing is created, upgraded,
        checkpointed, deleted or made private."""
        db_path = Path(data_dir) / DB_NAME
        try:
            if db_path.stat().st_size == 0:
                return None
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"Cannot read {db_path}: {exc.strerror or exc}") from exc
        return cls(data_dir, read_only=True)

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
                    f"INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ({SESSION_PLACEHOLDERS})",
                    session_row(session),
                )
                for position, message in enumerate(session.messages):
                    cursor = conn.execute(
                        _INSERT_MESSAGE,
                        (session.id, position, *message_values(message)),
                    )
                    message.id = cursor.lastrowid

    def save_session(self, session: Session) -> None:
        """Store the session's title, times and settings (not its messages); creates it if new."""
        row = session_row(session)
        with self._write() as conn:
            conn.execute(
                f"INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ({SESSION_PLACEHOLDERS})"
                " ON CONFLICT(id) DO UPDATE SET title = excluded.title,"
                " updated_at = excluded.updated_at, server_profile = excluded.server_profile,"
                " model = excluded.model, system_prompt = excluded.system_prompt,"
                " sampling = excluded.sampling, tools = excluded.tools,"
                " tool_choice = excluded.tool_choice, stream = excluded.stream,"
                " preserve_thinking = excluded.preserve_thinking",
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
                f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            if row is None:
                raise StoreError(f"There is no saved session {session_id}.")
            if last is None:
                rows = conn.execute(
                    f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = ?"
                    " ORDER BY position",
                    (session_id,),
                ).fetchall()
            else:
                rows = conn.execute(
                    f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = ?"
                    " ORDER BY position DESC LIMIT ?",
                    (session_id, last),
                ).fetchall()
                rows.reverse()
        session = self._guard(session_from_row, row)
        session.messages = mark_interrupted([self._guard(message_from_row, r) for r in rows])
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
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = ? AND position < ?"
                " ORDER BY position DESC LIMIT ?",
                (session_id, before_position, limit),
            ).fetchall()
        rows.reverse()
        return mark_interrupted([self._guard(message_from_row, r) for r in rows])

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
        where, params = filter_clause(filter_text)
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
                message_count=row[4], preview=one_line(row[5] or "", PREVIEW_CHARS),
            )
            for row in rows
        ]

    def count_sessions(self, filter_text: str = "") -> int:
        where, params = filter_clause(filter_text)
        with self._read() as conn:
            return int(
                conn.execute(f"SELECT count(*) FROM sessions s {where}", params).fetchone()[0]
            )

    def session_position(self, session_id: str, filter_text: str = "") -> int | None:
        """Where ``session_id`` is in ``list_sessions(filter_text)`` (0 = first); ``None`` when
        it is not there. The sessions screen keeps its cursor on a session that moved."""
        where, params = filter_clause(filter_text)
        also = f"{where} AND" if where else "WHERE"
        with self._read() as conn:
            found = conn.execute(f"SELECT s.updated_at, s.num FROM sessions s {also} s.id = ?",
                                 (*params, session_id)).fetchone()
            if found is None:
                return None
            before = conn.execute(
                f"SELECT count(*) FROM sessions s {also} (s.updated_at > ? OR "
                "(s.updated_at = ? AND s.num > ?))", (*params, found[0], found[0], found[1]),
            ).fetchone()
        return int(before[0])

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
                f"INSERT INTO sessions ({SESSION_COLUMNS}) SELECT ?, ?, ?, ?, server_profile,"
                " model, system_prompt, sampling, tools, tool_choice, stream, preserve_thinking"
                " FROM sessions"
                " WHERE id = ?",
                (new_id, title, now, now, session_id),
            )
            conn.execute(
                f"INSERT INTO messages (session_id, position, {MESSAGE_VALUE_COLUMNS})"
                f" SELECT ?, position, {MESSAGE_VALUE_COLUMNS} FROM messages WHERE session_id = ?"
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
        values = message_values(message)
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
                _INSERT_MESSAGE,
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
        values = message_values(message)
        with self._write() as conn:
            cursor = conn.execute(
                _UPDATE_MESSAGE,
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

    # --- reading a damaged file ------------------------------------------------------------

    def salvage_session(self, session_id: str) -> Salvaged:
        """The session with every message that can still be read, and what could not be
        (see :mod:`.salvage`); for a database damaged inside."""
        with self._lock:  # each query its own snapshot: a failed one must not end the rest
            return salvage_session(self._conn, session_id)

    def salvage_summaries(self) -> tuple[list[SessionSummary], bool]:
        """Every session whose list row can still be read, most recent first; True when some
        could not be."""
        with self._lock:
            return salvage_summaries(self._conn)

    # --- search -----------------------------------------------------------------------------

    def search(
        self, query: str, limit: int = 100, *, time_budget: float = SEARCH_BUDGET_S
    ) -> list[SearchHit]:
        """Title matches first, then message matches, newest first (see :mod:`.search`).

        Every whitespace-separated word must occur (as a substring, any case); the user's text
        is never FTS syntax. When matching words shorter than three characters takes longer
        than ``time_budget`` seconds the search stops with the newest matches found so far and
        :attr:`last_search_complete` is False (the UI can say "older messages not searched").
        """
        with self._read() as conn:
            hits, self.last_search_complete = _search(conn, query, limit, time_budget)
        return hits

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

    def has_image(self, sha256: str) -> bool:
        """Whether the image with this hash is stored (an import need not carry it again)."""
        try:
            self._images.path(sha256)
        except ImageStoreError:
            return False
        return True
