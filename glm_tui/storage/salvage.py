"""Reading what is still readable from a database damaged inside (an intact header).

A damaged page makes every query that walks through it fail with "database disk image is
malformed", so one bad page would hide a whole session, or every session from a list. Salvage
reads around the damage instead: rows are fetched by rowid ranges that are halved around a failing
range down to single rows, and each message is read on its own, so only the rows on damaged pages
are lost, and the caller learns which (by position) to tell the user.

These functions take the store's connection outside any transaction (each query is its own
snapshot, so one failing query does not end the others); they only read. The store wraps them
(``SessionStore.salvage_session`` / ``salvage_summaries``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from glm_tui.model.session import Message, Session
from glm_tui.storage.rows import (
    MESSAGE_COLUMNS,
    PREVIEW_CHARS,
    SESSION_COLUMNS,
    Row,
    SessionSummary,
    mark_interrupted,
    message_from_row,
    one_line,
    session_from_row,
)

_T = TypeVar("_T")
_BUILD_ERRORS = (ValueError, TypeError, KeyError)


@dataclass
class Salvaged:
    """A session as far as it could be read, and what could not be."""

    session: Session
    lost_positions: list[int] = field(default_factory=list)
    """Positions (0-based) of messages that are known to exist and could not be read."""
    settings_lost: bool = False
    """The session's own row (title, model, settings) was unreadable; defaults stand in."""
    index_damaged: bool = False
    """The list of the session's messages was damaged too: messages after the last readable
    one may be missing without being counted."""

    @property
    def complete(self) -> bool:
        return not (self.lost_positions or self.settings_lost or self.index_damaged)

    def losses(self) -> str:
        """What was lost, in words (empty when nothing was)."""
        parts = []
        if self.settings_lost:
            parts.append("its title and settings")
        if self.lost_positions:
            count = len(self.lost_positions)
            shown = ", ".join(str(p + 1) for p in self.lost_positions[:10])
            more = "…" if count > 10 else ""
            parts.append(f"{count} message{'s' if count != 1 else ''} (number {shown}{more})")
        if self.index_damaged:
            parts.append("possibly messages after the last readable one")
        return "; ".join(parts)


def salvage_session(conn: sqlite3.Connection, session_id: str) -> Salvaged:
    """The session ``session_id`` with every message that can be read."""
    row = _first_readable(conn, [
        f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?",
        f"SELECT {SESSION_COLUMNS} FROM sessions NOT INDEXED WHERE id = ?",
    ], (session_id,))
    session = _build(session_from_row, row)
    result = Salvaged(Session(id=session_id) if session is None else session,
                      settings_lost=session is None)
    refs = _first_readable_all(conn, [
        "SELECT position, id FROM messages WHERE session_id = ? ORDER BY position",
    ], (session_id,))
    if refs is None:
        result.index_damaged = True
        found_refs, _unreadable = ranged_rows(
            conn, "SELECT position, id FROM messages NOT INDEXED WHERE session_id = ? AND",
            (session_id,), "messages")
        refs = sorted(found_refs)
    messages: list[Message] = []
    expected = 0
    for position, message_id in refs:
        result.lost_positions += range(expected, position)  # gaps: rows seen by no one
        expected = position + 1
        found = _first_readable(
            conn, [f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?"], (message_id,))
        message = _build(message_from_row, found)
        if message is None:
            result.lost_positions.append(position)
        else:
            messages.append(message)
    result.session.messages = mark_interrupted(messages)
    return result


def salvage_summaries(conn: sqlite3.Connection) -> tuple[list[SessionSummary], bool]:
    """Every readable session as a list row, most recent first; True when some were unreadable."""
    rows, unreadable = ranged_rows(
        conn, "SELECT num, id, title, model, updated_at FROM sessions NOT INDEXED WHERE", (),
        "sessions")
    summaries = []
    for _num, session_id, title, model, updated_at in rows:
        count = _first_readable(
            conn, ["SELECT count(*) FROM messages WHERE session_id = ?"], (session_id,))
        preview = _first_readable(conn, [
            "SELECT substr(content, 1, 400) FROM messages WHERE session_id = ?"
            " AND content != '' ORDER BY position DESC LIMIT 1"], (session_id,))
        summaries.append(SessionSummary(
            id=session_id, title=title, model=model, updated_at=updated_at,
            message_count=0 if count is None else int(count[0]),
            preview=one_line("" if preview is None else preview[0] or "", PREVIEW_CHARS)))
    summaries.sort(key=lambda s: s.updated_at, reverse=True)
    return summaries, unreadable > 0


def ranged_rows(conn: sqlite3.Connection, select_where: str, params: Row,
                table: str) -> tuple[list[Row], int]:
    """Rows of ``select_where ... rowid BETWEEN ? AND ?`` read around damaged pages, and how
    many rowids (or whole tables, when even the bounds are unreadable) could not be read.

    The rowid range is halved around every failing range; a single row that fails is skipped.
    The bounds come from the table's leftmost and rightmost rows, which SQLite finds without
    reading the pages in between.
    """
    bounds = _first_readable(conn, [f"SELECT min(rowid), max(rowid) FROM {table}"], ())
    if bounds is None:
        return [], 1
    if bounds[0] is None:
        return [], 0
    rows: list[Row] = []
    unreadable = 0
    pending = [(int(bounds[0]), int(bounds[1]))]
    while pending:
        low, high = pending.pop()
        try:
            rows += conn.execute(f"{select_where} rowid BETWEEN ? AND ?",
                                 (*params, low, high)).fetchall()
        except sqlite3.DatabaseError:
            if low == high:
                unreadable += 1
                continue
            middle = (low + high) // 2
            pending += [(middle + 1, high), (low, middle)]
    return rows, unreadable


def _first_readable(conn: sqlite3.Connection, queries: list[str], params: Row) -> Row | None:
    """The first row of the first query that can be read; None when none can."""
    for sql in queries:
        try:
            return conn.execute(sql, params).fetchone()  # type: ignore[no-any-return]
        except sqlite3.DatabaseError:
            continue
    return None


def _first_readable_all(conn: sqlite3.Connection, queries: list[str],
                        params: Row) -> list[Row] | None:
    for sql in queries:
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError:
            continue
    return None


def _build(build: Callable[[Row], _T], row: Row | None) -> _T | None:
    if row is None:
        return None
    try:
        return build(row)
    except _BUILD_ERRORS:
        return None
