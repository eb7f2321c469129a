"""Drafts: what a person typed in a session's prompt and has not sent, kept per session.

A draft is saved as it is typed (within a second of a change) and when the person leaves the
session or quits, and comes back into the prompt when the session is opened again, after a
restart too. It lives in its own table (migration v0004), written without touching the session's
row, so typing does not reorder the sessions list; an empty draft is no row at all.
"""

from __future__ import annotations

import time

from glm_tui.storage.database import Database
from glm_tui.storage.errors import StoreError


class DraftStore(Database):
    """The draft queries of :class:`~glm_tui.storage.store.SessionStore` (one transaction each)."""

    def save_draft(self, session_id: str, text: str) -> None:
        """Keep ``text`` as the session's draft (an empty or blank text removes it).

        The session must be stored: a draft of a session that is not is refused, as is any
        write of a session that does not exist.
        """
        with self._write() as conn:
            if not text.strip():
                conn.execute("DELETE FROM drafts WHERE session_id = ?", (session_id,))
                return
            if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() \
                    is None:
                raise StoreError(f"There is no saved session {session_id}.")
            conn.execute(
                "INSERT INTO drafts (session_id, text, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT(session_id) DO UPDATE SET text = excluded.text,"
                " updated_at = excluded.updated_at",
                (session_id, text, time.time()),
            )

    def load_draft(self, session_id: str) -> str:
        """The session's draft ("" when it has none)."""
        with self._read() as conn:
            row = conn.execute("SELECT text FROM drafts WHERE session_id = ?",
                               (session_id,)).fetchone()
        return "" if row is None else str(row[0])
