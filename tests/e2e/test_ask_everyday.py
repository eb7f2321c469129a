"""``glm-tui ask`` in everyday scripts (issue 12): what a pipe gets, and what stderr says.

Real processes against the real demo server (``--demo`` or a demo server on loopback), their
standard output read as bytes, exactly as ``| od -c`` would see it.
"""

from __future__ import annotations

import os
import subprocess
import sys


def ask(*argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """``glm-tui ask ARGV`` with stdout and stderr on pipes (never a terminal)."""
    return subprocess.run([sys.executable, "-m", "glm_tui", "ask", *argv], input=stdin,
                          capture_output=True, timeout=120,
                          env=dict(os.environ, PYTHONIOENCODING="utf-8"))


# -- item 9: the output ends with a newline on a pipe ------------------------------------------


def test_a_piped_reply_ends_with_a_newline() -> None:
    result = ask("--demo", "[[demo:say=hello]]")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"hello\n"


def test_a_reply_that_ends_with_a_newline_gets_no_second_one() -> None:
    result = ask("--demo", "-", stdin=b"[[demo:say=two lines\nend\n]]")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"two lines\nend\n"


def test_an_empty_reply_prints_nothing() -> None:
    result = ask("--demo", "[[demo:say=]]")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""


def test_the_rule_is_in_the_help() -> None:
    result = ask("--help")
    assert b"newline" in result.stdout
