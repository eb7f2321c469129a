"""Schema version 3: a thinking model's reasoning, kept beside each message and searchable.

Sessions gain ``preserve_thinking`` (send every earlier reply's reasoning back; off by default).

``reasoning`` holds the text apart from ``content`` (empty for every message written before);
``reasoning_seconds`` the time from its first to its last piece. It gets its own full-text index
rather than joining ``messages_fts``, so that a hit can say the words were found in the thinking,
and so that this upgrade does not rebuild the index of every message already stored. Empty
reasoning (almost every message) is never indexed: the triggers skip it, and the new index starts
empty because every existing row's reasoning is empty. An unchanged reasoning is not re-indexed
when a streaming reply is saved again (only its content grew).
"""

from __future__ import annotations

VERSION = 3

SQL = """
ALTER TABLE sessions ADD COLUMN preserve_thinking INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN reasoning TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN reasoning_seconds REAL;
CREATE VIRTUAL TABLE reasoning_fts USING fts5(
    reasoning, content='messages', content_rowid='id', tokenize='trigram'
);
CREATE TRIGGER reasoning_fts_insert AFTER INSERT ON messages WHEN new.reasoning != '' BEGIN
    INSERT INTO reasoning_fts(rowid, reasoning) VALUES (new.id, new.reasoning);
END;
CREATE TRIGGER reasoning_fts_delete AFTER DELETE ON messages WHEN old.reasoning != '' BEGIN
    INSERT INTO reasoning_fts(reasoning_fts, rowid, reasoning)
        VALUES ('delete', old.id, old.reasoning);
END;
CREATE TRIGGER reasoning_fts_update AFTER UPDATE OF reasoning ON messages
        WHEN old.reasoning IS NOT new.reasoning BEGIN
    INSERT INTO reasoning_fts(reasoning_fts, rowid, reasoning)
        SELECT 'delete', old.id, old.reasoning WHERE old.reasoning != '';
    INSERT INTO reasoning_fts(rowid, reasoning)
        SELECT new.id, new.reasoning WHERE new.reasoning != '';
END;
"""
