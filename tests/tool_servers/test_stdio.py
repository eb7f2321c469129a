"""A real MCP server over real pipes: its tools, calls, results and the log of its stderr.

One ``kit`` server process serves the whole module (a start costs ~0.5 s); tests that break a
server start their own.
"""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from glm_tui.tool_servers.servers import ServerState, ToolServers
from tests.support.mcp_servers import HUGE_CHARS, TRICKY_DESCRIPTION, png_bytes, stdio_profile

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def kit(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ToolServers]:
    servers = ToolServers({"kit": stdio_profile("kit")}, tmp_path_factory.mktemp("logs"))
    try:
        yield servers
    finally:
        await servers.stop_all()


async def test_a_server_starts_on_first_use_and_lists_its_tools(kit: ToolServers) -> None:
    assert kit.state("kit")[0] in (ServerState.NOT_STARTED, ServerState.READY)
    tools = {tool.name: tool for tool in await kit.tools("kit")}
    assert {"echo", "now", "fail", "huge", "picture", "slow", "quit", "tricky"} <= set(tools)
    assert tools["echo"].server == "kit"
    assert tools["echo"].description == "Echo the text back"
    assert tools["echo"].input_schema["properties"]["text"]["type"] == "string"
    assert tools["tricky"].description == TRICKY_DESCRIPTION  # kept as data, not cleaned here
    assert kit.state("kit") == (ServerState.READY, "")


async def test_a_call_returns_the_tools_text(kit: ToolServers) -> None:
    result = await kit.call("kit", "echo", {"text": "héllo"})
    assert (result.ok, result.text, result.error, result.images) == (True, "héllo", None, ())


async def test_an_error_the_tool_raises_is_a_flagged_result_not_a_failed_call(
        kit: ToolServers) -> None:
    result = await kit.call("kit", "fail", {"reason": "the disk is full"})
    assert not result.ok and result.error is None
    assert "the disk is full" in result.text


async def test_a_ten_megabyte_result_is_cut_at_the_output_cap_and_says_so(
        kit: ToolServers) -> None:
    result = await kit.call("kit", "huge", {}, output_cap=1000)
    assert result.ok and result.truncated
    assert result.text.startswith("x" * 1000)
    assert len(result.text) < 1200
    assert f"{HUGE_CHARS - 1000:,} more characters left out" in result.text


async def test_a_picture_comes_back_as_bytes_and_is_named_in_the_text(kit: ToolServers) -> None:
    result = await kit.call("kit", "picture", {})
    assert [(image.mime, image.data) for image in result.images] == [("image/png", png_bytes())]
    assert result.text.startswith("a red rectangle\n[picture 1: image/png,")


async def test_the_servers_stderr_goes_to_its_log_file_private_to_the_user(
        kit: ToolServers) -> None:
    await kit.tools("kit")
    log = kit.log_path("kit")
    assert log.name == "mcp-kit.log"
    assert "kit: serving on stdio" in log.read_text()
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    assert "glm-tui starts:" in log.read_text()


async def test_an_unknown_server_is_a_result_naming_it(kit: ToolServers) -> None:
    result = await kit.call("nosuch", "echo", {})
    assert result.error == 'there is no MCP server named "nosuch" in the config file'


async def test_a_server_whose_command_does_not_exist_says_so(tmp_path: Path) -> None:
    from glm_tui.model.mcp_profile import McpServerProfile
    from glm_tui.tool_servers.errors import ToolServerError

    servers = ToolServers({"gone": McpServerProfile("gone", command=str(tmp_path / "no-such"))},
                          tmp_path)
    with pytest.raises(ToolServerError) as raised:
        await servers.tools("gone")
    assert raised.value.server == "gone"
    assert str(raised.value).startswith('the MCP server "gone" could not start: the command '
                                        "was not found")
    assert servers.state("gone")[0] is ServerState.FAILED
