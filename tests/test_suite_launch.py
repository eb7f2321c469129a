"""The suite holds however it is started: here, from a shell that ignores Ctrl+C."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ctrl_c_tests_pass_when_the_suite_starts_with_sigint_ignored() -> None:
    """A background job of a non-interactive shell (``pytest &``) starts with SIGINT ignored;
    the glm-tui processes the tests start used to inherit that and never stopped on Ctrl+C."""
    def ignore_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    finished = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/demo/test_demo_server.py::test_run_demo_server_prints_its_url_and_stops_on_ctrl_c"],
        cwd=ROOT, capture_output=True, text=True, timeout=110, preexec_fn=ignore_sigint,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout[-2000:]
