"""Schema version 6: a reply is put in the full-text indexes when it ends, not at every autosave.

A streaming reply is saved twice a second (nothing a model said is only on screen), and each save
took every trigram of the text so far out of the index and put every trigram of the new text in:
a cost that grows with the reply at every save, so quadratic in its length (0.3 s of a 240 KB
reply's CPU, and for a reply of megabytes a writer thread busy half the time). From this version
a message is in ``messages_fts`` (and, with reasoning, in ``reasoning_fts``) exactly when its
status is not ``streaming``: the triggers skip streaming rows, and the status change that ends a
reply indexes it once. Rows still streaming here (a glm-tui that died mid-reply, or one writing
right now) are taken out of the indexes so the rule holds for every row; search reads those few
rows directly, through the small partial index ``messages_streaming``, so they are still found.

An external-content FTS5 ``delete`` must be given exactly what was indexed, so every trigger
tests the same condition on ``old`` that the insert tested on ``new``; an update does work only
when a row enters or leaves an index, or its indexed text changed.
"""

from __future__ import annotations

VERSION = 6

SQL = """
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
DROP TRIGGER reasoning_fts_insert;
DROP TRIGGER reasoning_fts_delete;
DROP TRIGGER reasoning_fts_update;
INSERT INTO messages_fts(messages_fts, rowid, content)
    SELECT 'delete', id, content FROM messages WHERE status = 'streaming';
INSERT INTO reasoning_fts(reasoning_fts, rowid, reasoning)
    SELECT 'delete', id, reasoning FROM messages WHERE status = 'streaming' AND reasoning != '';
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
        WHEN new.status != 'streaming' BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
        WHEN old.status != 'streaming' BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, status ON messages
        WHEN (old.status = 'streaming') != (new.status = 'streaming')
        OR (new.status != 'streaming' AND old.content IS NOT new.content) BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content)
        SELECT 'delete', old.id, old.content WHERE old.status != 'streaming';
    INSERT INTO messages_fts(rowid, content)
        SELECT new.id, new.content WHERE new.status != 'streaming';
END;
CREATE TRIGGER reasoning_fts_insert AFTER INSERT ON messages
        WHEN new.reasoning != '' AND new.status != 'streaming' BEGIN
    INSERT INTO reasoning_fts(rowid, reasoning) VALUES (new.id, new.reasoning);
END;
CREATE TRIGGER reasoning_fts_delete AFTER DELETE ON messages
        WHEN old.reasoning != '' AND old.status != 'streaming' BEGIN
    INSERT INTO reasoning_fts(reasoning_fts, rowid, reasoning)
        VALUES ('delete', old.id, old.reasoning);
END;
CREATE TRIGGER reasoning_fts_update AFTER UPDATE OF reasoning, status ON messages
        WHEN (old.reasoning != '' AND old.status != 'streaming')
            != (new.reasoning != '' AND new.status != 'streaming')
        OR (new.reasoning != '' AND new.status != 'streaming'
            AND old.reasoning IS NOT new.reasoning) BEGIN
    INSERT INTO reasoning_fts(reasoning_fts, rowid, reasoning)
        SELECT 'delete', old.id, old.reasoning
        WHERE old.reasoning != '' AND old.status != 'streaming';
    INSERT INTO reasoning_fts(rowid, reasoning)
        SELECT new.id, new.reasoning WHERE new.reasoning != '' AND new.status != 'streaming';
END;
CREATE INDEX messages_streaming ON messages(id) WHERE status = 'streaming';
"""
