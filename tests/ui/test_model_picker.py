"""Model and server choice: the list from a real /v1/models, and typing by hand when it fails."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static

from glm_tui.config import load_settings
from glm_tui.core.client import ChatClient
from glm_tui.ui.screens.model_picker import ModelPickerScreen, ServerPickerScreen

SIZE = (100, 40)


class PickerHost(App[None]):
    def __init__(self, make_screen: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self.make_screen(), self.results.append)


async def wait_until(pilot: Any, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.05)


def status(app: App[Any]) -> str:
    return str(app.screen.query_one("#model-status", Static).render())


async def test_models_are_listed_from_the_server_and_chosen(glm4_server: str) -> None:
    client = ChatClient(glm4_server, "EMPTY", connect_timeout=10, read_timeout=30)
    app = PickerHost(lambda: ModelPickerScreen(client, "glm-4"))
    try:
        async with app.run_test(size=SIZE) as pilot:
            assert "Asking" in status(app)  # the loading state comes first
            screen = app.screen
            await wait_until(pilot, lambda: bool(screen.models))
            assert screen.models == ["glm-4", "GLM-4v-9b"]
            assert "2 models on" in status(app)
            options = screen.query_one("#model-list", OptionList)
            assert options.has_focus and options.highlighted == 0  # the current model
            await pilot.press("down", "enter")
            await pilot.pause()
        assert app.results == ["GLM-4v-9b"]
    finally:
        await client.aclose()


async def test_a_dead_server_falls_back_to_typing_and_says_why(dead_url: str) -> None:
    client = ChatClient(dead_url, "EMPTY", connect_timeout=5, read_timeout=5)
    app = PickerHost(lambda: ModelPickerScreen(client, "glm-4"))
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: screen.failure is not None)
            assert status(app).startswith("Could not list the models: ")
            assert "Type the model id." in status(app)
            typed = screen.query_one("#model-input", Input)
            assert typed.has_focus
            await pilot.press("end", "ctrl+u", *"my-model", "enter")
            await pilot.pause()
        assert app.results == ["my-model"]
    finally:
        await client.aclose()


async def test_a_missing_models_endpoint_falls_back_to_typing(glm4_server: str) -> None:
    client = ChatClient(glm4_server + "nowhere/", "EMPTY", connect_timeout=5, read_timeout=10)
    app = PickerHost(lambda: ModelPickerScreen(client, "glm-4"))
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: screen.failure is not None)
            assert "404" in status(app) or "Not Found" in status(app)
            await pilot.press("enter")  # the current id is already in the box
            await pilot.pause()
        assert app.results == ["glm-4"]
    finally:
        await client.aclose()


async def test_escape_cancels_even_while_loading(dead_url: str) -> None:
    client = ChatClient(dead_url, "EMPTY", connect_timeout=5, read_timeout=5)
    app = PickerHost(lambda: ModelPickerScreen(client, "glm-4"))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("escape")
            await pilot.pause()
            await asyncio.sleep(0)
        assert app.results == [None]
    finally:
        await client.aclose()


async def test_server_picker_lists_profiles_without_keys(
    config_path: Path, glm4_server: str
) -> None:
    config_path.write_text(
        f'[servers.local]\nbase_url = "{glm4_server}"\nkind = "glm4"\n\n'
        '[servers.hosted]\nbase_url = "https://open.bigmodel.cn/api/paas/v4/"\n'
        'api_key = "sk-very-secret-key"\nmodel = "glm-4-plus"\n',
        encoding="utf-8",
    )
    settings = load_settings(config_path=config_path, env={})
    app = PickerHost(lambda: ServerPickerScreen(settings.servers, "local"))
    async with app.run_test(size=SIZE) as pilot:
        options = app.screen.query_one("#server-list", OptionList)
        shown = "\n".join(str(options.get_option_at_index(i).prompt)
                          for i in range(options.option_count))
        assert "sk-very-secret-key" not in shown
        assert "local  (current)" in shown
        assert "GLM-4 local server" in shown and "glm-4-plus" in shown
        assert options.highlighted == 1  # default, local, hosted: "local" is current
        await pilot.press("down", "enter")
        await pilot.pause()
    assert app.results == ["hosted"]
