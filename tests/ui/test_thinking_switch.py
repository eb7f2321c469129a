"""The thinking switch: chosen on the sampling screen, worded per server kind, and sent.

"Thinking: on / off / server default" sits among the sampling settings (per session and in
presets); beside it, what the current server does with it. The last tests drive the real app
against the demo server on loopback and read its request log: the switch reaches the request in
the field that server kind takes (or not at all where the switch is unknown), and F2 shows
exactly that body.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import RadioButton, RadioSet, TextArea

from glm_tui.model.sampling import Preset, SamplingParams, Thinking
from glm_tui.model.server_kind import ServerKind
from glm_tui.settings.config import load_settings
from glm_tui.ui.screens.request_view import RequestViewScreen
from glm_tui.ui.screens.sampling import SamplingScreen
from tests.ui.conftest import ask, click, logged_requests, make_app, ready, wait_for
from tests.ui.test_sampling_screen import SIZE, SamplingHost, text_of


@pytest.mark.parametrize("kind, words", [
    (ServerKind.ZHIPU, "sent as thinking.type"),
    (ServerKind.VLLM, "sent as chat_template_kwargs.enable_thinking"),
    (ServerKind.GENERIC, "not sent: this server's switch is unknown"),
    (None, "not sent: this server's switch is unknown"),
    (ServerKind.GLM4, "not sent: the GLM-4 local server has no thinking switch"),
])
async def test_beside_the_switch_is_what_this_server_does_with_it(
        config_path: Path, kind: ServerKind | None, words: str) -> None:
    app = SamplingHost(config_path, kind=kind)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SamplingScreen), what="settings")
        assert words in text_of(app, "#support-thinking")
        unknown = app.screen.query_one("#support-thinking").has_class("-ignored")
        assert unknown is words.startswith("not sent")
        assert "default: the server's" in text_of(app, "#info-thinking")


async def test_keys_and_clicks_choose_on_off_and_server_default(config_path: Path) -> None:
    app = SamplingHost(config_path, kind=ServerKind.VLLM)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SamplingScreen), what="settings")
        radio = app.screen.query_one("#field-thinking", RadioSet)
        assert radio.pressed_index == 2  # server default
        radio.focus()
        await pilot.pause()
        await pilot.press("enter")  # the highlight starts on the value: Enter keeps it
        await pilot.pause()
        assert app.params.thinking is None and not app.changes
        await pilot.press("up", "up", "enter")  # up is the nudge key; here it moves the choice
        await wait_for(pilot, lambda: app.params.thinking is Thinking.ON, what="thinking on")
        await click(pilot, "#thinking-1")
        await wait_for(pilot, lambda: app.params.thinking is Thinking.OFF, what="thinking off")
        radio.focus()
        await pilot.press("ctrl+r")  # reset the focused field: back to the default
        await wait_for(pilot, lambda: app.params.thinking is None, what="server default")
        assert app.screen.query_one("#thinking-2", RadioButton).value
        assert "think" not in app.params.summary()
        await click(pilot, "#thinking-0")
        await wait_for(pilot, lambda: app.params.thinking is Thinking.ON, what="on again")
        assert "think on" in app.params.summary()


async def test_a_preset_carries_the_switch(config_path: Path) -> None:
    thinker = Preset("thinker", SamplingParams(temperature=0.6, thinking=Thinking.OFF))
    app = SamplingHost(config_path, kind=ServerKind.ZHIPU, presets=(thinker,))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SamplingScreen), what="settings")
        app.screen.query_one("#presets").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.params.thinking is Thinking.OFF, what="the preset")
        assert app.screen.query_one("#thinking-1", RadioButton).value
        await click(pilot, "#thinking-0")
        await wait_for(pilot, lambda: app.params.thinking is Thinking.ON, what="thinking on")
        name = app.screen.query_one("#preset-name")
        name.focus()
        await pilot.press(*"deep", "enter")
        await wait_for(pilot, lambda: config_path.exists() and "deep" in config_path.read_text(),
                       what="the preset written")
    saved = {p.name: p for p in load_settings(config_path=config_path).presets}
    assert saved["deep"].params.thinking is Thinking.ON


async def _choose_in_settings(pilot: Any, choice: str) -> None:
    """Open the settings with their key, choose ``choice`` with a click, close, and ask."""
    await ready(pilot)
    await pilot.press("ctrl+t")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SamplingScreen),
                   what="the settings")
    await click(pilot, choice)
    await pilot.press("escape")
    await ready(pilot)


@pytest.mark.parametrize("kind, choice, sent", [
    (ServerKind.VLLM, "#thinking-0", {"chat_template_kwargs": {"enable_thinking": True}}),
    (ServerKind.VLLM, "#thinking-1", {"chat_template_kwargs": {"enable_thinking": False}}),
    (ServerKind.ZHIPU, "#thinking-1", {"thinking": {"type": "disabled"}}),
    (ServerKind.ZHIPU, "#thinking-0", {"thinking": {"type": "enabled"}}),
    (ServerKind.GENERIC, "#thinking-0", {}),
])
async def test_the_switch_reaches_the_request_in_the_field_of_that_server_kind(
        glm4_server: str, request_log: Path, kind: ServerKind, choice: str,
        sent: dict[str, Any]) -> None:
    app = make_app(glm4_server, kind=kind)
    async with app.run_test(size=(120, 40)) as pilot:
        await _choose_in_settings(pilot, choice)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RequestViewScreen), what="F2")
        shown = json.loads(app.screen.query_one("#request-body", TextArea).text)
        await pilot.press("escape")
        await ready(pilot)
        await ask(pilot, "hello")
    body = logged_requests(request_log)[-1]
    for key in ("thinking", "chat_template_kwargs", "enable_thinking", "think"):
        assert body.get(key) == sent.get(key)
        assert shown.get(key) == sent.get(key)  # F2 showed what was sent


async def test_preserved_thinking_sends_earlier_reasoning_back(openai_server: str,
                                                               request_log: Path) -> None:
    from dataclasses import replace

    from glm_tui.ui.app import GlmTuiApp
    from tests.ui.conftest import settings_for

    settings = settings_for(openai_server, kind=ServerKind.OPENAI)
    profile = replace(settings.profile, model="glm-4.6")  # the demo's thinking model
    app = GlmTuiApp(replace(settings, servers={**settings.servers, profile.name: profile}))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        first = await ask(pilot, "Why is the sky blue?")
        assert first.reasoning
        await ask(pilot, "And at sunset?")
        earlier = logged_requests(request_log)[-1]["messages"][1]
        assert earlier["role"] == "assistant" and "reasoning_content" not in earlier
        await _choose_in_settings(pilot, "#preserve-thinking")
        assert screen.session.preserve_thinking
        screen.prompt.load_text("And on Mars?")
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RequestViewScreen), what="F2")
        shown = json.loads(app.screen.query_one("#request-body", TextArea).text)
        await pilot.press("escape")
        await ready(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(logged_requests(request_log)) == 3, what="the send")
    sent = logged_requests(request_log)[-1]
    assert sent["messages"][1]["reasoning_content"] == first.reasoning
    assert shown == sent  # F2 showed exactly what was sent, the reasoning sent back included
