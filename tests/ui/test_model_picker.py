"""Model and server choice: the list from a real /v1/models, and typing by hand when it fails."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static

from glm_tui.client.client import ChatClient
from glm_tui.settings.config import load_settings
from glm_tui.ui.screens.model_picker import ModelPickerScreen, ServerPickerScreen
from tests.support.raw_server import RawServer, json_script
from tests.support.waiting import wait_for

SIZE = (100, 40)
RETITLE = "evil\x1b]0;PWNED\x07"
CLEAR = "wipe\x1b[2J"


class PickerHost(App[None]):
    def __init__(self, make_screen: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self.make_screen(), self.results.append)


def status(app: App[Any]) -> str:
    return str(app.screen.query_one("#model-status", Static).render())


async def test_models_are_listed_from_the_server_and_chosen(glm4_server: str) -> None:
    client = ChatClient(glm4_server, "EMPTY", connect_timeout=10, read_timeout=30)
    app = PickerHost(lambda: ModelPickerScreen(client, "glm-4"))
    try:
        async with app.run_test(size=SIZE) as pilot:
            assert "Asking" in status(app)  # the loading state comes first
            screen = app.screen
            await wait_for(pilot, lambda: bool(screen.models)
                           and screen.query_one("#model-list").has_focus,
                           what="the models listed and the list focused")
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
            await wait_for(pilot, lambda: screen.failure is not None)
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
            await wait_for(pilot, lambda: screen.failure is not None)
            assert "404" in status(app) or "Not Found" in status(app)
            await pilot.press("enter")  # the current id is already in the box
            await pilot.pause()
        assert app.results == ["glm-4"]
    finally:
        await client.aclose()


def shown_options(option_list: OptionList) -> list[str]:
    return [str(option_list.get_option_at_index(i).prompt)
            for i in range(option_list.option_count)]


async def test_escape_sequences_in_model_ids_are_shown_not_obeyed() -> None:
    with RawServer() as server:
        server.add(json_script(200, {"data": [{"id": "glm-4"}, {"id": RETITLE}, {"id": CLEAR}]}))
        client = ChatClient(server.base_url, "EMPTY", connect_timeout=10, read_timeout=30)
        app = PickerHost(lambda: ModelPickerScreen(client, "glm-4"))
        try:
            async with app.run_test(size=SIZE) as pilot:
                screen = app.screen
                await wait_for(pilot, lambda: bool(screen.models))
                options = screen.query_one("#model-list", OptionList)
                assert shown_options(options) == [
                    "glm-4  (current)", "evil\u241b]0;PWNED\u2407", "wipe\u241b[2J"]
                await pilot.press("down", "enter")
                await pilot.pause()
        finally:
            await client.aclose()
    assert app.results == [RETITLE]  # the real id is what gets chosen and sent


async def test_escape_sequences_in_a_models_failure_are_shown_not_obeyed() -> None:
    with RawServer() as server:
        server.add(json_script(500, f"{RETITLE} {CLEAR}", "text/plain"))
        client = ChatClient(server.base_url, "EMPTY", connect_timeout=10, read_timeout=30)
        app = PickerHost(lambda: ModelPickerScreen(client, "glm-4"))
        try:
            async with app.run_test(size=SIZE) as pilot:
                screen = app.screen
                await wait_for(pilot, lambda: screen.failure is not None)
                shown = status(app)
        finally:
            await client.aclose()
    assert "\x1b" not in shown and "\x07" not in shown
    assert "evil\u241b]0;PWNED\u2407 wipe\u241b[2J" in shown


async def test_a_model_listed_twice_is_offered_once_and_the_picker_finishes_loading() -> None:
    with RawServer() as server:
        server.add(json_script(200, {"data": [{"id": "glm-4"}, {"id": "glm-4"},
                                              {"id": "other"}, {"id": "glm-4"}]}))
        client = ChatClient(server.base_url, "EMPTY", connect_timeout=10, read_timeout=30)
        app = PickerHost(lambda: ModelPickerScreen(client, "glm-4"))
        try:
            async with app.run_test(size=SIZE) as pilot:
                screen = app.screen
                await wait_for(pilot, lambda: bool(screen.models))
                assert not screen.query_one("#model-loading").display
                assert shown_options(screen.query_one("#model-list", OptionList)) == [
                    "glm-4  (current)", "other"]
                assert "2 models on" in status(app)
        finally:
            await client.aclose()


async def test_the_picker_itself_tolerates_a_repeated_id() -> None:
    """Even if a list with repeats reaches the screen, it shows each id once, not a spinner."""

    class Repeating(ChatClient):
        async def list_models(self) -> list[str]:
            return ["a", "b", "a"]

    client = Repeating("http://127.0.0.1:9/v1", "EMPTY")
    app = PickerHost(lambda: ModelPickerScreen(client, "b"))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: bool(screen.models) or screen.failure is not None)
        assert screen.failure is None
        options = screen.query_one("#model-list", OptionList)
        assert shown_options(options) == ["a", "b  (current)"]
        assert options.highlighted == 1


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
