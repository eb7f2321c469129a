"""Autosave of the live session, including a disk that refuses writes for a while."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from glm_tui.model.session import Message, MessageStatus, Role, Session, Usage
from glm_tui.storage.recorder import SessionRecorder
from glm_tui.storage.store import SessionStore


class FakeClock:
    """Time that moves only when the test says so, so throttling is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SessionStore]:
    s = SessionStore(tmp_path / "data")
    yield s
    s.close()


def reopen(store: SessionStore) -> SessionStore:
    """A second store on the same files: what another process (or a restart) would see."""
    return SessionStore(store.data_dir)


def test_user_message_is_stored_before_anything_else_happens(store: SessionStore) -> None:
    session = Session(title="first question")
    recorder = SessionRecorder(store, session)
    question = Message(Role.USER, "Is it saved already?")
    recorder.add_message(question)
    assert question.id is not None and session.messages == [question]
    other = reopen(store)
    loaded = other.load_session(session.id)
    assert loaded.title == "first question"
    assert [m.content for m in loaded.messages] == ["Is it saved already?"]
    other.close()
    assert recorder.pending == 0 and recorder.last_error is None


def test_streaming_reply_is_stored_at_most_an_interval_behind(store: SessionStore) -> None:
    clock = FakeClock()
    session = Session()
    recorder = SessionRecorder(store, session, interval=1.0, clock=clock)
    recorder.add_message(Message(Role.USER, "count"))
    reply = Message(Role.ASSISTANT, "", status=MessageStatus.STREAMING)
    recorder.add_message(reply)

    def stored() -> Message:
        return store.load_session(session.id).messages[-1]

    reply.content = "one"
    assert recorder.update_message(reply) is False  # just written by add_message
    assert stored().content == "" and recorder.pending == 1
    clock.now += 0.5
    reply.content = "one two"
    assert recorder.update_message(reply) is False
    clock.now += 0.6
    reply.content = "one two three"
    assert recorder.update_message(reply) is True
    assert stored().content == "one two three" and recorder.pending == 0
    clock.now += 0.1
    reply.content = "one two three four"
    assert recorder.update_message(reply) is False
    assert recorder.update_message(reply, force=True) is True
    assert stored().content == "one two three four"

    clock.now += 0.1
    reply.content += " five"
    recorder.update_message(reply)
    assert recorder.flush() is True
    assert stored().content == "one two three four five"

    clock.now += 0.1
    reply.content += "."
    reply.status = MessageStatus.COMPLETE
    reply.usage = Usage(3, 5)
    assert recorder.update_message(reply) is True  # a final status is never held back
    assert stored() == reply


@pytest.mark.parametrize("final", [MessageStatus.CANCELLED, MessageStatus.FAILED])
def test_cancelled_and_failed_replies_are_stored_at_once(
    store: SessionStore, final: MessageStatus
) -> None:
    session = Session()
    recorder = SessionRecorder(store, session, interval=60.0)
    recorder.add_message(Message(Role.USER, "q"))
    reply = Message(Role.ASSISTANT, "", status=MessageStatus.STREAMING)
    recorder.add_message(reply)
    reply.content = "partial"
    recorder.update_message(reply)
    reply.status = final
    reply.error = "stopped" if final is MessageStatus.FAILED else None
    recorder.update_message(reply)
    loaded = store.load_session(session.id).messages[-1]
    assert (loaded.content, loaded.status, loaded.error) == ("partial", final, reply.error)


def test_settings_and_title_are_stored_at_once(store: SessionStore) -> None:
    session = Session()
    recorder = SessionRecorder(store, session)
    session.title = "Renamed by the user"
    session.system_prompt = "Be brief."
    session.model = "glm-4-plus"
    recorder.save_session()
    loaded = store.load_session(session.id)
    assert (loaded.title, loaded.system_prompt, loaded.model) == (
        "Renamed by the user", "Be brief.", "glm-4-plus")


def test_remove_from_drops_the_tail_everywhere(store: SessionStore) -> None:
    session = Session()
    recorder = SessionRecorder(store, session)
    messages = [Message(Role.USER, "a"), Message(Role.ASSISTANT, "b"),
                Message(Role.USER, "c"), Message(Role.ASSISTANT, "d")]
    for m in messages:
        recorder.add_message(m)
    recorder.remove_from(messages[2])
    assert [m.content for m in session.messages] == ["a", "b"]
    assert [m.content for m in store.load_session(session.id).messages] == ["a", "b"]
    recorder.add_message(Message(Role.USER, "c2"))
    assert [m.content for m in store.load_session(session.id).messages] == ["a", "b", "c2"]


