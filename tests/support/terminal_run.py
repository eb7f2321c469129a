"""Run ``glm-tui`` with its stdout and stderr on a real pseudo-terminal, and read what it drew.

``isatty()`` is what decides whether the CLI makes outside text visible-safe, so a test of that
must give the process a real terminal: a pty pair from ``os.openpty()``, the slave as the child's
stdout and stderr, everything read from the master until the child's end closes. stdin is a pipe
(fed from a thread, so a large question cannot block against unread output).
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class TerminalRun:
    """What a command wrote to the terminal (stdout and stderr interleaved), and its status."""

    returncode: int
    output: bytes

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", errors="replace")


def run_on_pty(*argv: str, stdin: str = "", timeout: float = 120.0) -> TerminalRun:
    """Run ``python -m glm_tui ARGV`` on a pty; returns once the process ended and all is read."""
    master, slave = os.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "glm_tui", *argv],
            stdin=subprocess.PIPE, stdout=slave, stderr=slave,
            env=dict(os.environ, PYTHONIOENCODING="utf-8", TERM="xterm-256color"),
        )
    finally:
        os.close(slave)  # the child holds its own copy; EIO on read then means it closed
    feeder = threading.Thread(target=_feed, args=(process, stdin.encode("utf-8")), daemon=True)
    feeder.start()
    received = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                process.kill()
                raise TimeoutError(f"glm-tui {' '.join(argv)[:80]} still running after {timeout}s")
            ready, _, _ = select.select([master], [], [], min(left, 1.0))
            if not ready:
                continue
            try:
                data = os.read(master, 1 << 16)
            except OSError:  # EIO: every writer of the slave is gone
                break
            if not data:
                break
            received += data
        returncode = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        feeder.join(timeout=5)
    return TerminalRun(returncode, bytes(received))


def _feed(process: subprocess.Popen[bytes], data: bytes) -> None:
    assert process.stdin is not None
    try:
        process.stdin.write(data)
        process.stdin.close()
    except (BrokenPipeError, OSError):
        pass  # the command did not read its stdin; nothing to feed
