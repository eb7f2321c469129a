"""The real app, killed with SIGKILL mid-reply, loses nothing that was flushed.

``python -m glm_tui`` runs in a pseudo-terminal, exactly as a person starts it, against a
``glm-tui serve-demo`` process streaming slowly. Keys are written to the terminal; the store is
watched through a second :class:`SessionStore` (another process's view, as after a restart).
Once a partial reply is stored the app is killed with SIGKILL: the store must hold every
message sent before and the reply up to (at least) the text seen stored, marked interrupted; and
``glm-tui --resume`` must show that reply marked interrupted on screen.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from glm_tui.model.session import MessageStatus, Role, Session
from glm_tui.storage.store import INTERRUPTED_ERROR, SessionStore
from tests.support.waiting import wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pty and SIGKILL are POSIX")

WAIT_S = 30.0
ROWS, COLS = 50, 120


class TerminalApp:
    """``python -m glm_tui`` in a pseudo-terminal; everything it draws is kept for the test."""

    def __init__(self, *args: str) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(COLS),
               "LINES": str(ROWS)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "glm_tui", *args],
            stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
        )
        os.close(slave)
        self._master = master
        self._output = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 65536)
            except OSError:  # the child is gone (EIO) or the fd was closed
                return
            if not chunk:
                return
            with self._lock:
                self._output += chunk

    @property
    def output(self) -> str:
        with self._lock:
            return self._output.decode("utf-8", errors="replace")

    def mark(self) -> int:
        """The current end of the output, to look only at what is drawn after it."""
        with self._lock:
            return len(self._output)

    def shows(self, text: str, since: int = 0) -> bool:
        with self._lock:
            return text.encode() in self._output[since:]

    def type(self, keys: str) -> None:
        os.write(self._master, keys.encode())

    def wait_drawn(self, text: str, since: int = 0, timeout: float = WAIT_S) -> None:
        wait_until(lambda: self.shows(text, since), what=f"{text!r} on the screen",
                   timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=WAIT_S)

    def close(self) -> None:
        self.kill()
        self._reader.join(timeout=5)
        os.close(self._master)


def start_demo_server(token_rate: float) -> tuple[subprocess.Popen[str], str]:
    """``glm-tui serve-demo`` on a free loopback port; returns the process and its base URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", "glm_tui", "serve-demo", "--port", "0",
         "--token-rate", str(token_rate)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    assert server.stderr is not None
    deadline = time.monotonic() + WAIT_S
    for line in server.stderr:
        found = re.search(r"at (http://127\.0\.0\.1:\d+\S*)", line)
        if found:
            # Keep draining its access log so the server never blocks on a full pipe.
            threading.Thread(target=server.stderr.read, daemon=True).start()
            return server, found.group(1)
        if time.monotonic() > deadline:
            break
    server.kill()
    raise AssertionError("the demo server did not say where it listens")


@pytest.fixture
def slow_server(config_path: Path) -> Iterator[str]:
    """A demo server at 50 tokens/s, made the active profile in the test's config file."""
    server, url = start_demo_server(50.0)
    config_path.write_text(
        f'server = "local"\n\n[servers.local]\nbase_url = "{url}"\nkind = "glm4"\n',
        encoding="utf-8",
    )
    try:
        yield url
    finally:
        server.kill()
        server.wait(timeout=WAIT_S)


@pytest.fixture
def terminals() -> Iterator[Callable[..., TerminalApp]]:
    """Start app processes in terminals; every one is killed at the end of the test."""
    started: list[TerminalApp] = []

    def start(*args: str) -> TerminalApp:
        started.append(TerminalApp(*args))
        return started[-1]

    yield start
    for app in started:
        app.close()


def stored_sessions(data_dir: Path) -> list[Session]:
    """Every saved session, read the way another glm-tui process reads them."""
    if not (data_dir / "sessions.db").exists():
        return []
    store = SessionStore(data_dir)
    try:
        return [store.load_session(s.id) for s in store.list_sessions()]
    finally:
        store.close()


def ask_in_terminal(app: TerminalApp, text: str) -> None:
    app.type(text)
    app.type("\r")


def test_sigkill_of_the_real_app_mid_reply_keeps_every_flushed_word(
    slow_server: str, data_dir: Path, terminals: Callable[..., TerminalApp],
) -> None:
    first = terminals()
    first.wait_drawn("Sessions")  # the footer: the conversation screen is up

    ask_in_terminal(first, "warm-up [[demo:rate=0]] [[demo:say=ready and waiting]]")

    def warm_up_stored() -> Session | None:
        sessions = stored_sessions(data_dir)
        if sessions and [m.status for m in sessions[0].messages] == [
                MessageStatus.COMPLETE, MessageStatus.COMPLETE]:
            return sessions[0]
        return None

    wait_until(warm_up_stored, what="the first turn to be stored complete")

    question = "tell me everything [[demo:size=20000]]"
    ask_in_terminal(first, question)

    def partial_reply() -> str | None:
        sessions = stored_sessions(data_dir)
        messages = sessions[0].messages if sessions else []
        if len(messages) == 4 and len(messages[3].content) >= 40:
            return messages[3].content
        return None

    seen = wait_until(partial_reply, what="a partial reply in the store")
    first.kill()

    [session] = stored_sessions(data_dir)
    user_texts = [m.content for m in session.messages if m.role is Role.USER]
    assert user_texts == ["warm-up [[demo:rate=0]] [[demo:say=ready and waiting]]", question]
    assert session.messages[1].content == "ready and waiting"
    reply = session.messages[3]
    assert reply.role is Role.ASSISTANT
    assert reply.content.startswith(seen), "the store lost text it had already written"
    assert len(reply.content) < 20000, "the reply cannot have finished at 50 tokens/s"
    assert reply.status is MessageStatus.INTERRUPTED
    assert reply.error == INTERRUPTED_ERROR

    second = terminals("--resume")
    second.wait_drawn("interrupted")
    second.wait_drawn("ready and waiting")
