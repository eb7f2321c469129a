"""``glm-tui --demo --model glm-4v``: the model asked for is shown and sent (issue 12 item 2).

The real app in a pseudo-terminal, as a person starts it. The demo server answers as the model a
request names, and a GLM-4V request with a system message gets HTTP 500 from it (as from the real
GLM-4V server), so the stored reply proves which model was sent and with which rules.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from glm_tui.model.session import MessageStatus, Role, Session
from tests.e2e.test_app_crash_recovery import TerminalApp, stored_sessions
from tests.support.waiting import wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pty is POSIX")


@pytest.fixture
def terminals() -> Iterator[Callable[..., TerminalApp]]:
    started: list[TerminalApp] = []

    def start(*args: str) -> TerminalApp:
        started.append(TerminalApp(*args))
        return started[-1]

    yield start
    for app in started:
        app.close()


def test_demo_with_a_model_shows_and_sends_that_model(
    data_dir: Path, terminals: Callable[..., TerminalApp],
) -> None:
    app = terminals("--demo", "--model", "glm-4v")
    app.wait_drawn("Sessions")  # the footer: the conversation screen is up
    app.wait_drawn("glm-4v")  # the status bar names the model
    app.type("Which model are you?\r")

    def answered() -> Session | None:
        sessions = stored_sessions(data_dir)
        if sessions and len(sessions[0].messages) == 2 and \
                sessions[0].messages[1].status is MessageStatus.COMPLETE:
            return sessions[0]
        return None

    session = wait_until(answered, what="the reply, stored complete")
    assert session.model == "glm-4v"
    reply = session.messages[1]
    assert reply.role is Role.ASSISTANT
    assert "answering as glm-4v" in reply.content


def test_demo_with_a_thinking_model_thinks_on_screen_and_in_the_store(
    data_dir: Path, terminals: Callable[..., TerminalApp],
) -> None:
    """``--demo --model glm-4.6``: the built-in server runs as vLLM for a thinking model (GLM-4's
    own server has none), so the reasoning streams, folds to its one line, and is stored."""
    app = terminals("--demo", "--model", "glm-4.6")
    app.wait_drawn("Sessions")
    app.type("Why is the sky blue?\r")

    def answered() -> Session | None:
        sessions = stored_sessions(data_dir)
        if sessions and len(sessions[0].messages) == 2 and \
                sessions[0].messages[1].status is MessageStatus.COMPLETE:
            return sessions[0]
        return None

    reply = wait_until(answered, what="the reply, stored complete").messages[1]
    assert reply.reasoning.startswith("The user asks: “Why is the sky blue?”")
    assert reply.content.startswith("You asked: “Why is the sky blue?”")
    app.wait_drawn("Thought for")  # folded to its one line when the answer came
