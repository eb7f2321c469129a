"""The tools screen from the keyboard: add, edit with live checks, refuse, toggle, library."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.app import App
from textual.widgets import OptionList, Select, Static, TextArea

from glm_tui.chat.tool_library import ToolLibrary
from glm_tui.chat.tools import WEATHER_TOOL, is_enabled, request_tools, tool_name
from glm_tui.ui.screens.tools import ToolsScreen
from tests.support.waiting import click, wait_for


class ToolsHost(App[None]):
    def __init__(self, tools: list[dict[str, Any]], data_dir: Path) -> None:
        super().__init__()
        self.initial = tools
        self.library = ToolLibrary(data_dir)
        self.changes: list[tuple[list[dict[str, Any]], Any]] = []

    def on_mount(self) -> None:
        self.push_screen(ToolsScreen(self.initial, None, library=self.library,
                                     on_change=lambda t, c: self.changes.append((t, c))))


def problems_text(app: App[Any]) -> str:
    return str(app.screen.query_one("#tool-problems", Static).render())


async def test_add_the_reference_template_and_choose_it(data_dir: Path) -> None:
    app = ToolsHost([], data_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press("enter")  # the first template: get_current_weather
        await pilot.pause()
        tools, _ = app.changes[-1]
        assert request_tools(tools) == [WEATHER_TOOL]
        editor = app.screen.query_one("#tool-editor", TextArea)
        assert json.loads(editor.text) == WEATHER_TOOL
        app.screen.query_one("#tool-choice", Select).value = "get_current_weather"
        await pilot.pause()
        assert app.changes[-1][1] == {"type": "function",
                                      "function": {"name": "get_current_weather"}}


async def test_invalid_edits_are_refused_with_where_and_never_applied(data_dir: Path) -> None:
    app = ToolsHost([WEATHER_TOOL], data_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        editor = app.screen.query_one("#tool-editor", TextArea)
        editor.load_text('{\n  "type": "function",\n  "function": {oops}\n}')
        await wait_for(pilot, lambda: "line 3, column 16: not valid JSON" in problems_text(app),
                       what="the JSON error")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.changes == []  # nothing half-formed reached the session

        bad_name = json.loads(json.dumps(WEATHER_TOOL))
        bad_name["function"]["name"] = "get weather now"
        editor.load_text(json.dumps(bad_name, indent=2))
        await wait_for(pilot, lambda: "no spaces" in problems_text(app), what="the name error")

        bad_schema = json.loads(json.dumps(WEATHER_TOOL))
        bad_schema["function"]["parameters"]["required"] = "location"
        editor.load_text(json.dumps(bad_schema, indent=2))
        await wait_for(pilot, lambda: "$.function.parameters.required" in problems_text(app),
                       what="the schema error")

        good = json.loads(json.dumps(WEATHER_TOOL))
        good["function"]["description"] = "Weather now"
        editor.load_text(json.dumps(good, indent=2))
        await wait_for(pilot, lambda: "✓ valid" in problems_text(app), what="the edit to pass")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.changes[-1][0][0]["function"]["description"] == "Weather now"


async def test_duplicate_names_and_toggle(data_dir: Path) -> None:
    app = ToolsHost([WEATHER_TOOL], data_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        app.screen.query_one("#tools-list", OptionList).focus()
        await pilot.press("ctrl+d")
        await pilot.pause()
        tools = app.changes[-1][0]
        assert [tool_name(t) for t in tools] == ["get_current_weather", "get_current_weather_2"]
        editor = app.screen.query_one("#tool-editor", TextArea)
        editor.load_text(json.dumps(WEATHER_TOOL))  # rename the copy back: a clash
        await wait_for(pilot,
                       lambda: 'two tools are named "get_current_weather"' in problems_text(app),
                       what="the name clash")
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert not is_enabled(app.changes[-1][0][1])
        assert [tool_name(t) for t in request_tools(app.changes[-1][0])] == [
            "get_current_weather"
        ]


async def test_library_is_shared_across_sessions(data_dir: Path) -> None:
    app = ToolsHost([WEATHER_TOOL], data_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+b")
        await pilot.pause()
    other = ToolsHost([], data_dir)
    async with other.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+l")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert request_tools(other.changes[-1][0]) == [WEATHER_TOOL]


async def test_json_editor_smoke(data_dir: Path) -> None:
    """The JSON editor opens and takes typing (tree-sitter crashes here were a known trap)."""
    app = ToolsHost([WEATHER_TOOL], data_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        editor = app.screen.query_one("#tool-editor", TextArea)
        editor.focus()
        await pilot.press("end", "enter", "x")
        await wait_for(pilot, lambda: "not valid JSON" in problems_text(app),
                       what="the JSON error")
        assert editor.is_syntax_aware
        assert editor.text.startswith("{\nx")


async def test_escape_asks_before_dropping_an_unapplied_edit(data_dir: Path) -> None:
    from glm_tui.ui.dialogs.confirm import ConfirmModal

    app = ToolsHost([WEATHER_TOOL], data_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        tools_screen = app.screen
        editor = tools_screen.query_one("#tool-editor", TextArea)
        editor.load_text('{"type": "function", "function": {"name": "half"')
        await wait_for(pilot, lambda: "not valid JSON" in problems_text(app),
                       what="the edit to be checked")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the question")
        await click(pilot, "#cancel")  # keep editing
        await wait_for(pilot, lambda: app.screen is tools_screen, what="back to the editor")
        assert editor.text.endswith('"half"')
        await pilot.press("escape")
        await click(pilot, "#confirm")  # discard
        await wait_for(pilot, lambda: app.screen is not tools_screen, what="the screen to close")
        assert app.changes == []


async def test_escape_closes_at_once_when_nothing_was_edited(data_dir: Path) -> None:
    app = ToolsHost([WEATHER_TOOL], data_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        tools_screen = app.screen
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not tools_screen
