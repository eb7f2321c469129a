"""A real MCP server over streamable HTTP on a loopback port, with a header from the environment.

The secret in ``${TOKEN}`` is expanded only when connecting: it reaches the server, and nothing
glm-tui writes or says (errors, states, logs) holds it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from glm_tui.model.mcp_profile import McpServerProfile
from glm_tui.tool_servers.errors import ToolServerError
from glm_tui.tool_servers.servers import ServerState, ToolServers
from tests.support.mcp_servers import HttpServer, http_server, png_bytes
from tests.support.waiting import wait_for

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "s3cret-value-never-written"
HEADERS = {"Authorization": "Bearer ${TOKEN}"}


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("record") / "slow.txt"


@pytest.fixture(scope="module")
def server(record: Path) -> Iterator[HttpServer]:
    with http_server({"Authorization": f"Bearer {SECRET}"}, record) as running:
        yield running


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def web(server: HttpServer, logs: Path) -> AsyncIterator[ToolServers]:
    profile = McpServerProfile("web", url=server.url, headers=HEADERS)
    servers = ToolServers({"web": profile}, logs, environ={"TOKEN": SECRET})
    try:
        yield servers
    finally:
        await servers.stop_all()


async def test_tools_and_calls_over_http_with_the_header_from_the_environment(
        web: ToolServers, server: HttpServer) -> None:
    names = [tool.name for tool in await web.tools("web")]
    assert "echo" in names and "picture" in names
    result = await web.call("web", "echo", {"text": "over http"})
    assert (result.ok, result.text) == (True, "over http")
    assert all(seen.get("authorization") == f"Bearer {SECRET}" for seen in server.seen_headers)
    picture = await web.call("web", "picture", {})
    assert [image.data for image in picture.images] == [png_bytes()]


async def test_a_tool_error_over_http_is_a_flagged_result(web: ToolServers) -> None:
    result = await web.call("web", "fail", {"reason": "no quota"})
    assert (result.ok, result.error) == (False, None)
    assert "no quota" in result.text


async def test_cancelling_a_call_over_http_tells_the_server(web: ToolServers,
                                                            record: Path) -> None:
    def events() -> list[str]:
        return record.read_text().split() if record.exists() else []

    call = asyncio.ensure_future(web.call("web", "slow", {}))
    await wait_for(None, lambda: events() == ["started"], what="the slow tool to start")
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await wait_for(None, lambda: events() == ["started", "cancelled"],
                   what="the server to record notifications/cancelled")


async def test_a_missing_variable_is_named_and_its_server_fails(server: HttpServer,
                                                                tmp_path: Path) -> None:
    profile = McpServerProfile("web", url=server.url, headers=HEADERS)
    servers = ToolServers({"web": profile}, tmp_path, environ={})
    with pytest.raises(ToolServerError) as raised:
        await servers.tools("web")
    assert str(raised.value) == ('the MCP server "web" could not start: the header '
                                 '"Authorization" needs the environment variable TOKEN, which '
                                 "is not set")


async def test_a_refused_header_gives_the_http_status_and_never_the_secret(
        server: HttpServer, tmp_path: Path) -> None:
    profile = McpServerProfile("web", url=server.url, headers=HEADERS)
    wrong = "wrong-" + SECRET
    servers = ToolServers({"web": profile}, tmp_path, environ={"TOKEN": wrong})
    with pytest.raises(ToolServerError) as raised:
        await servers.tools("web")
    message = str(raised.value)
    assert message == ('the MCP server "web" could not start: the server answered HTTP 401 '
                       "Unauthorized")
    assert wrong not in message and wrong not in servers.state("web")[1]
    assert servers.state("web")[0] is ServerState.FAILED


async def test_nothing_glm_tui_writes_holds_the_secret(web: ToolServers, logs: Path) -> None:
    await web.tools("web")
    written = "".join(path.read_text(errors="replace") for path in logs.rglob("*")
                      if path.is_file())
    assert SECRET not in written
    assert SECRET not in repr(web.profile("web"))


async def test_a_server_that_is_not_there_fails_in_words(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    servers = ToolServers({"gone": McpServerProfile("gone", url=f"http://127.0.0.1:{port}/mcp",
                                                    startup_timeout=5)}, tmp_path)
    with pytest.raises(ToolServerError) as raised:
        await servers.tools("gone")
    assert str(raised.value).startswith('the MCP server "gone" could not start: cannot connect '
                                        f"to http://127.0.0.1:{port}/mcp (")
