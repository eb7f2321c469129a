"""Drafts in the real SQLite store (migration v0004): kept per session, never reordering the
sessions list, gone with their session."""

from __future__ import annotations

from pathlib import Path

import pytest

from glm_tui.model.session import Message, Role, Session
from glm_tui.storage.store import SessionStore, StoreError


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "data")


def test_a_draft_is_kept_replaced_and_removed_when_empty(store: SessionStore) -> None:
    session = Session(title="kept", messages=[Message(Role.USER, "hello")])
    store.create_session(session)
    assert store.load_draft(session.id) == ""
    store.save_draft(session.id, "first words")
    store.save_draft(session.id, "first words, then more 中文")
    assert store.load_draft(session.id) == "first words, then more 中文"
    store.save_draft(session.id, "  \n ")
    assert store.load_draft(session.id) == ""
    store.close()


def test_saving_a_draft_leaves_the_sessions_list_order_alone(store: SessionStore) -> None:
    older = Session(title="older", updated_at=100.0)
    newer = Session(title="newer", updated_at=200.0)
    store.create_sessions([older, newer])
    store.save_draft(older.id, "typed in the older one")
    assert [s.title for s in store.list_sessions()] == ["newer", "older"]
    store.close()


def test_a_draft_goes_with_its_session_and_needs_one(store: SessionStore) -> None:
    session = Session(title="doomed")
    store.create_session(session)
    store.save_draft(session.id, "never sent")
    store.delete_session(session.id)
    assert store.load_draft(session.id) == ""
    with pytest.raises(StoreError, match="no saved session"):
        store.save_draft("not-a-session", "words")
    store.close()


def test_drafts_survive_reopening_the_file(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data")
    session = Session(title="reopened")
    store.create_session(session)
    store.save_draft(session.id, "still here")
    store.close()
    again = SessionStore(tmp_path / "data")
    assert again.load_draft(session.id) == "still here"
    again.close()
