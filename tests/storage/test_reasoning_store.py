"""Reasoning in the store: kept with its message, back on resume, searchable, saved as it grows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from glm_tui.model.session import Message, MessageStatus, Role, Session, Usage
from glm_tui.storage.recorder import SessionRecorder
from glm_tui.storage.store import SNIPPET_START, SessionStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SessionStore]:
    s = SessionStore(tmp_path / "data")
    yield s
    s.close()


def thinking_session() -> Session:
    session = Session(title="Colours")
    session.messages = [
        Message(Role.USER, "Which colour is the sky?"),
        Message(Role.ASSISTANT, "Blue.", reasoning="Rayleigh scattering favours short waves.",
                reasoning_seconds=2.5, usage=Usage(4, 30, reasoning_tokens=26)),
    ]
    return session


def test_reasoning_comes_back_on_resume(store: SessionStore) -> None:
    session = thinking_session()
    store.create_session(session)
    again = SessionStore(store.data_dir)
    try:
        reply = again.load_session(session.id).messages[1]
    finally:
        again.close()
    assert (reply.content, reply.reasoning, reply.reasoning_seconds) == (
        "Blue.", "Rayleigh scattering favours short waves.", 2.5)
    assert reply.usage == Usage(4, 30, reasoning_tokens=26)


def test_a_word_only_in_the_reasoning_is_found_and_the_hit_says_so(store: SessionStore) -> None:
    session = thinking_session()
    store.create_session(session)
    reply_id = session.messages[1].id
    [hit] = store.search("rayleigh")
    assert (hit.message_id, hit.in_reasoning) == (reply_id, True)
    assert f"{SNIPPET_START}Rayleigh" in hit.snippet
    # Words in the answer are answer hits; a short word (no index) finds the reasoning too.
    [answer] = store.search("blue")
    assert (answer.message_id, answer.in_reasoning) == (reply_id, False)
    assert [(h.message_id, h.in_reasoning) for h in store.search("ra")] == [(reply_id, True)]


def test_changed_or_deleted_reasoning_leaves_the_index(store: SessionStore) -> None:
    session = thinking_session()
    store.create_session(session)
    reply = session.messages[1]
    reply.reasoning = "Something about oxygen molecules."
    store.update_message(reply)
    assert store.search("rayleigh") == []
    assert [h.in_reasoning for h in store.search("oxygen")] == [True]
    copy = store.duplicate_session(session.id)
    assert len(store.search("oxygen")) == 2
    store.delete_session(copy)
    store.delete_session(session.id)
    assert store.search("oxygen") == []


def test_a_cancelled_reply_keeps_the_reasoning_saved_while_it_grew(store: SessionStore) -> None:
    session = Session()
    recorder = SessionRecorder(store, session, interval=60.0)
    recorder.add_message(Message(Role.USER, "q"))
    reply = Message(Role.ASSISTANT, "", status=MessageStatus.STREAMING)
    recorder.add_message(reply)
    reply.reasoning = "First I consider"
    assert recorder.update_message(reply, force=True)  # the turn's autosave cadence
    assert store.load_session(session.id).messages[1].reasoning == "First I consider"
    reply.reasoning += " the options."
    reply.status = MessageStatus.CANCELLED
    assert recorder.update_message(reply)
    stored = store.load_session(session.id).messages[1]
    assert (stored.status, stored.content, stored.reasoning) == (
        MessageStatus.CANCELLED, "", "First I consider the options.")
