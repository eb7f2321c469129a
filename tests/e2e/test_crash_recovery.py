"""SIGKILL in the middle of a streaming reply loses nothing that was flushed.

A child Python process records a conversation through :class:`SessionRecorder` exactly as the app
does, streams a reply, reports each time the recorder wrote it, and is killed with SIGKILL while
still streaming. The store, reopened, must hold every earlier message and the reply up to (at
least) the last reported write, marked interrupted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from glm_tui.model.session import MessageStatus, Role
from glm_tui.storage.store import INTERRUPTED_ERROR, SessionStore

CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from glm_tui.model.session import Message, MessageStatus, Role, Session
    from glm_tui.storage.recorder import SessionRecorder
    from glm_tui.storage.store import SessionStore

    store = SessionStore(Path(sys.argv[1]))
    session = Session(id="c0ffee" + "0" * 26, title="crash test")
    recorder = SessionRecorder(store, session, interval=0.05)
    recorder.save_session()
    for turn in range(2):
        recorder.add_message(Message(Role.USER, f"question {turn}"))
        recorder.add_message(Message(Role.ASSISTANT, f"answer {turn}"))
    recorder.add_message(Message(Role.USER, "tell me a long story"))
    reply = Message(Role.ASSISTANT, "", status=MessageStatus.STREAMING)
    recorder.add_message(reply)
    print("streaming", flush=True)
    i = 0
    while True:  # never finishes: the parent kills us
        reply.content += f"word{i} "
        i += 1
        if recorder.update_message(reply):
            print(f"flushed {len(reply.content)}", flush=True)
        time.sleep(0.003)
""")


def full_text(length: int) -> str:
    """The text the child streams, at least ``length`` characters of it."""
    words: list[str] = []
    total = i = 0
    while total < length:
        words.append(f"word{i} ")
        total += len(words[-1])
        i += 1
    return "".join(words)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_stream_keeps_everything_flushed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert child.stdout is not None
    last_flushed = 0
    flushes = 0
    try:
        for line in child.stdout:
            if line.startswith("flushed"):
                last_flushed = int(line.split()[1])
                flushes += 1
                if flushes >= 5:
                    break
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
    assert flushes >= 5

    store = SessionStore(data)
    try:
        session = store.load_session("c0ffee" + "0" * 26)
    finally:
        store.close()
    assert session.title == "crash test"
    assert [(m.role, m.content) for m in session.messages[:5]] == [
        (Role.USER, "question 0"), (Role.ASSISTANT, "answer 0"),
        (Role.USER, "question 1"), (Role.ASSISTANT, "answer 1"),
        (Role.USER, "tell me a long story"),
    ]
    assert all(m.status is MessageStatus.COMPLETE for m in session.messages[:5])
    reply = session.messages[5]
    assert len(session.messages) == 6
    assert reply.status is MessageStatus.INTERRUPTED and reply.error == INTERRUPTED_ERROR
    assert len(reply.content) >= last_flushed
    assert reply.content == full_text(len(reply.content))[: len(reply.content)]
    assert reply.content.endswith(" ")  # a whole write, never half of one
