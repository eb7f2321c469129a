"""A streaming reply is indexed for search once, when it ends (schema version 6), and is still
found while it streams; the indexes stay exactly in step with the rows through every change,
including the upgrade of a database that holds a reply a glm-tui died writing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from glm_tui.model.session import Message, MessageStatus, Role, Session
from glm_tui.storage import migrations
from glm_tui.storage.recorder import SessionRecorder
from glm_tui.storage.store import SessionStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SessionStore]:
    s = SessionStore(tmp_path / "data")
    yield s
    s.close()


def indexed(store: SessionStore, index: str, word: str) -> list[int]:
    """Rows the full-text index itself holds ``word`` for (not what search adds to it)."""
    conn = sqlite3.connect(store.data_dir / "sessions.db")
    try:
        return [row[0] for row in conn.execute(
            f"SELECT rowid FROM {index} WHERE {index} MATCH ?", (f'"{word}"',))]
    finally:
        conn.close()


def indexes_match_rows(store: SessionStore) -> None:
    """The indexes hold exactly the finished rows: FTS5's own check of ``messages_fts`` against
    the rows' text (every row of a finished database is in it), and for ``reasoning_fts``, which
    leaves empty reasoning out by design, its own consistency and exactly the expected rows."""
    conn = sqlite3.connect(store.data_dir / "sessions.db")
    try:
        conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
        conn.execute("INSERT INTO reasoning_fts(reasoning_fts) VALUES ('integrity-check')")
        finished = "status != 'streaming'"
        for index, rows in (("messages_fts", finished),
                            ("reasoning_fts", f"{finished} AND reasoning != ''")):
            held = {r[0] for r in conn.execute(f"SELECT id FROM {index}_docsize")}
            assert held == {r[0] for r in conn.execute(f"SELECT id FROM messages WHERE {rows}")}
    finally:
        conn.close()


def streaming_reply(store: SessionStore) -> tuple[SessionRecorder, Message]:
    session = Session(title="Moths")
    recorder = SessionRecorder(store, session, interval=0.0)
    recorder.add_message(Message(Role.USER, "Why do moths circle lamps?"))
    reply = Message(Role.ASSISTANT, "", status=MessageStatus.STREAMING)
    recorder.add_message(reply)
    return recorder, reply


def test_a_streaming_reply_is_found_by_search_but_indexed_only_when_it_ends(
    store: SessionStore,
) -> None:
    recorder, reply = streaming_reply(store)
    for piece in ("They steer by keeping ", "a light source at a fixed angle: ", "phototaxis. "):
        reply.reasoning += piece
        reply.content += piece.upper()
        recorder.update_message(reply, force=True)  # the autosave while it streams
    # Not indexed at each save (the cost that grew with the reply)...
    assert indexed(store, "messages_fts", "phototaxis") == []
    assert indexed(store, "reasoning_fts", "phototaxis") == []
    # ...and still found, in the text and in the reasoning, long words and short.
    hits = store.search("phototaxis")
    assert [(h.message_id, h.in_reasoning) for h in hits] == [(reply.id, False)]
    assert [h.message_id for h in store.search("fixed angle")] == [reply.id]
    assert [h.message_id for h in store.search("at")] == [reply.id]
    assert store.search("lamps phototaxis") == []  # all words in one text, as always

    reply.content = "Moths steer by the moon."
    reply.status = MessageStatus.COMPLETE
    recorder.update_message(reply)
    assert indexed(store, "messages_fts", "moon") == [reply.id]
    assert indexed(store, "reasoning_fts", "phototaxis") == [reply.id]
    assert [(h.message_id, h.in_reasoning) for h in store.search("phototaxis")] == [
        (reply.id, True)]
    assert store.search("PHOTOTAXIS. ") != []
    assert [h.message_id for h in store.search("moon")] == [reply.id]
    indexes_match_rows(store)


def test_the_indexes_follow_every_change_of_a_finished_reply(store: SessionStore) -> None:
    recorder, reply = streaming_reply(store)
    reply.content, reply.reasoning, reply.status = "first answer", "", MessageStatus.COMPLETE
    recorder.update_message(reply)
    reply.reasoning = "a thought added later"
    store.update_message(reply)
    reply.content = "second answer"
    store.update_message(reply)
    assert store.search("first") == []
    assert [h.message_id for h in store.search("second")] == [reply.id]
    assert [h.in_reasoning for h in store.search("thought")] == [True]
    # Asked again: the reply streams anew and leaves the indexes until it ends again.
    reply.status, reply.content, reply.reasoning = MessageStatus.STREAMING, "third", ""
    store.update_message(reply)
    assert indexed(store, "messages_fts", "second") == []
    assert indexed(store, "reasoning_fts", "thought") == []
    assert [h.message_id for h in store.search("third")] == [reply.id]
    reply.status = MessageStatus.CANCELLED
    store.update_message(reply)
    assert indexed(store, "messages_fts", "third") == [reply.id]
    indexes_match_rows(store)
    store.delete_session(recorder.session.id)
    assert store.search("third") == []
    indexes_match_rows(store)


def test_deleting_a_reply_while_it_streams_leaves_the_indexes_whole(store: SessionStore) -> None:
    recorder, reply = streaming_reply(store)
    reply.content, reply.reasoning = "half an answer", "half a thought"
    recorder.update_message(reply, force=True)
    recorder.remove_from(reply)
    assert store.search("half") == []
    indexes_match_rows(store)


def test_upgrading_a_database_with_a_reply_left_streaming(tmp_path: Path) -> None:
    """Version 5 indexed the streaming row as it was saved; version 6 takes it out and finds it
    directly, and ending it later indexes it once (a wrong FTS ``delete`` corrupts the index,
    which the integrity check would report)."""
    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(data / "sessions.db")
    conn.executescript("".join(migrations.MIGRATIONS[v] for v in range(1, 6))
                       + "PRAGMA user_version = 5;")
    conn.executescript("""
        INSERT INTO sessions (id, title, created_at, updated_at, model, sampling)
            VALUES ('s1', 'Owls', 1.0, 2.0, 'glm-4.6', '{}');
        INSERT INTO messages (session_id, position, role, content, created_at)
            VALUES ('s1', 0, 'user', 'Can owls turn their heads all the way?', 1.0);
        INSERT INTO messages (session_id, position, role, content, reasoning, status, created_at)
            VALUES ('s1', 1, 'assistant', 'About 270 degrees', 'vertebrae count', 'streaming',
                    1.5);
    """)
    conn.commit()
    conn.close()

    store = SessionStore(data)
    try:
        assert indexed(store, "messages_fts", "270 degrees") == []
        assert indexed(store, "reasoning_fts", "vertebrae") == []
        [hit] = store.search("vertebrae")
        assert hit.in_reasoning and hit.title == "Owls"
        session = store.load_session("s1")
        reply = session.messages[1]
        assert reply.status is MessageStatus.INTERRUPTED  # as before: a glm-tui died mid-reply
        store.update_message(reply)
        assert indexed(store, "reasoning_fts", "vertebrae") == [reply.id]
        assert [h.message_id for h in store.search("270")] == [reply.id]
        indexes_match_rows(store)
    finally:
        store.close()
