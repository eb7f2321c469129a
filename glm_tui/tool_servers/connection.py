"""One running MCP server: a task that holds the SDK's connection open, driven from other tasks.

The SDK's transports and client are async context managers built on anyio task groups and
cancel scopes, which must be exited by the task that entered them. So each server gets one
long-lived task (:meth:`Connection._hold`) that enters them, lists the tools, reports ready and
then waits to be told to stop; the app's or ``ask``'s other tasks (same asyncio loop) send
requests through the connected client, which the SDK allows from any task.

Start-up is bounded by ``startup_timeout`` as a deadline on the holding task's own cancel scope
(moved to infinity once the tools are listed): a server that hangs in ``initialize`` is stopped
by the SDK's own shutdown (close stdin, SIGTERM, SIGKILL of its process group).

A server that later sends ``notifications/tools/list_changed`` has its tools listed again by
that same holding task (the SDK's notification callback only wakes it: a request made inside the
callback would wait on the reader that is running the callback); ``on_tools_changed`` then tells
:class:`ToolServers`, which tells whoever watches it (the tools screen).

Every message names the server. What a server says about its failure is usually on its stderr,
which goes to ``<data dir>/logs/mcp-NAME.log``; the messages quote its last lines from this run.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from pathlib import Path
from typing import IO, Any

from glm_tui.model.mcp_profile import (
    McpServerProfile,
    McpTransport,
    MissingVariable,
    expand_variables,
)
from glm_tui.tool_servers.errors import ToolServerError
from glm_tui.tool_servers.tools import ServerTool
from glm_tui.tool_servers.watched import watched

CLIENT_NAME = "glm-tui"
MAX_SSE_EVENT_BYTES = 32 * 1024 * 1024  # one HTTP result; larger fails as "too large"
STOP_GRACE_SECONDS = 10.0  # the SDK's own shutdown takes at most ~6 s (stdin, TERM, KILL)
CONNECTION_CLOSED = -32000  # the SDK's MCPError codes (mcp_types.jsonrpc), kept here so that
REQUEST_TIMEOUT = -32001  # reading them does not import the SDK
LOG_KEEP_BYTES = 1024 * 1024
_TAIL_LINES = 3
_TAIL_CHARS = 400


SDK_MODULES = ("mcp.types", "mcp.client.client", "mcp.client.stdio",
               "mcp.client.streamable_http")
"""What talking to a server imports (with pydantic, anyio, httpx...): seconds on a busy machine."""


async def load_sdk() -> None:
    """Import the MCP SDK in a thread before the first server starts, so the app's loop keeps
    drawing ("starting…", a running call) meanwhile and the import never counts against a
    server's start-up timeout; once loaded, this costs nothing."""
    if all(name in sys.modules for name in SDK_MODULES):
        return

    def load() -> None:
        for name in SDK_MODULES:
            with contextlib.suppress(ImportError):  # the server's start says it in words
                importlib.import_module(name)

    await asyncio.to_thread(load)


