"""A real MCP server that changes its tools while the app runs (``tools/list_changed``).

The ``changing`` test server adds or removes a tool when its ``add_tool``/``remove_tool`` is
called and then sends ``notifications/tools/list_changed``, as a server does when, say, a plugin
loads. The test makes that call through the app's own :class:`ToolServers` (the server decides
on its own; nothing of the app's is driven), then waits for what a person would see: F6 redraws
that server's section, the session's tool follows the server's, and a tool the server dropped
is neither offered to the model nor ever run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from glm_tui.chat.mcp_tools import is_withdrawn, mcp_origin, server_tool_entry
from glm_tui.chat.tools import is_enabled, request_tools, tool_name
from glm_tui.tool_servers.tools import ServerTool
from glm_tui.ui.dialogs.server_call import ServerCallConfirmModal
from tests.support.mcp_app import (
    enable_server_tools,
    open_tools,
    server_table,
    toggle_server_tool,
    wait_listed,
    write_servers,
)
from tests.support.toasts import ToastLog
from tests.ui.conftest import (
    click,
    logged_requests,
    make_app,
    ready,
    send,
    wait_for,
    wait_reply_done,
)
from tests.ui.test_mcp_tools_screen import rows_text

SIZE = (120, 40)


async def change(pilot: Pilot[Any], tool: str, **arguments: str) -> None:
    """Have the running ``changing`` server change its tool list (it then notifies)."""
    result = await pilot.app.services.tool_servers.call(  # type: ignore[attr-defined]
        "changing", tool, arguments)
    assert result.ok, result


async def test_f6_shows_a_tool_the_server_adds_while_it_is_open(
        glm4_server: str, config_path: Path) -> None:
    write_servers(config_path, server_table("changing", "changing"))
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await open_tools(pilot)
        await wait_listed(pilot, "changing")
        assert "weather" not in rows_text(pilot)
        assert "changing  4 tools" in rows_text(pilot)
        await change(pilot, "add_tool", name="weather", description="Today's weather")
        await wait_for(pilot, lambda: "☐ weather  Today's weather" in rows_text(pilot),
                       what="F6 to list the added tool")
        assert "changing  5 tools" in rows_text(pilot)

        await toggle_server_tool(pilot, "changing", "weather")  # and it can be enabled
        await wait_for(pilot, lambda: "☑ weather" in rows_text(pilot), what="enabled")
        assert [tool_name(t) for t in chat.session.tools] == ["weather"]


async def test_an_enabled_tool_the_server_drops_is_marked_not_offered_then_comes_back(
        glm4_server: str, config_path: Path) -> None:
    write_servers(config_path, server_table("changing", "changing"))
    app = make_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await open_tools(pilot)
        await toggle_server_tool(pilot, "changing", "echo")
        await wait_for(pilot, lambda: "☑ echo" in rows_text(pilot), what="echo enabled")

        await change(pilot, "remove_tool", name="echo")
        await wait_for(pilot, lambda: "no longer offered by the server" in rows_text(pilot),
                       what="F6 to mark echo as no longer offered")
        assert "✗ echo  no longer offered by the server" in rows_text(pilot)
        [entry] = chat.session.tools  # kept in the session (stored), switched off
        assert mcp_origin(entry) == ("changing", "echo")
        assert is_withdrawn(entry) and not is_enabled(entry)
        assert request_tools(chat.session.tools) == []  # not offered to the model
        assert any("echo is no longer offered by the server" in note
                   for note in toasts.messages())

        # Enter on it says why it cannot be switched on, and changes nothing.
        await toggle_server_tool(pilot, "changing", "echo")
        await wait_for(pilot, lambda: any("it cannot be switched on until the server offers "
                                          "it again" in note for note in toasts.messages()),
                       what="the reason it stays off")
        assert not is_enabled(chat.session.tools[0])

        # The server offers it again, described anew: it is back on, with the new words.
        await change(pilot, "add_tool", name="echo", description="Echo, now louder")
        await wait_for(pilot, lambda: "☑ echo  Echo, now louder" in rows_text(pilot),
                       what="echo back, enabled")
        [entry] = chat.session.tools
        assert is_enabled(entry) and not is_withdrawn(entry)
        assert entry["function"]["description"] == "Echo, now louder"
        assert "loud" in entry["function"]["parameters"]["properties"]
        assert [tool_name(t) for t in request_tools(chat.session.tools)] == ["echo"]


async def test_with_f6_closed_a_dropped_tool_is_no_longer_offered_to_the_model(
        glm4_server: str, config_path: Path, request_log: Path) -> None:
    write_servers(config_path, server_table("changing", "changing"))
    app = make_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        await enable_server_tools(pilot, "changing", "echo")  # F6, Enter, Esc
        assert [tool_name(t) for t in request_tools(chat.session.tools)] == ["echo"]
        await change(pilot, "remove_tool", name="echo")
        await wait_for(pilot, lambda: request_tools(chat.session.tools) == [],
                       what="the session to stop offering echo")
        assert is_withdrawn(chat.session.tools[0])
        assert any("MCP server changing: echo is no longer offered by the server" in note
                   for note in toasts.messages())
        await send(pilot, "Please echo hello back")
        reply = await wait_reply_done(pilot)
        assert not reply.tool_calls  # the model was not offered echo, so it did not call it
    assert "tools" not in logged_requests(request_log)[-1]


async def test_a_call_to_a_tool_the_server_does_not_list_is_never_sent(
        glm4_server: str, config_path: Path) -> None:
    """A session's tool its server does not list when it starts (stored in an earlier run,
    the server changed since): the model's call is refused by glm-tui in plain words, not
    sent to the server."""
    write_servers(config_path, server_table("changing", "changing"))
    app = make_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        chat = await ready(pilot)
        lookup = ServerTool("changing", "lookup", "Look things up in the catalogue",
                            {"type": "object", "properties": {"query": {"type": "string"}}})
        chat.apply_tools([server_tool_entry(lookup, set())], "auto")
        await send(pilot, "Look up the catalogue")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ServerCallConfirmModal),
                       what="the MCP call question")
        await click(pilot, "#run-once")
        await wait_for(pilot, lambda: chat.tool_loop.answering is not None, what="by hand")
        assert any('the MCP server "changing" does not offer the tool lookup now' in note
                   and "the call was not made" in note for note in toasts.messages())
