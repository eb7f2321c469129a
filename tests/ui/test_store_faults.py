"""A data directory that cannot be opened at start: the app says so, chats on, saves later.

We run as root, so permissions do not stop writes; the fault is a real one instead: the data
directory's path is an existing regular file, so the store cannot create its directory (the
same ``StoreWriteError`` a read-only or full disk gives). The test then replaces the file by a
directory, as a user fixing the problem would, and a fresh :class:`SessionStore` must show the
conversation with every message typed and received before and after the fix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import glm_tui.ui.store_keeper as store_keeper
from glm_tui.model.session import Message, MessageStatus, Role, Session
from glm_tui.storage.recorder import SessionRecorder
from glm_tui.storage.store import SessionStore
from tests.support.toasts import ToastLog
from tests.ui.conftest import ask, make_app, ready, wait_for


def block_data_dir(data_dir: Path) -> None:
    """Make ``data_dir`` a regular file: creating the database in it fails like a bad disk."""
    data_dir.rmdir()
    data_dir.write_text("not a directory\n", encoding="utf-8")


def unblock_data_dir(data_dir: Path) -> None:
    data_dir.unlink()
    data_dir.mkdir()


def stored_turns(data_dir: Path, session_id: str) -> list[tuple[Role, str, MessageStatus]]:
    store = SessionStore(data_dir)
    try:
        if not store.has_session(session_id):
            return []
        session = store.load_session(session_id)
        return [(m.role, m.content, m.status) for m in session.messages]
    finally:
        store.close()


async def test_unwritable_data_dir_keeps_chatting_and_saves_once_fixed(
    glm4_server: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store_keeper, "STORE_RETRY_S", 0.2)
    block_data_dir(data_dir)
    app = make_app(glm4_server)
    # Toasts expire after a few seconds, which a loaded machine can take between raising one and
    # looking: keep a record of every one instead of reading the live ones.
    toasts = ToastLog(app)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot)
        assert app.store is None
        assert any("Sessions are not saved" in toast.title and str(data_dir) in toast.message
                   for toast in toasts.toasts), toasts.toasts

        reply = await ask(pilot, "first question while the disk refuses")
        assert reply.status is MessageStatus.COMPLETE and reply.content
        assert data_dir.is_file(), "nothing may be written while the directory is broken"

        unblock_data_dir(data_dir)
        await wait_for(pilot, lambda: screen.recorder.store is not None, timeout=30,
                       what="the store to be reopened by the retry timer")
        assert toasts.any_mentions("saved again"), toasts.toasts

        expected = [(m.role, m.content, m.status) for m in screen.session.messages]
        assert [r for r, _, _ in expected] == [Role.USER, Role.ASSISTANT]
        assert stored_turns(data_dir, screen.session.id) == expected

        second = await ask(pilot, "second question after the fix")
        assert second.status is MessageStatus.COMPLETE
        expected = [(m.role, m.content, m.status) for m in screen.session.messages]
        assert len(expected) == 4
        assert stored_turns(data_dir, screen.session.id) == expected


async def test_first_write_after_the_fix_saves_without_waiting_for_the_timer(
    glm4_server: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each write tries the store too: the timer is set to an hour and is never needed."""
    monkeypatch.setattr(store_keeper, "STORE_RETRY_S", 3600.0)
    block_data_dir(data_dir)
    app = make_app(glm4_server)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot)
        await ask(pilot, "said in memory only")
        assert app.store is None and data_dir.is_file()

        unblock_data_dir(data_dir)
        await ask(pilot, "said after the fix")
        assert app.store is not None and screen.recorder.store is app.store
        stored = stored_turns(data_dir, screen.session.id)
        assert [c for r, c, _ in stored if r is Role.USER] == [
            "said in memory only", "said after the fix"]
        assert stored == [(m.role, m.content, m.status) for m in screen.session.messages]
        assert all(s is MessageStatus.COMPLETE for _, _, s in stored)


async def test_still_broken_directory_keeps_the_conversation_in_memory(
    glm4_server: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Retries that keep failing change nothing on screen and never lose a message."""
    monkeypatch.setattr(store_keeper, "STORE_RETRY_S", 0.05)
    retries: list[None] = []
    retry = store_keeper.StoreKeeper.retry

    def counted_retry(self: store_keeper.StoreKeeper) -> None:
        retries.append(retry(self))

    monkeypatch.setattr(store_keeper.StoreKeeper, "retry", counted_retry)
    block_data_dir(data_dir)
    app = make_app(glm4_server)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot)
        await ask(pilot, "one")
        seen = len(retries)
        await wait_for(pilot, lambda: len(retries) >= seen + 3, what="several failed retries")
        await ask(pilot, "two")
        assert app.store is None and screen.recorder.store is None
        assert [m.content for m in screen.session.messages if m.role is Role.USER] == [
            "one", "two"]
        assert data_dir.read_text(encoding="utf-8") == "not a directory\n"


def test_attach_replays_a_session_begun_without_a_store(data_dir: Path) -> None:
    """The recorder's side: what happened while detached is written in order, as it is now."""
    session = Session(title="detached")
    recorder = SessionRecorder(None, session)
    recorder.add_message(Message(Role.USER, "kept"))
    dropped = Message(Role.USER, "regretted")
    recorder.add_message(dropped)
    recorder.remove_from(dropped)
    recorder.add_message(Message(Role.USER, "asked"))
    reply = Message(Role.ASSISTANT, "half", status=MessageStatus.STREAMING)
    recorder.add_message(reply)
    assert recorder.update_message(reply) is False  # nowhere to write yet

    store = SessionStore(data_dir)
    try:
        assert recorder.attach(store) is True
        reply.content += " and the rest"
        reply.status = MessageStatus.COMPLETE
        assert recorder.update_message(reply) is True
        stored = store.load_session(session.id)
        assert [(m.role, m.content, m.status) for m in stored.messages] == [
            (Role.USER, "kept", MessageStatus.COMPLETE),
            (Role.USER, "asked", MessageStatus.COMPLETE),
            (Role.ASSISTANT, "half and the rest", MessageStatus.COMPLETE),
        ]
    finally:
        store.close()
