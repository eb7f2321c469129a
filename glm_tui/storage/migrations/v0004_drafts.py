"""Schema version 4: each session's draft, the text typed in its prompt and not sent yet.

A table of its own rather than a column of ``sessions``: saving a draft as it is typed must not
touch the session's row (its ``updated_at`` orders the sessions list), and a session without a
draft (nearly all) has no row here. Deleting a session deletes its draft.
"""

from __future__ import annotations

VERSION = 4

SQL = """
CREATE TABLE drafts (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    updated_at REAL NOT NULL
);
"""
