"""The command line as a person meets it: help, version, and what a broken config file does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest

from glm_tui import __version__
from glm_tui.cli import RESUME_LATEST, main
from glm_tui.settings.config import Settings
from tests.settings.test_config import BROKEN


def glm_tui(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "glm_tui", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        env=dict(os.environ, PYTHONIOENCODING="utf-8"),
    )


def test_help_is_fast_and_loads_neither_textual_nor_openai() -> None:
    code = (
        "import contextlib, io, json, sys\n"
        "from glm_tui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    status = main(['--help'])\n"
        "heavy = [m for m in ('textual', 'openai', 'httpx', 'PIL') if m in sys.modules]\n"
        "print(json.dumps({'status': status, 'heavy': heavy, 'help': out.getvalue()}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    report = json.loads(result.stdout)
    assert report["status"] == 0
    assert report["heavy"] == []
    for word in ("serve-demo", "ask", "--demo", "--config", "--data-dir", "--resume"):
        assert word in report["help"]
    started = time.monotonic()
    timed = glm_tui("--help")
    elapsed = time.monotonic() - started
    assert timed.returncode == 0
    assert elapsed < 2.0, f"glm-tui --help took {elapsed:.2f} s"


def test_version() -> None:
    result = glm_tui("--version")
    assert (result.returncode, result.stdout) == (0, f"glm-tui {__version__}\n")
    assert __version__ == "0.1.0"


@pytest.mark.parametrize(("text", "line", "key", "words"),
                         [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_a_broken_config_exits_2_naming_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str | None, words: str
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    before = bad.read_bytes(), bad.stat().st_mtime_ns
    result = glm_tui("--config", str(bad))
    assert result.returncode == 2
    assert result.stdout == ""
    where = f"{bad}, line {line}" + (f", key {key}" if key else "")
    assert result.stderr.startswith(f"glm-tui: error: {where}: ")
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert (bad.read_bytes(), bad.stat().st_mtime_ns) == before


@pytest.mark.parametrize("placement", ["before", "after"])
def test_ask_refuses_a_broken_config_too(tmp_path: Path, placement: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[servers.local]\nkind = "glm5"\n', encoding="utf-8")
    args = (["--config", str(bad), "ask", "hi"] if placement == "before"
            else ["ask", "--config", str(bad), "hi"])
    result = glm_tui(*args)
    assert result.returncode == 2
    assert f"{bad}, line 2, key servers.local.kind: 'glm5'" in result.stderr


def test_the_app_and_ask_word_a_broken_config_identically(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('read_timeout = 0\n', encoding="utf-8")
    assert main(["--config", str(bad)]) == 2
    from_app = capsys.readouterr()
    assert main(["ask", "--config", str(bad), "hi"]) == 2
    from_ask = capsys.readouterr()
    assert from_app.err == from_ask.err
    assert from_app.err.startswith(f"glm-tui: error: {bad}, line 1, key read_timeout: ")
    assert from_app.err.count("\n") == 1 and from_app.out == from_ask.out == ""


def test_the_config_file_can_come_from_the_environment(config_path: Path) -> None:
    config_path.write_text('server = "missing"\n', encoding="utf-8")
    result = glm_tui()  # GLM_TUI_CONFIG points at config_path (tests/conftest.py)
    assert result.returncode == 2
    assert f"{config_path}, line 1, key server: no server profile named 'missing'" in result.stderr


def test_an_unknown_server_profile_flag_exits_2() -> None:
    result = glm_tui("--server", "nowhere")
    assert result.returncode == 2
    assert "--server 'nowhere'" in result.stderr
    assert "known: default" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["serve-demo", "--port", "70000"],
        ["serve-demo", "--flavor", "claude"],
        ["serve-demo", "--token-rate", "0"],
        ["no-such-command"],
        ["--no-such-flag"],
        ["ask"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = glm_tui(*args)
    assert result.returncode == 2
    assert "usage: glm-tui" in result.stderr


class RecordedRun:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, settings: Settings, *, demo: bool, resume: str | None,
                 demo_model: str | None = None) -> int:
        self.calls.append({"settings": settings, "demo": demo, "resume": resume,
                           "demo_model": demo_model})
        return 0


@pytest.fixture
def recorded_app(monkeypatch: pytest.MonkeyPatch) -> RecordedRun:
    """Stands in for the Textual app so that the hand-over from the command line can be seen."""
    run = RecordedRun()
    monkeypatch.setitem(sys.modules, "glm_tui.ui.app", types.SimpleNamespace(run_app=run))
    return run


def test_the_default_command_hands_settings_to_the_app(
    recorded_app: RecordedRun, config_path: Path, data_dir: Path
) -> None:
    config_path.write_text('[servers.local]\nmodel = "glm-4-9b"\nkind = "glm4"\n',
                           encoding="utf-8")
    assert main(["--server", "local", "--model", "m2", "--resume", "abc123"]) == 0
    (call,) = recorded_app.calls
    settings: Settings = call["settings"]
    assert (call["demo"], call["resume"]) == (False, "abc123")
    assert (settings.server, settings.profile.model) == ("local", "m2")
    assert (settings.config_path, settings.data_dir) == (config_path, data_dir)


def test_demo_and_resume_without_an_id(recorded_app: RecordedRun, tmp_path: Path) -> None:
    assert main(["--demo", "--resume", "--data-dir", str(tmp_path / "d")]) == 0
    (call,) = recorded_app.calls
    assert (call["demo"], call["resume"]) == (True, RESUME_LATEST)
    assert call["settings"].data_dir == tmp_path / "d"


def test_no_resume_by_default(recorded_app: RecordedRun) -> None:
    assert main([]) == 0
    assert recorded_app.calls[0]["resume"] is None


def test_sessions_use_the_data_dir_even_when_the_config_is_broken(tmp_path: Path) -> None:
    """Stored chats stay reachable (list, export) while the person fixes their config file."""
    bad = tmp_path / "bad.toml"
    bad.write_text('stream = "yes"\n', encoding="utf-8")
    data = tmp_path / "data"
    from glm_tui.model.session import Session
    from glm_tui.storage.store import SessionStore

    store = SessionStore(data)
    store.create_session(Session(title="In the chosen data dir"))
    store.close()
    result = glm_tui("--config", str(bad), "--data-dir", str(data), "sessions", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert [row["title"] for row in json.loads(result.stdout)] == ["In the chosen data dir"]
