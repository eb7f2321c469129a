"""The full-screen app needs a terminal; without one it says so and exits 2 (issue 12 item 10).

Started from a script, a cron job or with its output piped, the app used to draw escape codes
into the pipe at full CPU until killed. These run the real command with pipes, and with a real
pseudo-terminal on one side only.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

TIMEOUT_S = 60.0  # before the fix the app never ended by itself: the test fails on the timeout


def run_app(*argv: str, stdin: int | None = subprocess.DEVNULL,
            stdout: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "glm_tui", *argv], stdin=stdin, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, encoding="utf-8",
                          timeout=TIMEOUT_S, env=dict(os.environ, PYTHONIOENCODING="utf-8"))


def assert_refused(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 2, result.stderr
    assert "needs a terminal" in result.stderr
    assert "glm-tui ask" in result.stderr  # where to go instead
    assert "\x1b" not in (result.stdout or "")  # nothing was drawn into the pipe


def test_without_any_terminal_the_app_refuses_to_start() -> None:
    assert_refused(run_app("--resume", "zzzz"))


def test_with_the_output_piped_the_app_refuses_to_start() -> None:
    master, slave = os.openpty()
    try:
        result = run_app("--demo", stdin=slave)  # a terminal to read from, a pipe to draw in
    finally:
        os.close(slave)
        os.close(master)
    assert_refused(result)
    assert "standard output" in result.stderr


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["sessions", "list"]])
def test_commands_without_the_app_still_work_on_pipes(argv: list[str]) -> None:
    assert run_app(*argv).returncode == 0
