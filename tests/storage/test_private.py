"""Issue 13 item 6: chat history is the owner's only (directory 0700, files 0600).

Under the usual umask (022) SQLite creates ``sessions.db``, ``-wal`` and ``-shm`` 0644 and
``mkdir`` makes the data directory 0755. These tests set that umask and look at the real files.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from glm_tui.model.session import Message, Role, Session
from glm_tui.storage.last_session import remember_last_session
from glm_tui.storage.private import loose_paths, tightened_notice
from glm_tui.storage.store import SessionStore

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def fill(store: SessionStore) -> None:
    session = Session(title="private")
    session.messages = [Message(Role.USER, "secret question")]
    store.create_session(session)
    store.put_image(PNG, "png")
    remember_last_session(store.data_dir, session.id)


def test_a_new_store_is_private_from_the_start(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    store = SessionStore(data)
    try:
        fill(store)
        assert store.tightened == []  # nothing to tighten: it was made private
        live = sorted(p.name for p in data.iterdir())
        assert {"sessions.db", "sessions.db-wal", "sessions.db-shm"} <= set(live)
        assert mode(data) == 0o700
        for path in data.rglob("*"):
            expected = 0o700 if path.is_dir() else 0o600
            assert mode(path) == expected, f"{path} is {oct(mode(path))}"
    finally:
        store.close()


def test_an_old_world_readable_store_is_tightened_once_and_said(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = SessionStore(data)
    fill(store)
    store.close()
    # As an older glm-tui left it: everything readable by everyone.
    for path in [data, *data.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    (data / "sessions.db-wal").write_bytes(b"")
    os.chmod(data / "sessions.db-wal", 0o644)
    assert len(loose_paths(data)) >= 6

    store = SessionStore(data)
    try:
        tightened = set(store.tightened)
        assert {data, data / "sessions.db", data / "sessions.db-wal", data / "last_session",
                data / "images"} <= tightened
        assert any(p.suffix == ".png" for p in tightened)
        notice = tightened_notice(store.tightened, data)
        assert str(data) in notice and "sessions.db" in notice and "private" in notice
        store.create_session(Session(title="after"))  # -wal/-shm follow the database's bits
        for path in [data, *data.rglob("*")]:
            assert mode(path) & 0o077 == 0, f"{path} is {oct(mode(path))}"
    finally:
        store.close()

    again = SessionStore(data)
    try:
        assert again.tightened == []  # said once: the next start has nothing to say
    finally:
        again.close()


def test_other_files_in_a_chosen_data_dir_are_left_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    mine = data / "notes.txt"
    mine.write_text("not glm-tui's", encoding="utf-8")
    os.chmod(mine, 0o644)
    SessionStore(data).close()
    assert mode(mine) == 0o644
