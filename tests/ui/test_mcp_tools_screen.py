"""MCP servers on the tools screen (F6), against real servers over stdio.

A server starts when F6 first needs it, not when the app starts, and stops when the app exits;
its section says "starting…", then lists its tools (name, description, input schema), or says
why it failed while the rest of the screen works. Enabling a tool adds it to the session, under
a qualified name when another tool has its name, stored with the session so that resuming it
shows it enabled. What a server sends is shown literally.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList, TextArea

from glm_tui.chat.mcp_tools import mcp_origin
from glm_tui.chat.tools import WEATHER_TOOL, is_enabled, request_tools, tool_name
from glm_tui.storage.store import SessionStore
from glm_tui.ui.screens.server_tools import ServerToolDetail
from tests.support.mcp_app import (
    enable_server_tools,
    open_tools,
    panel,
    server_processes,
    server_table,
    toggle_server_tool,
    wait_listed,
    write_servers,
)
from tests.support.mcp_servers import TRICKY_DESCRIPTION
from tests.ui.conftest import conversation, make_app, ready, wait_for

SIZE = (120, 40)


def rows_text(pilot_app: object) -> str:
    listing = panel(pilot_app).query_one("#server-tool-list", OptionList)  # type: ignore[arg-type]
    return "\n".join(str(listing.get_option_at_index(i).prompt)
                     for i in range(listing.option_count))


def screen_text(app: object) -> str:
    strips = app.screen._compositor.render_strips()  # type: ignore[attr-defined]
    return "\n".join(strip.text for strip in strips)


async def test_nothing_starts_with_the_app_and_what_started_stops_when_it_exits(
        glm4_server: str, config_path: Path) -> None:
    write_servers(config_path, server_table("kit"))
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert server_processes() == []  # configured, not started
        await open_tools(pilot)
        await wait_listed(pilot, "kit")
        assert len(server_processes()) == 1
        await pilot.press("escape")
    assert server_processes() == []


async def test_each_server_lists_its_tools_and_a_failing_one_says_why(
        glm4_server: str, config_path: Path) -> None:
    write_servers(config_path, server_table("kit"), server_table("broken", "exits"))
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await open_tools(pilot)
        assert "starting…" in rows_text(pilot)
        await wait_listed(pilot, "kit")
        await wait_listed(pilot, "broken")
        rows = rows_text(pilot)
        assert "echo" in rows and "Echo the text back" in rows
        broken = panel(pilot).sections["broken"]
        assert broken.error is not None and "broken" in broken.error
        assert "✗" in rows

        # The detail pane takes the editor's place and shows the whole tool.
        await toggle_server_tool(pilot, "kit", "echo")  # highlights it, Enter enables it
        detail = app.screen.query_one(ServerToolDetail)
        await wait_for(pilot, lambda: detail.display and "Input schema" in screen_text(app),
                       what="the tool's detail")
        shown = screen_text(app)
        assert "Echo the text back" in shown and '"text"' in shown
        assert not app.screen.query_one("#tool-editor", TextArea).display

        # The failed server's words are there in full, with where its log is.
        found = panel(pilot)
        listing = found.query_one("#server-tool-list", OptionList)
        listing.highlighted = next(i for i in range(listing.option_count)
                                   if found.row_at(i) == (broken, None))
        await wait_for(pilot, lambda: "mcp-broken.log" in screen_text(app),
                       what="the failed server's detail")

        # The session goes on: the tool of the working server was enabled meanwhile.
        screen = app.screen
        assert [tool_name(t) for t in request_tools(screen.tools)] == ["echo"]  # type: ignore[attr-defined]


async def test_a_failed_server_is_tried_again_with_enter(glm4_server: str,
                                                        config_path: Path) -> None:
    write_servers(config_path, server_table("broken", "exits"))
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await open_tools(pilot)
        found = await wait_listed(pilot, "broken")
        listing = found.query_one("#server-tool-list", OptionList)
        listing.focus()
        listing.highlighted = 0
        await pilot.press("enter")
        await wait_for(pilot, lambda: found.sections["broken"].starting
                       or found.sections["broken"].error is not None, what="a new start")
        await wait_listed(pilot, "broken")
        assert found.sections["broken"].error is not None


async def test_markup_and_escape_sequences_from_a_server_are_shown_literally(
        glm4_server: str, config_path: Path) -> None:
    write_servers(config_path, server_table("kit"))
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await open_tools(pilot)
        await toggle_server_tool(pilot, "kit", "tricky")
        await wait_for(pilot, lambda: "Input schema" in screen_text(app), what="the detail")
        shown = screen_text(app)
        assert "[bold red]markup[/]" in shown  # not taken as markup
        assert "␛[31mescapes␛[0m" in shown  # the escape sequence made visible
        assert "\x1b" not in shown
        assert "[bold red]markup[/]" in rows_text(pilot)
        [entry] = app.screen.tools  # type: ignore[attr-defined]
        assert entry["function"]["description"] == TRICKY_DESCRIPTION  # kept as data


async def test_an_enabled_tool_is_stored_with_the_session_and_resume_shows_it(
        glm4_server: str, config_path: Path, data_dir: Path) -> None:
    write_servers(config_path, server_table("kit"))
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await enable_server_tools(pilot, "kit", "echo")
        [entry] = screen.session.tools
        assert mcp_origin(entry) == ("kit", "echo") and is_enabled(entry)
        assert "tools 1 (auto)" in str(screen.status.sampling)
        session_id = screen.session.id
    store = SessionStore(data_dir)
    try:
        stored = store.load_session(session_id)
    finally:
        store.close()
    assert [mcp_origin(e) for e in stored.tools] == [("kit", "echo")]

    again = make_app(glm4_server, resume=session_id)
    async with again.run_test(size=SIZE) as pilot:
        await ready(pilot)
        tools_screen = await open_tools(pilot)
        await wait_listed(pilot, "kit")
        assert "☑ echo" in rows_text(pilot)
        side = str(tools_screen.query_one("#tools-list", OptionList).get_option_at_index(0).prompt)
        assert "echo" in side and "⇄ kit" in side

        await toggle_server_tool(pilot, "kit", "echo")  # Enter again switches it off
        await wait_for(pilot, lambda: not is_enabled(tools_screen.tools[0]), what="disabled")
        assert "☐ echo" in rows_text(pilot)
        assert request_tools(tools_screen.tools) == []
        await pilot.press("escape")
        chat = await ready(pilot)
        assert request_tools(chat.session.tools) == []


async def test_a_name_another_tool_has_is_qualified_with_the_server(
        glm4_server: str, config_path: Path) -> None:
    write_servers(config_path, server_table("kit"))
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        mine = {**WEATHER_TOOL, "function": {**WEATHER_TOOL["function"], "name": "echo"}}
        screen.apply_tools([mine], "auto")
        await enable_server_tools(pilot, "kit", "echo")
        names = [tool_name(t) for t in conversation(app).session.tools]
        assert names == ["echo", "kit__echo"]
        await open_tools(pilot)
        await wait_listed(pilot, "kit")
        assert "☑ echo → kit__echo" in rows_text(pilot)


async def test_a_server_that_hangs_at_start_fails_after_its_timeout_and_leaving_is_prompt(
        glm4_server: str, config_path: Path) -> None:
    write_servers(config_path, server_table("kit"),
                  server_table("stuck", "hangs", startup_timeout=1))
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await open_tools(pilot)
        await pilot.press("escape")  # left while both start: they go on starting
        await ready(pilot)
        await open_tools(pilot)
        stuck = (await wait_listed(pilot, "stuck")).sections["stuck"]
        assert stuck.error is not None and "within 1 s" in stuck.error
        assert (await wait_listed(pilot, "kit")).sections["kit"].tools


async def test_quitting_while_a_server_starts_stops_it(glm4_server: str,
                                                       config_path: Path) -> None:
    write_servers(config_path, server_table("stuck", "hangs"))
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await open_tools(pilot)
        await wait_for(pilot, lambda: len(server_processes()) == 1, what="the server process")
        assert panel(pilot).sections["stuck"].starting
        await pilot.press("ctrl+q")  # the app stops its servers as it quits
    assert server_processes() == []
