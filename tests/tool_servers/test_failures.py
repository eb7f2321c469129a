"""Servers that fail at start: each gives plain words naming the server, and a later use retries.

Every server here is a real process over real pipes (tests/support/mcp_servers.py).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from glm_tui.tool_servers.errors import ToolServerError
from glm_tui.tool_servers.servers import ServerState, ToolServers
from tests.support.mcp_servers import stdio_profile
from tests.support.waiting import wait_for


async def start_failure(servers: ToolServers, name: str) -> str:
    with pytest.raises(ToolServerError) as raised:
        await servers.tools(name)
    assert raised.value.server == name
    assert servers.state(name) == (ServerState.FAILED, str(raised.value))
    return str(raised.value)


async def test_a_server_that_exits_at_start_is_named_with_its_last_stderr_line(
        tmp_path: Path) -> None:
    servers = ToolServers({"db": stdio_profile("exits", server="db")}, tmp_path)
    message = await start_failure(servers, "db")
    assert message == ('the MCP server "db" could not start: it closed the connection (the '
                       "process ended); its stderr ends with: kit: cannot open the database: "
                       "no such file")
    result = await servers.call("db", "echo", {})  # a later use tries again, and says so again
    assert result.error == message
    assert servers.log_path("db").read_text().count("glm-tui starts:") == 2


async def test_a_server_that_hangs_in_initialize_is_stopped_at_its_startup_timeout(
        tmp_path: Path) -> None:
    servers = ToolServers({"slow": stdio_profile("hangs", server="slow", startup_timeout=0.5)},
                          tmp_path)
    message = await start_failure(servers, "slow")
    assert message == ('the MCP server "slow" could not start: it did not start and list its '
                       "tools within 0.5 s")


@pytest.mark.slow
async def test_a_hung_server_that_ignores_its_stdin_closing_and_sigterm_is_killed(
        tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    servers = ToolServers({"stuck": stdio_profile("stubborn", server="stuck", record=record,
                                                  startup_timeout=0.5)}, tmp_path)
    started = time.monotonic()
    await start_failure(servers, "stuck")
    assert time.monotonic() - started < 15  # close stdin, 2 s, SIGTERM, 2 s, SIGKILL
    pid = int(record.read_text().strip().removeprefix("pid="))
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_a_server_that_writes_garbage_on_stdout_says_so(tmp_path: Path) -> None:
    servers = ToolServers({"junk": stdio_profile("garbage", server="junk",
                                                 startup_timeout=0.5)}, tmp_path)
    message = await start_failure(servers, "junk")
    assert message == ('the MCP server "junk" could not start: it did not start and list its '
                       "tools within 0.5 s; it wrote 1 line(s) on its stdout that are not MCP "
                       "messages (a stdio server must write only MCP messages there)")


async def test_a_server_that_prints_one_banner_line_on_stdout_still_works(
        tmp_path: Path) -> None:
    servers = ToolServers({"noisy": stdio_profile("noisy")}, tmp_path)
    try:
        result = await servers.call("noisy", "echo", {"text": "fine"})
        assert (result.ok, result.text) == (True, "fine")
    finally:
        await servers.stop_all()


async def test_nothing_from_the_sdk_is_printed_on_the_terminal(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    servers = ToolServers({"junk": stdio_profile("garbage", server="junk",
                                                 startup_timeout=0.5)}, tmp_path)
    await start_failure(servers, "junk")
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


async def test_a_server_that_dies_while_idle_shows_as_failed_and_the_next_call_restarts_it(
        tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    servers = ToolServers({"kit": stdio_profile("kit", record=record)}, tmp_path)
    try:
        assert (await servers.call("kit", "pid", {})).text.isdigit()
        pid = int((await servers.call("kit", "pid", {})).text)
        os.kill(pid, signal.SIGKILL)
        await wait_for(None, lambda: servers.state("kit")[0] is ServerState.FAILED,
                       what="the death to be noticed")
        assert servers.state("kit")[1].startswith('the MCP server "kit" stopped')
        result = await servers.call("kit", "echo", {"text": "again"})
        assert (result.ok, result.text) == (True, "again")
        assert int((await servers.call("kit", "pid", {})).text) != pid
    finally:
        await servers.stop_all()


def test_a_log_grown_too_long_is_set_aside_for_one_generation(tmp_path: Path) -> None:
    from glm_tui.tool_servers.connection import LOG_KEEP_BYTES, open_log

    log = tmp_path / "mcp-chatty.log"
    old = tmp_path / "mcp-chatty.log.1"
    old.write_text("the generation before\n")
    log.write_bytes(b"old line\n" * (LOG_KEEP_BYTES // 8) + b"the last line\n")
    with open_log(log) as out:
        out.write("new line\n")
    assert log.read_text() == "new line\n"
    assert old.read_text().endswith("the last line\n")
    with open_log(log) as out:  # a small log is appended to
        out.write("next\n")
    assert log.read_text() == "new line\nnext\n"
    assert ToolServers({}, tmp_path).log_path("../x y").name == "mcp-___x_y.log"


async def test_stopping_during_a_hung_start_ends_it_at_once(tmp_path: Path) -> None:
    servers = ToolServers({"slow": stdio_profile("hangs", server="slow", startup_timeout=60)},
                          tmp_path)
    start = asyncio.ensure_future(servers.tools("slow"))
    await wait_for(None, lambda: "glm-tui starts:" in (
        servers.log_path("slow").read_text() if servers.log_path("slow").exists() else ""),
        what="the server to be started")
    assert servers.state("slow")[0] is ServerState.STARTING
    started = time.monotonic()
    await servers.stop_all()
    assert time.monotonic() - started < 10  # not the 60 s start-up timeout
    with pytest.raises(ToolServerError, match="was stopped before it was ready"):
        await start
    assert servers.state("slow")[0] is ServerState.STOPPED


async def test_stopping_during_a_call_ends_the_call_in_words(tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    servers = ToolServers({"kit": stdio_profile("kit", record=record)}, tmp_path)
    call = asyncio.ensure_future(servers.call("kit", "slow", {}))
    await wait_for(None, lambda: record.exists() and "started" in record.read_text(),
                   what="the slow tool to start")
    await servers.stop_all()
    result = await call
    assert result.error == 'the MCP server "kit" was stopped during the call to slow'
    assert servers.state("kit") == (ServerState.STOPPED, "")
