"""Every configured MCP server: started on first use, called, stopped with the app.

:class:`ToolServers` is what the app (one per run, in its services) and ``glm-tui ask`` hold. A
server starts when its tools are first asked for (never at start-up: the app stays fast and the
``mcp`` SDK is imported only then), stays up for the rest of the run, and stops with
:meth:`ToolServers.stop_all`. A server that failed (could not start, died, sent garbage) is
started afresh by the next :meth:`~ToolServers.tools` or :meth:`~ToolServers.call`.

Calls never raise for a server's fault: a :class:`ToolServerResult` with ``error`` says what went
wrong in plain words. Cancelling the task awaiting :meth:`~ToolServers.call` cancels the request
on the server (the SDK sends ``notifications/cancelled``) and re-raises ``CancelledError``.

A running server may change its tools (``notifications/tools/list_changed``): its connection lists
them again and :meth:`~ToolServers.watch` listeners hear the server's name. A call to a tool the
server no longer lists is never sent: its result is an error saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from glm_tui.model.mcp_profile import McpServerProfile
from glm_tui.tool_servers.connection import (
    CONNECTION_CLOSED,
    REQUEST_TIMEOUT,
    Connection,
    load_sdk,
)
from glm_tui.tool_servers.errors import ToolServerError
from glm_tui.tool_servers.results import ToolServerResult, failed, from_call_result
from glm_tui.tool_servers.tools import ServerTool

DEFAULT_OUTPUT_CAP = 256 * 1024
CANCEL_GRACE_SECONDS = 5.0  # for the SDK to write notifications/cancelled after a cancel


ToolsWatcher = Callable[[str], None]
"""Told the name of a server whose tool list changed while it ran (:meth:`ToolServers.watch`)."""


class ServerState(StrEnum):
    """Where one server is in its life (what the tools screen shows beside its name)."""

    NOT_STARTED = "not started"
    STARTING = "starting"
    READY = "ready"
    FAILED = "failed"
    STOPPED = "stopped"


class ToolServers:
    """Every configured server; each starts on first use and stops with :meth:`stop_all`.

    All methods run on one asyncio loop (Textual's, or ``asyncio.run`` in ``ask``). ``environ``
    is where ``${VAR}`` in headers is read (glm-tui's environment by default; tests pass one).
    """

    def __init__(self, profiles: Mapping[str, McpServerProfile], log_dir: Path, *,
                 environ: Mapping[str, str] | None = None) -> None:
        self._profiles = dict(profiles)
        self._log_dir = log_dir
        self._environ = dict(environ) if environ is not None else None
        self._connections: dict[str, Connection] = {}
        self._starts: dict[str, asyncio.Task[Connection]] = {}
        self._watchers: list[ToolsWatcher] = []

    @property
    def names(self) -> list[str]:
        return list(self._profiles)

    def profile(self, name: str) -> McpServerProfile:
        try:
            return self._profiles[name]
        except KeyError:
            raise ToolServerError(name, f'there is no MCP server named "{name}" in the '
                                  "config file") from None

    def log_path(self, name: str) -> Path:
        """Where server ``name`` writes its stderr (a name the config could not hold, such as
        one with a ``/``, is made safe for a file name)."""
        return self._log_dir / f"mcp-{re.sub(r'[^A-Za-z0-9_-]', '_', name)}.log"

    def state(self, name: str) -> tuple[ServerState, str]:
        """The server's state and, once it failed, the failure in words."""
        self.profile(name)
        start = self._starts.get(name)
        if start is not None and not start.done():
            return ServerState.STARTING, ""
        connection = self._connections.get(name)
        if connection is None:
            return ServerState.NOT_STARTED, ""
        if connection.error is not None:
            return ServerState.FAILED, str(connection.error)
        if connection.client is not None:
            return ServerState.READY, ""
        return ServerState.STOPPED, ""

    def listed(self, name: str) -> list[ServerTool] | None:
        """The tools server ``name`` listed last, if it is running (starts nothing)."""
        connection = self._connections.get(name)
        if connection is None or connection.client is None or connection.error is not None:
            return None
        return list(connection.tools)

    def watch(self, watcher: ToolsWatcher) -> Callable[[], None]:
        """Call ``watcher(name)`` (soon, on the loop) each time server ``name`` changes its tool
        list while running; returns what stops watching."""
        self._watchers.append(watcher)

        def unwatch() -> None:
            with contextlib.suppress(ValueError):
                self._watchers.remove(watcher)

        return unwatch

    def _tools_changed(self, name: str) -> None:
        # Soon, not here in the server's holding task: a watcher that fails (a screen being
        # taken down) must not end the connection; the loop reports it like any callback's.
        def tell(watcher: ToolsWatcher) -> None:
            if watcher in self._watchers:  # not if it stopped watching meanwhile
                watcher(name)

        loop = asyncio.get_running_loop()
        for watcher in list(self._watchers):
            loop.call_soon(tell, watcher)

    async def tools(self, name: str) -> list[ServerTool]:
        """The server's tools, starting it if needed; raises :class:`ToolServerError`."""
        return list((await self._connected(name)).tools)

    async def call(self, name: str, tool: str, arguments: dict[str, Any], *,
                   timeout: float | None = None, output_cap: int = DEFAULT_OUTPUT_CAP,
                   ) -> ToolServerResult:
        """Call ``tool`` on server ``name``; a failure is a result with ``error``, not a raise."""
        try:
            connection = await self._connected(name)
        except ToolServerError as exc:
            return failed(str(exc))
        if tool not in {listed.name for listed in connection.tools}:
            return failed(f'the MCP server "{name}" does not offer the tool {tool} now (it is '
                          "not in the tool list the server sends); the call was not made")
        limit = connection.profile.call_timeout if timeout is None else timeout
        return await _call(connection, tool, arguments, limit, output_cap)

    async def stop_all(self) -> None:
        """Stop every server (idempotent; a server that will not stop is killed)."""
        starts = [task for task in self._starts.values() if not task.done()]
        for task in starts:
            task.cancel()
        for task in starts:
            with contextlib.suppress(BaseException):
                await task
        connections = list(self._connections.values())
        await asyncio.gather(*(connection.stop() for connection in connections),
                             return_exceptions=True)

    async def _connected(self, name: str) -> Connection:
        """The ready connection to ``name``, started (once, shared by concurrent callers)."""
        profile = self.profile(name)
        connection = self._connections.get(name)
        start = self._starts.get(name)
        if start is None or start.done():
            if connection is not None and connection.client is not None \
                    and connection.error is None:
                return connection
            start = asyncio.get_running_loop().create_task(self._start(profile))
            self._starts[name] = start
        try:
            return await asyncio.shield(start)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if start.cancelled() and current is not None and not current.cancelling():
                # stop_all ended the start this caller was waiting for: not its own cancel
                raise ToolServerError(name, f'the MCP server "{name}" was stopped before it '
                                      "was ready") from None
            raise

    async def _start(self, profile: McpServerProfile) -> Connection:
        await load_sdk()
        old = self._connections.get(profile.name)
        if old is not None:
            await old.stop()
        connection = Connection(profile, self.log_path(profile.name), self._environ,
                                lambda: self._tools_changed(profile.name))
        self._connections[profile.name] = connection
        try:
            await connection.start()
        except asyncio.CancelledError:
            await connection.stop()
            raise
        return connection


async def _call(connection: Connection, tool: str, arguments: dict[str, Any], timeout: float,
                output_cap: int) -> ToolServerResult:
    """One ``tools/call``, run in its own task so that a cancel reaches the server.

    The SDK tells the server about a cancelled request when *anyio* cancels it; a plain asyncio
    cancel of the caller could cut that notice short. So the request runs in an inner task under
    an anyio cancel scope, and a cancel of the caller becomes that scope's cancel, awaited (a
    few seconds at most) before ``CancelledError`` goes on.
    """
    import anyio

    scope = anyio.CancelScope()
    connection.http_refusal = ""  # a status from before this call says nothing about it

    async def request() -> Any:
        with scope:
            return await connection.client.call_tool(tool, arguments,
                                                     read_timeout_seconds=timeout)
        return None  # cancelled before an answer

    inner = asyncio.get_running_loop().create_task(request())
    try:
        result = await asyncio.shield(inner)
    except asyncio.CancelledError:
        scope.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(asyncio.shield(inner), CANCEL_GRACE_SECONDS)
        raise
    except Exception as exc:
        return _failure(connection, tool, timeout, exc)
    if result is None:
        return failed(f'the call to {tool} on the MCP server "{connection.name}" was cancelled')
    return from_call_result(result, output_cap)


def _failure(connection: Connection, tool: str, timeout: float,
             exc: Exception) -> ToolServerResult:
    name = connection.name
    code = getattr(exc, "code", None)
    if code == REQUEST_TIMEOUT:
        return failed(f'the MCP server "{name}" did not answer the call to {tool} within '
                      f"{timeout:g} s (it was told to stop)")
    if connection.stopping:
        return failed(f'the MCP server "{name}" was stopped during the call to {tool}')
    if code == CONNECTION_CLOSED or not connection.running:
        error = connection.fail(f'the MCP server "{name}" stopped during the call to {tool}'
                                f"{connection.diagnosis()}")
        return failed(str(error))
    if type(exc).__name__ == "ValidationError":
        return failed(f'the MCP server "{name}" answered the call to {tool} with something '
                      "that is not a valid MCP result")
    if connection.http_refusal:
        return failed(f'the call to {tool} on the MCP server "{name}" failed: '
                      f"{connection.describe(exc)}")
    if code is not None:
        return failed(f'the MCP server "{name}" refused the call to {tool}: '
                      f"{getattr(exc, 'message', exc)}")
    return failed(f'the call to {tool} on the MCP server "{name}" failed: '
                  f"{connection.describe(exc)}")
