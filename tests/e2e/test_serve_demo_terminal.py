"""``glm-tui serve-demo`` on a terminal: its access log quotes request paths a client chose."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

from tests.support.hostile import ESC, terminal_escapes


def read_until(master: int, received: bytearray, pattern: bytes, timeout: float = 60) -> None:
    """Read the pty into ``received`` until ``pattern`` shows up (or fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, received):
        left = deadline - time.monotonic()
        assert left > 0, f"no {pattern!r} in {bytes(received)[-500:]!r}"
        ready, _, _ = select.select([master], [], [], min(left, 1.0))
        if ready:
            try:
                received += os.read(master, 1 << 16)
            except OSError:
                break


def test_a_hostile_request_path_is_logged_visibly() -> None:
    master, slave = os.openpty()
    server = subprocess.Popen(
        [sys.executable, "-m", "glm_tui", "serve-demo", "--port", "0"],
        stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
        env=dict(os.environ, PYTHONIOENCODING="utf-8"),
    )
    os.close(slave)
    received = bytearray()
    try:
        read_until(master, received, rb"at http://127\.0\.0\.1:(\d+)")
        match = re.search(rb"127\.0\.0\.1:(\d+)", received)
        assert match is not None
        hostile_path = f"/v1/{ESC}]52;c;cHduZWQ=\x07{ESC}[2J\x9b31m\u202e".encode()
        with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=30) as client:
            client.sendall(b"GET " + hostile_path + b" HTTP/1.1\r\nHost: x\r\n"
                           b"Connection: close\r\n\r\n")
            while client.recv(65536):
                pass
        read_until(master, received, rb"-> \d{3}")
        server.send_signal(signal.SIGINT)
        read_until(master, received, rb"stopped")
    finally:
        server.kill()
        server.wait(timeout=30)
        os.close(master)
    assert not terminal_escapes(bytes(received)), terminal_escapes(bytes(received))
    assert b"\\x1b]52;c;" in received  # shown, quoted