class Connection:
    """One server's live connection (or its failure); made by :class:`ToolServers`."""

    def __init__(self, profile: McpServerProfile, log_path: Path,
                 environ: dict[str, str] | None = None,
                 on_tools_changed: Callable[[], None] | None = None) -> None:
        self.profile = profile
        self.on_tools_changed = on_tools_changed  # after a re-list that changed the tools
        self.log_path = log_path
        self.environ = environ
        self.client: Any = None  # mcp.client.Client once ready
        self.tools: list[ServerTool] = []
        self.error: ToolServerError | None = None  # why it failed or stopped
        self.garbage_lines = 0  # stdout lines that were not MCP messages
        self.http_refusal = ""  # the last HTTP error status ("401 Unauthorized")
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._stop = asyncio.Event()  # wakes the holding task: stop, or the server ended
        self._wake = asyncio.Event()  # wakes it for either of: _stop, or a list to read again
        self._relist_wanted = False  # the server said its tool list changed
        self._stopping = False  # asked to stop (not a failure)
        self._ended = False  # the transport ended (a stdio server's stdout closed)
        self._scope: Any = None  # the holding task's anyio CancelScope
        self._log_start = 0

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def stopping(self) -> bool:
        """Asked to stop (by :meth:`stop`): what ends now is not a failure."""
        return self._stopping

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> list[ServerTool]:
        """Start the server, connect and list its tools; raises :class:`ToolServerError`."""
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        # Its failure is read by whoever awaits it; mark it read when nobody does (a start
        # abandoned by stop_all), so asyncio does not log "exception was never retrieved".
        self._ready.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._task = loop.create_task(self._hold(), name=f"mcp-server-{self.name}")
        await asyncio.shield(self._ready)
        return self.tools

    async def stop(self) -> None:
        """Close the connection (the SDK stops a stdio server); idempotent, bounded."""
        self._stopping = True
        self._stop_now()
        task = self._task
        if task is None or task.done():
            return
        if self._ready is not None and not self._ready.done() and self._scope is not None:
            self._scope.cancel()  # still starting: nothing to close gracefully
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), STOP_GRACE_SECONDS)
            return
        if self._scope is not None:
            self._scope.cancel()  # anyio's own cancel: the SDK's shielded shutdown still runs
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(task), STOP_GRACE_SECONDS)

    def _stop_now(self) -> None:
        self._stop.set()
        self._wake.set()

    def tools_changed(self) -> None:
        """The server sent ``notifications/tools/list_changed``: list them again (in the
        holding task, soon; several notices before it gets to it make one re-list)."""
        self._relist_wanted = True
        self._wake.set()

    def fail(self, message: str) -> ToolServerError:
        """Mark the connection failed (the next use starts the server again) and stop it."""
        self.error = ToolServerError(self.name, message)
        self._stop_now()
        return self.error

    async def _hold(self) -> None:
        import anyio

        assert self._ready is not None
        ready = self._ready
        try:
            with anyio.CancelScope(deadline=anyio.current_time()
                                   + self.profile.startup_timeout) as scope:
                self._scope = scope
                async with AsyncExitStack() as stack:
                    client = await stack.enter_async_context(await self._client(stack))
                    self.tools = await _list_tools(client, self.name)
                    scope.deadline = math.inf
                    self.client = client
                    ready.set_result(None)
                    await self._serve(client)
                    if self._ended and self.error is None and not self._stopping:
                        self.error = ToolServerError(self.name, f'the MCP server "{self.name}" '
                                                     f"stopped{self.diagnosis()}")
            if scope.cancelled_caught and not ready.done() and not self._stopping:
                self.error = self._startup_error(
                    f"it did not start and list its tools within "
                    f"{self.profile.startup_timeout:g} s")
        except MissingVariable as exc:
            self.error = ToolServerError(self.name, f'the MCP server "{self.name}" could not '
                                         f"start: {exc}")
        except Exception as exc:  # the SDK raises many kinds (OSError, MCPError, groups...)
            cause = self.describe(exc)
            if not ready.done():
                self.error = self._startup_error(cause)
            elif self.error is None:
                self.error = ToolServerError(self.name, f'the MCP server "{self.name}" '
                                             f"stopped: {cause}")
        finally:
            self.client = None
            if not ready.done():
                ready.set_exception(self.error or ToolServerError(
                    self.name, f'the MCP server "{self.name}" was stopped before it was ready'))
            elif self.error is None and not self._stop.is_set():
                self.error = ToolServerError(self.name, f'the MCP server "{self.name}" stopped')

    async def _serve(self, client: Any) -> None:
        """Until told to stop (or the server ended): list the tools again each time the server
        says they changed. A re-list that fails or hangs (past ``startup_timeout``) keeps the
        list from before; a server that died meanwhile is noticed as usual."""
        import anyio

        while not self._stop.is_set():
            await self._wake.wait()
            self._wake.clear()
            if self._stop.is_set() or not self._relist_wanted:
                continue
            self._relist_wanted = False
            tools: list[ServerTool] | None = None
            with anyio.move_on_after(self.profile.startup_timeout), \
                    contextlib.suppress(Exception):
                tools = await _list_tools(client, self.name)
            if tools is not None and tools != self.tools and not self._stop.is_set():
                self.tools = tools
                if self.on_tools_changed is not None:
                    self.on_tools_changed()

    async def _client(self, stack: AsyncExitStack) -> AbstractAsyncContextManager[Any]:
        """The SDK client for this profile (its transport's resources go on ``stack``)."""
        from mcp.client.client import Client
        from mcp.types import Implementation

        quiet_sdk_logging()

        transport: AbstractAsyncContextManager[Any]
        if self.profile.transport is McpTransport.HTTP:
            transport = await self._http_transport(stack)
        else:
            transport = self._stdio_transport(stack)

        def on_end() -> None:
            self._ended = True
            self._stop_now()

        transport = watched(transport, on_end)

        from mcp.types import ToolListChangedNotification

        async def on_message(message: Any) -> None:
            if isinstance(message, Exception):
                self.garbage_lines += 1
            elif isinstance(message, ToolListChangedNotification):
                self.tools_changed()

        from glm_tui import __version__

        return Client(transport, mode="legacy", cache=None, message_handler=on_message,
                      client_info=Implementation(name=CLIENT_NAME, version=__version__))

    def _stdio_transport(self, stack: AsyncExitStack) -> AbstractAsyncContextManager[Any]:
        from mcp.client.stdio import StdioServerParameters, stdio_client

        log = stack.enter_context(open_log(self.log_path))
        command = " ".join([self.profile.command or "", *self.profile.args])
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} glm-tui starts: {command}\n")
        log.flush()
        self._log_start = log.tell()
        environ = os.environ if self.environ is None else self.environ
        env = expand_variables(self.profile.env, environ, what="env value")
        params = StdioServerParameters(command=self.profile.command or "",
                                       args=list(self.profile.args), env=env)
        return stdio_client(params, errlog=log)

    async def _http_transport(self, stack: AsyncExitStack) -> AbstractAsyncContextManager[Any]:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        environ = os.environ if self.environ is None else self.environ
        headers = expand_variables(self.profile.headers, environ)

        async def note_refusal(response: httpx2.Response) -> None:
            # The SDK turns any HTTP error into "Server returned an error response"; the
            # status (401: the token is wrong) is what the person needs to know.
            if response.status_code >= 400:
                self.http_refusal = f"{response.status_code} {response.reason_phrase}".strip()

        http = await stack.enter_async_context(httpx2.AsyncClient(
            headers=headers, timeout=httpx2.Timeout(30.0, read=300.0),
            event_hooks={"response": [note_refusal]}))
        assert self.profile.url is not None
        return streamable_http_client(self.profile.url, http_client=http,
                                      max_sse_event_size=MAX_SSE_EVENT_BYTES)

    def describe(self, exc: BaseException) -> str:
        """A failure in words; over HTTP, an error status the server answered comes first
        (the SDK reports any of them as "Server returned an error response")."""
        if self.http_refusal:
            return f"the server answered HTTP {self.http_refusal}"
        cause = describe_failure(exc)
        if self.profile.url is not None and any(
                "Connect" in type(leaf).__name__ for leaf in leaf_errors(exc)):
            return f"cannot connect to {self.profile.url} ({cause})"
        return cause

    def _startup_error(self, cause: str) -> ToolServerError:
        return ToolServerError(self.name, f'the MCP server "{self.name}" could not start: '
                               f"{cause}{self.diagnosis()}")

    def diagnosis(self) -> str:
        """What else is known: stdout garbage, the last lines of its stderr from this run."""
        notes = []
        if self.garbage_lines:
            notes.append(f"it wrote {self.garbage_lines} line(s) on its stdout that are not "
                         "MCP messages (a stdio server must write only MCP messages there)")
        tail = self.stderr_tail()
        if tail:
            notes.append(f"its stderr ends with: {tail}")
        return "".join(f"; {note}" for note in notes)

    def stderr_tail(self) -> str:
        """The last few lines the server wrote to its stderr since this start ('' if none)."""
        if self.profile.transport is not McpTransport.STDIO:
            return ""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_start)
                text = log.read()[-8192:].decode("utf-8", errors="replace")
        except OSError:
            return ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return " | ".join(lines[-_TAIL_LINES:])[-_TAIL_CHARS:]


