"""Schema version 1: sessions (settings as JSON) and their messages, ordered by position."""

from __future__ import annotations

VERSION = 1

SQL = """
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
