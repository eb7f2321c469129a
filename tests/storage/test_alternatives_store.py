"""A reply's answers in the real SQLite store (migration v0005): written, rewritten when another
is chosen, read back, copied with a duplicated session."""

from __future__ import annotations

from pathlib import Path

from glm_tui.chat.alternatives import kept_answers, take_kept
from glm_tui.model.alternatives import choose
from glm_tui.model.sampling import SamplingParams
from glm_tui.model.session import MadeWith, Message, Role, Session, Timings
from glm_tui.storage.store import SessionStore


def test_answers_are_stored_switched_and_copied(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data")
    first = Message(Role.ASSISTANT, "first", reasoning="thought once", timings=Timings(1.0, 0.2),
                    made_with=MadeWith("glm-4", SamplingParams(temperature=0.7, stop=("x",))))
    reply = Message(Role.ASSISTANT, "second")
    take_kept(reply, kept_answers(first), MadeWith("glm-4-plus", SamplingParams(seed=3)))
    session = Session(messages=[Message(Role.USER, "q"), reply])
    store.create_session(session)

    loaded = store.load_session(session.id).messages[1]
    assert loaded == reply
    choose(reply, 0)
    store.update_message(reply)
    loaded = store.load_session(session.id).messages[1]
    assert (loaded.content, loaded.reasoning, loaded.alternative_position) == (
        "first", "thought once", 0)
    assert [a.content for a in loaded.alternatives] == ["second"]
    assert store.search("first")[0].message_id == reply.id  # the chosen answer is searched

    copy = store.load_session(store.duplicate_session(session.id)).messages[1]
    assert copy.alternatives == loaded.alternatives and copy.made_with == loaded.made_with
    store.close()


def test_replies_without_answers_store_nothing_extra(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data")
    session = Session(messages=[Message(Role.USER, "q"), Message(Role.ASSISTANT, "a")])
    store.create_session(session)
    row = store._conn.execute(
        "SELECT made_with, alternatives FROM messages WHERE role = 'assistant'").fetchone()
    assert row == (None, None)
    store.close()