def quiet_sdk_logging() -> None:
    """Keep the SDK's log records (tracebacks for each garbage line...) off the terminal.

    With no handler, Python prints WARNING and above to stderr, over the full-screen app. The
    same facts reach the person in the error messages; an app that configures logging still
    gets the records (they propagate).
    """
    sdk = logging.getLogger("mcp")
    if not any(isinstance(handler, logging.NullHandler) for handler in sdk.handlers):
        sdk.addHandler(logging.NullHandler())


@contextlib.contextmanager
def open_log(path: Path) -> Any:
    """The server's stderr log, appended, created 0600 in a 0700 folder (a real file: a child
    writes to it).

    A log grown past ``LOG_KEEP_BYTES`` is set aside first (:func:`_rotate`): a chatty server
    started every day must not fill the disk.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # private, as the data directory
    _rotate(path)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    log: IO[str] = os.fdopen(fd, "a", encoding="utf-8", errors="replace")
    with log:
        yield log


def _rotate(path: Path) -> None:
    """A log past ``LOG_KEEP_BYTES`` becomes ``mcp-NAME.log.1`` (replacing the one before), so
    a server's logs take at most about twice that. Nothing is rewritten: the file is renamed."""
    try:
        if path.stat().st_size > LOG_KEEP_BYTES:
            path.replace(path.with_name(path.name + ".1"))
    except OSError:
        return


async def _list_tools(client: Any, server: str) -> list[ServerTool]:
    """Every tool, following pagination (a server that pages forever is cut at 100 pages)."""
    tools: list[ServerTool] = []
    cursor: str | None = None
    for _ in range(100):
        page = await client.list_tools(cursor=cursor)
        tools += [ServerTool(server=server, name=tool.name,
                             description=tool.description or "",
                             input_schema=dict(tool.input_schema or {}))
                  for tool in page.tools]
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def leaf_errors(exc: BaseException) -> list[BaseException]:
    """The real errors inside (nested) exception groups, which anyio's task groups raise."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaf_errors(inner)]
    return [exc]


def describe_failure(exc: BaseException) -> str:
    """An SDK or OS failure in plain words."""
    leaves = [leaf for leaf in leaf_errors(exc) if not isinstance(leaf, asyncio.CancelledError)]
    leaf = leaves[0] if leaves else exc
    if isinstance(leaf, FileNotFoundError):
        return f"the command was not found ({leaf.filename or leaf})"
    if isinstance(leaf, PermissionError):
        return f"the command cannot be run: {leaf.strerror or leaf}"
    if isinstance(leaf, OSError):
        return f"{leaf.strerror or leaf}"
    code = getattr(leaf, "code", None)
    message = str(getattr(leaf, "message", "") or leaf) or type(leaf).__name__
    if code == CONNECTION_CLOSED:
        return "it closed the connection (the process ended)"
    status = getattr(getattr(leaf, "response", None), "status_code", None)
    if status is not None:
        return f"the server answered HTTP {status}"
    return message
