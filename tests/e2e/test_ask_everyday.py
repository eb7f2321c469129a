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


# -- item 7: a reply cut by max_tokens is said, with a status of its own -----------------------


def test_a_reply_cut_by_max_tokens_says_so_and_exits_3() -> None:
    result = ask("--demo", "--max-tokens", "5", "Tell me all about green tea")
    assert result.returncode == 3, result.stderr
    assert result.stdout and result.stdout.endswith(b"\n")  # the text that came, as a line
    said = result.stderr.decode()
    assert "cut short" in said and "max_tokens" in said and "5" in said
    assert "--max-tokens" in said  # what raises it


def test_a_reply_within_max_tokens_exits_0_quietly() -> None:
    result = ask("--demo", "--max-tokens", "500", "Tell me all about green tea")
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""


def test_exit_status_3_is_documented() -> None:
    assert b"3" in ask("--help").stdout and b"max_tokens" in ask("--help").stdout