def test_without_a_store_the_conversation_still_works() -> None:
    session = Session()
    recorder = SessionRecorder(None, session)
    message = Message(Role.USER, "in memory only")
    recorder.add_message(message)
    message.status = MessageStatus.COMPLETE
    recorder.update_message(message)
    assert session.messages == [message]
    assert recorder.flush() and recorder.pending == 0 and recorder.last_error is None


def test_read_only_database_keeps_writes_in_memory_then_saves_them(
    store: SessionStore,
) -> None:
    """``PRAGMA query_only`` makes SQLite refuse every write exactly like a read-only file.

    (The tests run as root, where chmod cannot make a directory read-only.)
    """
    session = Session(title="keeps going")
    recorder = SessionRecorder(store, session, interval=0.0)
    recorder.add_message(Message(Role.USER, "before the disk went read-only"))

    store._conn.execute("PRAGMA query_only = 1")
    question = Message(Role.USER, "asked while read-only")
    recorder.add_message(question)
    assert recorder.last_error is not None and "readonly" in recorder.last_error
    assert str(store.db_path) in recorder.last_error
    reply = Message(Role.ASSISTANT, "", status=MessageStatus.STREAMING)
    recorder.add_message(reply)
    for word in ("still ", "answering ", "in memory."):
        reply.content += word
        recorder.update_message(reply)
    reply.status = MessageStatus.COMPLETE
    recorder.update_message(reply)
    session.title = "renamed while read-only"
    recorder.save_session()
    assert recorder.pending == 3  # the two messages and the title, each once, in order
    assert [m.content for m in session.messages][-1] == "still answering in memory."
    assert question.id is None
    assert store.count_messages(session.id) == 1

    store._conn.execute("PRAGMA query_only = 0")
    assert recorder.flush() is True
    assert recorder.pending == 0 and recorder.last_error is None
    loaded = reopen(store).load_session(session.id)
    assert loaded.title == "renamed while read-only"
    assert [(m.content, m.status) for m in loaded.messages] == [
        ("before the disk went read-only", MessageStatus.COMPLETE),
        ("asked while read-only", MessageStatus.COMPLETE),
        ("still answering in memory.", MessageStatus.COMPLETE),
    ]


def test_full_disk_keeps_writes_in_memory_then_saves_them(store: SessionStore) -> None:
    """``PRAGMA max_page_count`` at the current size gives SQLite's real "disk is full"."""
    session = Session(title="full disk")
    recorder = SessionRecorder(store, session)
    recorder.add_message(Message(Role.USER, "small"))
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")

    big = Message(Role.ASSISTANT, "long answer " * 20_000)
    recorder.add_message(big)
    assert recorder.last_error is not None and "full" in recorder.last_error
    assert recorder.pending == 1 and big.id is None
    follow_up = Message(Role.USER, "and then?")
    recorder.add_message(follow_up)  # queued behind the big one: order is kept
    assert recorder.pending == 2

    store._conn.execute("PRAGMA max_page_count = 1073741823")
    recorder.add_message(Message(Role.ASSISTANT, "space again"))
    assert recorder.pending == 0 and recorder.last_error is None
    contents = [m.content[:11] for m in store.load_session(session.id).messages]
    assert contents == ["small", "long answer", "and then?", "space again"]


def test_remove_while_writes_are_pending_drops_them(store: SessionStore) -> None:
    session = Session()
    recorder = SessionRecorder(store, session)
    recorder.add_message(Message(Role.USER, "kept"))
    store._conn.execute("PRAGMA query_only = 1")
    doomed = Message(Role.ASSISTANT, "regenerated away")
    recorder.add_message(doomed)
    recorder.remove_from(doomed)
    assert recorder.pending == 0 and recorder.last_error is None
    store._conn.execute("PRAGMA query_only = 0")
    assert recorder.flush()
    assert [m.content for m in store.load_session(session.id).messages] == ["kept"]


def test_update_of_a_message_never_added_is_a_bug_not_a_silent_drop(
    store: SessionStore,
) -> None:
    recorder = SessionRecorder(store, Session())
    with pytest.raises(ValueError):
        recorder.update_message(Message(Role.USER, "never added"))
