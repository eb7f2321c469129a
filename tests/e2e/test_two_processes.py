"""Two glm-tui processes on one data directory at once: both work, nothing is corrupted.

Two real ``python -m glm_tui`` processes in pseudo-terminals share one data directory and chat
at the same time (one streams slowly while the other writes), and a third process, the
``glm-tui sessions`` command line, reads and deletes in the middle of it. Then each app opens its
sessions screen (which reads the store when opened) and must list the other's session; the
database passes SQLite's own ``PRAGMA integrity_check`` and holds every message of both.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from glm_tui.model.session import MessageStatus, Role, Session
from glm_tui.model.text import title_from_question
from glm_tui.storage.store import SessionStore
from tests.e2e.test_app_crash_recovery import (
    WAIT_S,
    TerminalApp,
    ask_in_terminal,
    slow_server,  # noqa: F401  (a fixture used by the test below)
    stored_sessions,
    terminals,  # noqa: F401  (a fixture used by the test below)
    wait_until,
)

CTRL_O = "\x0f"


def sessions_titled(data_dir: Path) -> dict[str, Session]:
    """Stored sessions by the start of their title (titles carry the demo directives too)."""
    return {" ".join(s.title.split()[:2]): s for s in stored_sessions(data_dir)}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "glm_tui", "sessions", *args],
                          capture_output=True, text=True, timeout=WAIT_S, check=False)


def test_two_apps_share_one_data_directory(
    slow_server: str, data_dir: Path,  # noqa: F811
    terminals: Callable[..., TerminalApp],  # noqa: F811
) -> None:
    alpha = terminals()
    beta = terminals()
    alpha.wait_drawn("Sessions")
    beta.wait_drawn("Sessions")

    # A session the command line will delete while both apps are writing.
    doomed = Session(title="doomed by the command line")
    store = SessionStore(data_dir)
    try:
        store.create_session(doomed)
    finally:
        store.close()

    # Alpha streams a long reply slowly (50 tokens/s) while beta completes two turns.
    ask_in_terminal(alpha, "alpha question [[demo:size=2000]]")
    ask_in_terminal(beta, "beta question [[demo:rate=0]] [[demo:say=beta answer]]")

    def beta_first_turn() -> Session | None:
        session = sessions_titled(data_dir).get("beta question")
        if session and len(session.messages) == 2 and session.messages[1].content:
            return session
        return None

    wait_until(beta_first_turn, "beta's first turn in the store")
    alpha_now = sessions_titled(data_dir)["alpha question"].messages
    # Still streaming (a reader in another process sees an unfinished reply as interrupted).
    assert alpha_now[-1].status is MessageStatus.INTERRUPTED, "alpha must still be writing"
    listed = run_cli("list")
    assert listed.returncode == 0, listed.stderr
    assert "alpha question" in listed.stdout and "beta question" in listed.stdout
    deleted = run_cli("delete", doomed.id)
    assert deleted.returncode == 0, deleted.stderr
    ask_in_terminal(beta, "beta again [[demo:rate=0]] [[demo:say=second beta answer]]")

    def both_done() -> dict[str, Session] | None:
        sessions = sessions_titled(data_dir)
        alpha_s, beta_s = sessions.get("alpha question"), sessions.get("beta question")
        if (alpha_s and beta_s and len(beta_s.messages) == 4 and len(alpha_s.messages) == 2
                and all(m.status is MessageStatus.COMPLETE
                        for m in alpha_s.messages + beta_s.messages)):
            return sessions
        return None

    sessions = wait_until(both_done, "both conversations to be stored complete", timeout=60)
    assert set(sessions) == {"alpha question", "beta question"}, "the deletion must hold"
    for session in sessions.values():
        assert session.title == title_from_question(session.messages[0].content)
    assert [m.content for m in sessions["beta question"].messages] == [
        "beta question [[demo:rate=0]] [[demo:say=beta answer]]", "beta answer",
        "beta again [[demo:rate=0]] [[demo:say=second beta answer]]", "second beta answer"]
    alpha_reply = sessions["alpha question"].messages[1]
    assert alpha_reply.role is Role.ASSISTANT and len(alpha_reply.content.encode()) == 2000

    # Each app's sessions screen, opened now, lists the other's session.
    since = alpha.mark()
    alpha.type(CTRL_O)
    alpha.wait_drawn("beta question", since)
    since = beta.mark()
    beta.type(CTRL_O)
    beta.wait_drawn("alpha question", since)
    assert not alpha.shows("doomed by the command line", since=0)

    alpha.kill()
    beta.kill()
    with sqlite3.connect(data_dir / "sessions.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
