"""A real MCP server over real pipes: its tools, calls, results and the log of its stderr.

One ``kit`` server process serves the whole module (a start costs ~0.5 s); tests that break a
server start their own.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from glm_tui.tool_servers.servers import ServerState, ToolServers
from tests.support.mcp_servers import HUGE_CHARS, TRICKY_DESCRIPTION, png_bytes, stdio_profile
from tests.support.waiting import wait_for

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the kit's ``slow`` tool notes "started" and "cancelled"."""
    return tmp_path_factory.mktemp("record") / "slow.txt"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def kit(tmp_path_factory: pytest.TempPathFactory,
              record: Path) -> AsyncIterator[ToolServers]:
    servers = ToolServers({"kit": stdio_profile("kit", record=record)},
                          tmp_path_factory.mktemp("data") / "logs")  # made by the first start
    try:
        yield servers
    finally:
        await servers.stop_all()


def events(record: Path) -> list[str]:
    return record.read_text().split() if record.exists() else []


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
    assert stat.S_IMODE(os.stat(log.parent).st_mode) == 0o700
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


async def test_cancelling_a_call_tells_the_server_and_the_server_stays_usable(
        kit: ToolServers, record: Path) -> None:
    before = events(record)
    call = asyncio.ensure_future(kit.call("kit", "slow", {}))
    await wait_for(None, lambda: events(record)[len(before):] == ["started"],
                   what="the slow tool to start")
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await wait_for(None, lambda: events(record)[len(before):] == ["started", "cancelled"],
                   what="the server to record notifications/cancelled")
    assert (await kit.call("kit", "echo", {"text": "still here"})).text == "still here"


async def test_a_call_over_its_timeout_fails_in_words_and_the_server_is_told(
        kit: ToolServers, record: Path) -> None:
    before = events(record)
    result = await kit.call("kit", "slow", {}, timeout=0.5)
    assert result.error == ('the MCP server "kit" did not answer the call to slow within '
                            "0.5 s (it was told to stop)")
    await wait_for(None, lambda: events(record)[len(before):] == ["started", "cancelled"],
                   what="the server to record notifications/cancelled")
    assert kit.state("kit")[0] is ServerState.READY


async def test_a_server_that_dies_mid_call_fails_the_call_and_the_next_use_restarts_it(
        kit: ToolServers) -> None:
    result = await kit.call("kit", "quit", {})
    assert result.error is not None
    assert result.error.startswith('the MCP server "kit" stopped during the call to quit')
    state, detail = kit.state("kit")
    assert state is ServerState.FAILED and detail == result.error
    again = await kit.call("kit", "echo", {"text": "back"})
    assert (again.ok, again.text) == (True, "back")
    assert kit.state("kit") == (ServerState.READY, "")


async def test_concurrent_first_uses_start_one_process(tmp_path: Path) -> None:
    servers = ToolServers({"kit": stdio_profile("kit")}, tmp_path)
    try:
        first, second = await asyncio.gather(servers.tools("kit"), servers.tools("kit"))
        assert first == second
        assert servers.log_path("kit").read_text().count("glm-tui starts:") == 1
    finally:
        await servers.stop_all()
    assert servers.state("kit") == (ServerState.STOPPED, "")
    await servers.stop_all()  # idempotent


async def test_a_stdio_server_gets_its_env_and_not_glm_tuis_secrets(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-for-tool-servers")
    profile = stdio_profile("kit")
    profile = dataclasses.replace(profile, env={**profile.env, "GREETING": "hi"})
    servers = ToolServers({"kit": profile}, tmp_path)
    try:
        result = await servers.call("kit", "environment", {})
    finally:
        await servers.stop_all()
    seen = json.loads(result.text)
    assert seen["GREETING"] == "hi"
    assert "OPENAI_API_KEY" not in seen
    assert seen["PATH"] == os.environ["PATH"]


async def test_a_reference_in_env_is_read_from_glm_tuis_environment_when_the_server_starts(
        tmp_path: Path) -> None:
    """``GITHUB_TOKEN = "${GITHUB_TOKEN}"``: the secret stays in the environment, not in the
    config file, and reaches the one server it is meant for; a missing one is named."""
    import dataclasses

    profile = stdio_profile("kit")
    profile = dataclasses.replace(profile, env={**profile.env, "TOKEN": "tok-${MCP_SECRET}"})
    servers = ToolServers({"kit": profile}, tmp_path, environ={"MCP_SECRET": "s3cret-value"})
    try:
        result = await servers.call("kit", "environment", {})
    finally:
        await servers.stop_all()
    assert json.loads(result.text)["TOKEN"] == "tok-s3cret-value"
    assert "s3cret-value" not in (tmp_path / "mcp-kit.log").read_text(encoding="utf-8")

    missing = ToolServers({"kit": profile}, tmp_path, environ={})
    try:
        failed = await missing.call("kit", "environment", {})
    finally:
        await missing.stop_all()
    assert failed.error is not None
    assert ('the env value "TOKEN" needs the environment variable MCP_SECRET, which is not '
            "set") in failed.error
