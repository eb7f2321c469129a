"""Issue 13 items 6, 11 and 12 through the real command line (``python -m glm_tui sessions``).

Item 12: ``sessions list`` and ``sessions export`` only read, so the data directory is
byte-identical afterwards (names, sizes, mtimes, modes, hashes), whatever state it is in. Before
the fix ``sessions list`` deleted a garbage ``-wal`` and created a 0-byte ``sessions.db``.
Item 11: a database damaged inside is salvaged by ``export``, which says what was lost.
Item 6: a command that writes makes old world-readable history private and says so, once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from glm_tui.model.session import Message, Role, Session
from glm_tui.storage.store import SessionStore
from tests.support.damage import damaged_store, snapshot

GARBAGE_WAL = b"not a write-ahead log, just bytes\n" * 300


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def glm_tui(data: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GLM_TUI_DATA_DIR"}
    return subprocess.run([sys.executable, "-m", "glm_tui", "--data-dir", str(data), *argv],
                          capture_output=True, text=True, timeout=120, env=env)


def saved(data: Path, title: str = "Kept chat") -> Session:
    session = Session(title=title)
    session.messages = [Message(Role.USER, "question"), Message(Role.ASSISTANT, "answer")]
    store = SessionStore(data)
    store.create_session(session)
    store.close()
    return session


def read_only_commands(session_id: str | None) -> list[list[str]]:
    commands = [["sessions", "list"], ["sessions", "list", "--json"]]
    if session_id is not None:
        commands += [["sessions", "export", session_id[:8]],
                     ["sessions", "export", session_id[:8], "--format", "markdown"]]
    return commands


def assert_untouched(data: Path, session_id: str | None) -> list[subprocess.CompletedProcess[str]]:
    """Run every read-only command; the directory must not change by one byte or bit."""
    before = snapshot(data.parent)
    results = []
    for argv in read_only_commands(session_id):
        result = glm_tui(data, *argv)
        assert snapshot(data.parent) == before, f"{argv} changed the data directory"
        results.append(result)
    return results


def test_read_only_commands_leave_a_closed_store_as_it_was(tmp_path: Path) -> None:
    data = tmp_path / "data"
    session = saved(data)
    listed, as_json, exported, markdown = assert_untouched(data, session.id)
    assert listed.returncode == 0 and "Kept chat" in listed.stdout, listed.stderr
    assert [r["title"] for r in json.loads(as_json.stdout)] == ["Kept chat"]
    assert exported.returncode == 0
    assert json.loads(exported.stdout)["glm_tui"]["session"]["id"] == session.id
    assert markdown.returncode == 0 and "answer" in markdown.stdout


def test_a_garbage_wal_beside_a_store_is_neither_read_nor_deleted(tmp_path: Path) -> None:
    data = tmp_path / "data"
    session = saved(data)
    (data / "sessions.db-wal").write_bytes(GARBAGE_WAL)
    results = assert_untouched(data, session.id)
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert "Kept chat" in results[0].stdout
    assert (data / "sessions.db-wal").read_bytes() == GARBAGE_WAL


@pytest.mark.parametrize("database", ["missing", "empty"])
def test_a_garbage_wal_without_a_database_means_no_sessions(tmp_path: Path,
                                                            database: str) -> None:
    """The issue's reproduction: before, 'sessions list' deleted the -wal and made the db."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "sessions.db-wal").write_bytes(GARBAGE_WAL)
    if database == "empty":
        (data / "sessions.db").write_bytes(b"")
    listed, as_json = assert_untouched(data, None)
    assert listed.returncode == 0 and "No saved sessions" in listed.stdout, listed.stderr
    assert json.loads(as_json.stdout) == []
    export = glm_tui(data, "sessions", "export", "abcd")
    assert export.returncode == 1 and "no saved sessions" in export.stderr
    assert sorted(p.name for p in data.iterdir()) == (
        ["sessions.db-wal"] if database == "missing" else ["sessions.db", "sessions.db-wal"])


def test_no_data_directory_is_created_by_reading(tmp_path: Path) -> None:
    data = tmp_path / "never" / "made"
    listed = glm_tui(data, "sessions", "list")
    assert listed.returncode == 0 and "No saved sessions" in listed.stdout
    assert not (tmp_path / "never").exists()


def test_a_killed_glm_tuis_log_is_read_without_touching_it(tmp_path: Path) -> None:
    """Saved only in the -wal (the writer was killed before any checkpoint): still listed."""
    data = tmp_path / "data"
    saved(data, "Checkpointed chat")
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from glm_tui.model.session import Session\n"
        "from glm_tui.storage.store import SessionStore\n"
        "SessionStore(Path(sys.argv[1])).create_session(Session(title='Only in the log'))\n"
        "os._exit(0)\n"  # no close, no checkpoint: as after SIGKILL
    )
    subprocess.run([sys.executable, "-c", script, str(data)], check=True, timeout=60)
    assert (data / "sessions.db-wal").stat().st_size > 0
    listed, *_ = assert_untouched(data, None)
    assert "Only in the log" in listed.stdout and "Checkpointed chat" in listed.stdout


def test_reading_an_old_world_readable_store_only_says_so(tmp_path: Path) -> None:
    data = tmp_path / "data"
    saved(data)
    for path in (data, data / "sessions.db"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    listed, *_ = assert_untouched(data, None)
    assert "readable by other users" in listed.stderr and "sessions.db" in listed.stderr


def test_a_writing_command_makes_old_history_private_and_says_so_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    session = saved(data)
    for path in (data, data / "sessions.db"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    export = tmp_path / "chat.json"
    assert glm_tui(data, "sessions", "export", session.id, "-o", str(export)).returncode == 0
    assert export.stat().st_mode & 0o777 == 0o600

    first = glm_tui(data, "sessions", "import", str(export))
    assert first.returncode == 0, first.stderr
    assert "made it private" in first.stderr and "the data directory" in first.stderr
    assert "sessions.db" in first.stderr
    assert data.stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o077 == 0 for p in data.iterdir())

    second = glm_tui(data, "sessions", "import", str(export))
    assert second.returncode == 0 and "private" not in second.stderr


def test_export_salvages_a_session_damaged_inside(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _before, damaged, after = damaged_store(data)
    untouched = snapshot(data)

    exported = glm_tui(data, "sessions", "export", damaged.id[:10])
    assert exported.returncode == 2
    messages = json.loads(exported.stdout)["glm_tui"]["messages"]
    originals = [m.content for m in damaged.messages]
    assert 0 < len(messages) < len(originals)
    assert all(m["content"] in originals for m in messages)
    lost = len(originals) - len(messages)
    assert f"{lost} messages (number " in exported.stderr and "damaged" in exported.stderr
    assert f"the {len(messages)} readable messages were exported" in exported.stderr

    intact = glm_tui(data, "sessions", "export", after.id[:10], "--format", "markdown")
    assert intact.returncode == 0 and "later question" in intact.stdout

    listed = glm_tui(data, "sessions", "list")
    assert "Damaged chat" in listed.stdout and "After the damage" in listed.stdout
    assert snapshot(data) == untouched

    refused = glm_tui(data, "sessions", "delete", after.id[:10])
    assert refused.returncode == 2 and "damaged inside" in refused.stderr
    assert "sessions export ID -o FILE" in refused.stderr
