"""Helpers for driving the real app with Pilot against real demo servers on loopback.

Waiting is always for a condition (a reply finished, a state reached), never a fixed sleep, so
the tests hold on a loaded two-core machine: ``wait_for`` and ``click`` (a click that waits for
its widget to be laid out) come from ``tests.support.waiting`` and are re-exported here.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import Message, MessageStatus, Role
from glm_tui.settings.config import Settings, load_settings
from glm_tui.ui.app import GlmTuiApp
from glm_tui.ui.screens.conversation import ConversationScreen
from tests.support.waiting import WAIT_S as WAIT_S
from tests.support.waiting import click as click
from tests.support.waiting import wait_for as wait_for


def settings_for(base_url: str, *, kind: ServerKind | None = ServerKind.GLM4,
                 api_key: str | None = None) -> Settings:
    """Settings whose active profile points at ``base_url`` (config and data from the env)."""
    settings = load_settings(base_url=base_url, api_key=api_key)
    profile = replace(settings.profile, kind=kind)
    return replace(settings, servers={**settings.servers, profile.name: profile})


def make_app(base_url: str, **kwargs: Any) -> GlmTuiApp:
    resume = kwargs.pop("resume", None)
    return GlmTuiApp(settings_for(base_url, **kwargs), resume=resume)


def conversation(app: GlmTuiApp) -> ConversationScreen:
    screen = app.screen
    assert isinstance(screen, ConversationScreen), f"the screen is {screen!r}"
    return screen


async def ready(pilot: Pilot[Any]) -> ConversationScreen:
    """Wait until the conversation screen is up (and the prompt focused)."""
    app = pilot.app
    assert isinstance(app, GlmTuiApp)

    def up() -> bool:
        # A screen just pushed may not have composed its prompt yet (seen under load).
        screen = app.screen
        if not isinstance(screen, ConversationScreen):
            return False
        prompts = screen.query("#prompt")
        return bool(prompts) and prompts.first().has_focus

    await wait_for(pilot, up, what="the conversation screen")
    return conversation(app)


def last_reply(screen: ConversationScreen) -> Message | None:
    return screen.session.last_message(Role.ASSISTANT)


async def send(pilot: Pilot[Any], text: str) -> None:
    """Type ``text`` into the prompt (as a paste: newlines included) and press Enter."""
    screen = conversation(pilot.app)  # type: ignore[arg-type]
    screen.prompt.load_text(text)
    screen.prompt.focus()
    await pilot.press("enter")


async def wait_reply_done(pilot: Pilot[Any]) -> Message:
    """Wait for the newest reply to leave the streaming state; returns it."""
    screen = conversation(pilot.app)  # type: ignore[arg-type]

    def done() -> bool:
        reply = last_reply(screen)
        drawing = any(not w.is_finished for w in screen.workers if w.group == "reply")
        return (reply is not None and reply.status is not MessageStatus.STREAMING
                and not screen.reply_running and not drawing)

    await wait_for(pilot, done, timeout=WAIT_S, what="the reply to finish")
    await pilot.pause()
    reply = last_reply(screen)
    assert reply is not None
    return reply


async def ask(pilot: Pilot[Any], text: str) -> Message:
    await send(pilot, text)
    return await wait_reply_done(pilot)


def logged_requests(path: Path) -> list[dict[str, Any]]:
    """The request bodies the demo server logged (one JSON object per line)."""
    if not path.exists():
        return []
    bodies = []
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry.get("method") == "POST":
            bodies.append(entry["body"])
    return bodies


@pytest.fixture
def glm4_app(glm4_server: str) -> GlmTuiApp:
    return make_app(glm4_server)


REFERENCE_QUESTION = "What's the Celsius temperature in San Francisco?"


async def ask_with_handler(pilot: Pilot[Any], code: str, tmp_path: Path,
                           choice: str | None = "#run-once") -> None:
    """Give the session the weather tool with a local handler running Python ``code``, ask the
    reference question, wait for the handler dialog and press ``choice`` (None: leave it open)."""
    import sys

    from glm_tui.chat.tools import WEATHER_TOOL, with_settings
    from glm_tui.ui.dialogs.handler import HandlerConfirmModal

    script = tmp_path / "handler.py"
    script.write_text(code, encoding="utf-8")
    screen = conversation(pilot.app)  # type: ignore[arg-type]
    screen.apply_tools([with_settings(WEATHER_TOOL, handler=[sys.executable, str(script)])],
                       "auto")
    await send(pilot, REFERENCE_QUESTION)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, HandlerConfirmModal),
                   what="the handler question")
    if choice is not None:
        await click(pilot, choice)
