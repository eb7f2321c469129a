"""A running server that changes its tools (``notifications/tools/list_changed``), over real pipes.

The ``changing`` test server adds or removes a tool when asked and then sends the notification,
as a real server does; glm-tui must list the tools again, tell its watchers, and never send a
call to a tool the server no longer lists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from glm_tui.model.mcp_profile import McpServerProfile
from glm_tui.tool_servers.servers import ToolServers
from tests.support.mcp_servers import http_server, stdio_profile
from tests.support.waiting import wait_for

pytestmark = pytest.mark.asyncio(loop_scope="function")


@pytest_asyncio.fixture
async def servers(tmp_path: Path) -> AsyncIterator[ToolServers]:
    servers = ToolServers({"changing": stdio_profile("changing")}, tmp_path / "logs")
    try:
        yield servers
    finally:
        await servers.stop_all()


async def names(servers: ToolServers) -> set[str]:
    return {tool.name for tool in await servers.tools("changing")}


async def test_a_tool_the_server_adds_is_listed_and_watchers_hear_of_it(
        servers: ToolServers) -> None:
    heard: list[str] = []
    servers.watch(heard.append)
    assert "weather" not in await names(servers)
    added = await servers.call("changing", "add_tool", {"name": "weather",
                                                        "description": "Today's weather"})
    assert added.ok, added
    await wait_for(None, lambda: heard == ["changing"], what="the watcher to hear of the change")
    tools = {tool.name: tool for tool in await servers.tools("changing")}
    assert tools["weather"].description == "Today's weather"
    result = await servers.call("changing", "weather", {"text": "sunny"})
    assert (result.ok, result.text) == (True, "sunny")


async def test_a_changed_tool_has_its_new_description_and_schema(servers: ToolServers) -> None:
    heard: list[str] = []
    servers.watch(heard.append)
    await servers.call("changing", "add_tool", {"name": "weather", "description": "first"})
    await wait_for(None, lambda: len(heard) == 1, what="the first change")
    await servers.call("changing", "add_tool", {"name": "weather", "description": "second"})
    await wait_for(None, lambda: len(heard) == 2, what="the second change")
    tools = {tool.name: tool for tool in await servers.tools("changing")}
    assert tools["weather"].description == "second"
    assert "loud" in tools["weather"].input_schema["properties"]


async def test_a_removed_tool_is_never_called(servers: ToolServers) -> None:
    heard: list[str] = []
    unwatch = servers.watch(heard.append)
    assert "echo" in await names(servers)
    pid_before = (await servers.call("changing", "pid", {})).text
    removed = await servers.call("changing", "remove_tool", {"name": "echo"})
    assert removed.ok, removed
    await wait_for(None, lambda: heard, what="the watcher to hear of the removal")
    assert "echo" not in await names(servers)
    result = await servers.call("changing", "echo", {"text": "hi"})
    assert not result.ok
    assert result.error == ('the MCP server "changing" does not offer the tool echo now (it is '
                            "not in the tool list the server sends); the call was not made")
    # the same server goes on: nothing was restarted
    assert (await servers.call("changing", "pid", {})).text == pid_before
    unwatch()
    await servers.call("changing", "add_tool", {"name": "echo"})
    await wait_for(None, lambda: "echo" in {t.name for t in servers.listed("changing") or []},
                   what="echo to be back")
    assert heard == ["changing"]  # unwatched: not told again



async def test_over_streamable_http_too(tmp_path: Path) -> None:
    with http_server(kind="changing") as server:
        servers = ToolServers({"changing": McpServerProfile(name="changing", url=server.url)},
                              tmp_path / "logs")
        try:
            heard: list[str] = []
            servers.watch(heard.append)
            assert "weather" not in await names(servers)
            await servers.call("changing", "add_tool", {"name": "weather"})
            await wait_for(None, lambda: heard, what="the change over HTTP")
            assert "weather" in await names(servers)
        finally:
            await servers.stop_all()
