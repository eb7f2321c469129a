"""Saved sessions for tests and benchmarks that need a big one in a real store."""

from __future__ import annotations

from pathlib import Path

from glm_tui.model.session import Message, Role, Session
from glm_tui.storage.store import SessionStore


def store_long_session(data_dir: Path, title: str = "2,000 messages", turns: int = 1000) -> Session:
    """Store a session of ``turns`` question/answer pairs (answers with a list and code)."""
    session = Session(title=title)
    for index in range(turns):
        session.messages.append(Message(Role.USER, content=f"Question number {index}"))
        session.messages.append(Message(
            Role.ASSISTANT,
            content=f"Answer **{index}**:\n\n- point one\n- point two\n\n```py\nx = {index}\n```",
        ))
    store = SessionStore(data_dir)
    store.create_session(session)
    store.close()
    return session
