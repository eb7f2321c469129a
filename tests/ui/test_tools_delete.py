"""Deleting a tool asks first, naming it, like deleting a session (issue 12 item 6).

Ctrl+X on the tools screen used to remove the selected tool at once, with no way back; the tool's
schema and handler may have taken a while to write. The one yes/no dialog, danger variant, asks.
"""

from __future__ import annotations

import copy
from pathlib import Path

from glm_tui.chat.tools import WEATHER_TOOL, tool_name
from glm_tui.ui.dialogs.confirm import ConfirmModal
from glm_tui.ui.screens.tools import ToolsScreen
from tests.support.waiting import wait_for
from tests.ui.test_tools_screen import ToolsHost

SIZE = (120, 40)


def second_tool() -> dict[str, object]:
    tool = copy.deepcopy(WEATHER_TOOL)
    tool["function"]["name"] = "get_forecast"  # type: ignore[index]
    return tool


async def test_ctrl_x_asks_first_and_no_keeps_the_tool(data_dir: Path) -> None:
    app = ToolsHost([WEATHER_TOOL, second_tool()], data_dir)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ToolsScreen))
        screen = app.screen
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the question")
        dialog = app.screen
        assert isinstance(dialog, ConfirmModal) and dialog.danger
        body = str(dialog.query_one(".dialog-body").render())
        assert "get_current_weather" in body
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)
        assert app.changes == []  # nothing reached the session
        assert [tool_name(t) for t in screen.tools] == ["get_current_weather", "get_forecast"]


async def test_yes_deletes_the_tool_it_named(data_dir: Path) -> None:
    app = ToolsHost([WEATHER_TOOL, second_tool()], data_dir)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ToolsScreen))
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: bool(app.changes), what="the change")
    tools, _ = app.changes[-1]
    assert [tool_name(t) for t in tools] == ["get_forecast"]
