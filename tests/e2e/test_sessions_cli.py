"""``glm-tui sessions list|export|import|delete``: directly and as ``python -m glm_tui``."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from glm_tui.chat.export import export_json
from glm_tui.cli.sessions import run_sessions
from glm_tui.cli.sessions_args import add_sessions_parser
from glm_tui.model.session import Message, MessageStatus, Role, Session
from glm_tui.storage.store import SessionStore
from tests.storage.test_store import rich_session


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory holding two sessions: the rich one (older) and a short one (newer)."""
    data = tmp_path / "data"
    store = SessionStore(data)
    first = rich_session()
    first.id = "aaaa1111" + "0" * 24
    first.updated_at = 1000.0
    store.create_session(first)
    second = Session(id="bbbb2222" + "0" * 24, title="Second chat", updated_at=2000.0)
    second.messages = [Message(Role.USER, "hello"), Message(Role.ASSISTANT, "hi there")]
    store.create_session(second)
    store.close()
    return data


def run(data_dir: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="glm-tui")
    add_sessions_parser(parser.add_subparsers(dest="command"))
    return run_sessions(parser.parse_args(["sessions", *argv]), data_dir)


def test_list_table_and_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(data_dir, "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "UPDATED", "MSGS", "MODEL", "TITLE"]
    assert lines[1].startswith("bbbb22220000") and lines[1].endswith("Second chat")
    assert lines[2].startswith("aaaa11110000") and "Weather in 北京" in lines[2]

    assert run(data_dir, "list", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["title"] for r in rows] == ["Second chat", "Weather in 北京"]
    assert rows[0]["message_count"] == 2 and rows[0]["preview"] == "hi there"
    assert rows[1]["id"] == "aaaa1111" + "0" * 24


def test_list_of_an_empty_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path / "new", "list") == 0
    assert "No saved sessions" in capsys.readouterr().out
    assert run(tmp_path / "new", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_export_json_to_stdout_and_markdown_to_a_file(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(data_dir, "export", "aaaa", "--format", "json") == 0
    exported = json.loads(capsys.readouterr().out)
    store = SessionStore(data_dir)
    assert exported == export_json(store.load_session("aaaa1111" + "0" * 24))
    store.close()

    target = tmp_path / "chat.md"
    assert run(data_dir, "export", "bbbb", "--format", "markdown", "-o", str(target)) == 0
    assert target.read_text(encoding="utf-8").startswith("# Second chat\n")
    assert "## Assistant\n\nhi there" in target.read_text(encoding="utf-8")


def test_export_import_round_trip_as_a_copy(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "chat.json"
    assert run(data_dir, "export", "aaaa", "-o", str(target)) == 0
    assert run(data_dir, "import", str(target)) == 0
    out = capsys.readouterr().out
    assert "Imported \"Weather in 北京\" (5 messages)" in out
    store = SessionStore(data_dir)
    original = store.load_session("aaaa1111" + "0" * 24)
    new_id = out.split()[-1]
    assert new_id != original.id  # the original is still there, so the import is a copy
    imported = store.load_session(new_id)
    imported.id = original.id
    imported_ids = [m.id for m in imported.messages]
    for a, b in zip(imported.messages, original.messages, strict=True):
        a.id = b.id
    assert imported == original
    assert len(set(imported_ids)) == 5

    other = tmp_path / "other"
    assert run(other, "import", str(target)) == 0  # into an empty store: same id
    assert SessionStore(other).load_session(original.id).title == original.title


def test_import_problems_are_listed_and_nothing_is_imported(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = SessionStore(data_dir)
    data = export_json(store.load_session("bbbb2222" + "0" * 24))
    store.close()
    data["glm_tui"]["messages"][0]["role"] = "wizard"
    data["glm_tui"]["messages"][1]["status"] = "melted"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    assert run(data_dir, "import", str(bad)) == 1
    err = capsys.readouterr().err
    assert f"{bad} was not imported" in err
    assert "unknown role 'wizard'" in err and "unknown status 'melted'" in err

    not_json = tmp_path / "notes.txt"
    not_json.write_text("hello, I am not JSON", encoding="utf-8")
    assert run(data_dir, "import", str(not_json)) == 1
    assert "not JSON" in capsys.readouterr().err
    assert run(data_dir, "import", str(tmp_path / "missing.json")) == 1
    assert "cannot read" in capsys.readouterr().err
    store = SessionStore(data_dir)
    assert store.count_sessions() == 2
    store.close()


def test_delete_by_prefix_and_errors(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(data_dir, "delete", "bbbb") == 0
    assert "Deleted \"Second chat\"" in capsys.readouterr().out
    assert run(data_dir, "delete", "bbbb") == 1
    assert "No saved session id starts with 'bbbb'" in capsys.readouterr().err
    assert run(data_dir, "export", "zz") == 1
    store = SessionStore(data_dir)
    assert [s.title for s in store.list_sessions()] == ["Weather in 北京"]
    store.save_session(Session(id="aaaa9999", title="also aaaa"))
    store.close()
    assert run(data_dir, "delete", "aaaa") == 1
    assert "More than one" in capsys.readouterr().err


def test_a_damaged_database_is_named_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "sessions.db").write_bytes(b"garbage" * 100)
    assert run(data, "list") == 2
    err = capsys.readouterr().err
    assert str(data / "sessions.db") in err and "not a database" in err
    assert (data / "sessions.db").read_bytes() == b"garbage" * 100


# --- through the real command line --------------------------------------------------------


def _cli_has_sessions() -> bool:
    try:
        from glm_tui.cli import build_parser
    except ImportError:
        return False
    return "sessions" in build_parser().format_help()


needs_cli = pytest.mark.skipif(not _cli_has_sessions(),
                               reason="glm_tui/cli.py does not offer 'sessions' yet")


def glm_tui(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GLM_TUI_DATA_DIR"}
    return subprocess.run([sys.executable, "-m", "glm_tui", *argv], input=stdin,
                          capture_output=True, text=True, timeout=120, env=env)


@needs_cli
def test_command_line_list_export_import_delete(data_dir: Path, tmp_path: Path) -> None:
    listed = glm_tui("--data-dir", str(data_dir), "sessions", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["title"] for r in json.loads(listed.stdout)] == ["Second chat", "Weather in 北京"]

    exported = glm_tui("--data-dir", str(data_dir), "sessions", "export", "aaaa",
                       "--format", "json")
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["glm_tui"]["session"]["title"] == "Weather in 北京"

    fresh = tmp_path / "fresh"
    imported = glm_tui("--data-dir", str(fresh), "sessions", "import", "-",
                       stdin=exported.stdout)
    assert imported.returncode == 0, imported.stderr
    markdown = glm_tui("--data-dir", str(fresh), "sessions", "export", "aaaa1111",
                       "--format", "markdown")
    assert markdown.stdout.startswith("# Weather in 北京")

    deleted = glm_tui("--data-dir", str(fresh), "sessions", "delete", "aaaa")
    assert deleted.returncode == 0, deleted.stderr
    gone = glm_tui("--data-dir", str(fresh), "sessions", "delete", "aaaa")
    assert gone.returncode != 0 and "No saved session id starts with" in gone.stderr


@needs_cli
def test_command_line_errors_go_to_stderr(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"messages": [{"role": "robot", "content": "x"}]}', encoding="utf-8")
    result = glm_tui("--data-dir", str(tmp_path / "d"), "sessions", "import", str(bad))
    assert result.returncode != 0 and result.stdout == ""
    assert "unknown role 'robot'" in result.stderr
    listed = glm_tui("--data-dir", str(tmp_path / "d"), "sessions", "list", "--json")
    assert json.loads(listed.stdout) == []


def test_streaming_status_survives_export_as_interrupted(data_dir: Path) -> None:
    store = SessionStore(data_dir)
    session_id = store.resolve_id("bbbb")
    store.append_message(session_id, Message(Role.ASSISTANT, "cut",
                                             status=MessageStatus.STREAMING))
    exported = export_json(store.load_session(session_id))
    store.close()
    assert exported["glm_tui"]["messages"][-1]["status"] == "interrupted"


def test_export_to_a_file_is_private_and_whole(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``-o`` writes through atomic_write: a new file is 0600 and is exactly the renderer's text;
    a failed export leaves the older file as it was."""
    from glm_tui.chat.export import render
    from glm_tui.storage import files

    target = tmp_path / "chat.json"
    old_umask = os.umask(0o022)
    try:
        assert run(data_dir, "export", "aaaa", "-o", str(target)) == 0
    finally:
        os.umask(old_umask)
    assert target.stat().st_mode & 0o777 == 0o600
    store = SessionStore(data_dir)
    assert target.read_text(encoding="utf-8") == render(
        store.load_session("aaaa1111" + "0" * 24), "json")
    store.close()

    before = target.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(files.os, "fsync", disk_full)
        assert run(data_dir, "export", "bbbb", "-o", str(target)) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".chat")) == []
