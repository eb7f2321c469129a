"""Small real MCP servers for the tests, written with the SDK's own server classes.

Each is runnable over stdio as ``python -m tests.support.mcp_servers NAME`` (what a
``[mcp_servers.NAME]`` profile with ``command = sys.executable`` starts), and the tool kit can
also be served over streamable HTTP on a loopback port inside the test process
(:class:`HttpServer`), with an optional required header to test ``${VAR}`` expansion.

NAMEs:
  * ``kit``: the tools (echo, now, fail, huge, picture, slow, pid, environment, quit,
    tricky); one process serves a whole test module;
  * ``exits``: writes a line to stderr and exits before answering anything;
  * ``hangs``: reads its stdin and never answers (``initialize`` hangs);
  * ``stubborn``: like ``hangs``, but also ignores the end of its stdin (must be killed);
  * ``garbage``: answers every line with text that is not JSON-RPC;
  * ``noisy``: the tool kit, but it prints a line of garbage on stdout before serving;
  * ``changing``: a server whose tool list changes on request (:func:`changing`): it sends
    ``notifications/tools/list_changed`` as a real server does after each change.

``stubborn`` notes ``pid=N`` there (a test checks it was killed), and ``slow`` records what
happened to it in the file named by ``$MCP_TEST_RECORD``: ``started``
when it begins, ``cancelled`` when the client's ``notifications/cancelled`` interrupted it,
so a test can prove the server was told.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RECORD_ENV = "MCP_TEST_RECORD"
HUGE_CHARS = 10 * 1024 * 1024
TRICKY_DESCRIPTION = "Shows [bold red]markup[/] and \x1b[31mescapes\x1b[0m literally"


def png_bytes(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (8, 6)) -> bytes:
    """A real PNG made with Pillow (only the ``picture`` tool needs it)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def _record(line: str, path: str | None = None) -> None:
    path = path or os.environ.get(RECORD_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")


def kit(record: Path | None = None) -> Any:
    """The tool kit: an MCPServer with every kind of tool a test needs (``record``: where
    ``slow`` notes what happened, instead of ``$MCP_TEST_RECORD``)."""
    import anyio
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ImageContent, TextContent

    server = MCPServer("kit")

    @server.tool(description="Echo the text back")
    def echo(text: str) -> str:
        return text

    @server.tool(description="The current UTC time, ISO 8601")
    def now() -> str:
        return datetime.now(UTC).isoformat()

    @server.tool(description="Always raises")
    def fail(reason: str = "broken on purpose") -> str:
        raise ToolError(reason)

    @server.tool(description="Returns ten megabytes of text", structured_output=False)
    def huge() -> str:
        return "x" * HUGE_CHARS

    @server.tool(description="Returns a small PNG picture and a caption")
    def picture() -> list[Any]:
        data = base64.b64encode(png_bytes()).decode("ascii")
        return [TextContent(text="a red rectangle"),
                ImageContent(data=data, mime_type="image/png")]

    @server.tool(description="Waits until cancelled")
    async def slow() -> str:
        where = str(record) if record is not None else None
        _record("started", where)
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            _record("cancelled", where)
            raise
        return "never"

    @server.tool(description="The server's environment, as JSON", structured_output=False)
    def environment() -> str:
        import json

        return json.dumps(dict(os.environ))

    @server.tool(description="The server's process id")
    def pid() -> str:
        return str(os.getpid())

    @server.tool(description="Exits the server process in the middle of the call")
    def quit() -> str:
        os._exit(3)

    @server.tool(description=TRICKY_DESCRIPTION)
    def tricky(text: str = "") -> str:
        return f"[b]{text}[/b]\x1b[2J"

    return server


def changing() -> Any:
    """A server that changes its own tool list: ``add_tool(name, description)`` adds an echo
    tool ``name`` (or replaces the one of that name, with a new description and a ``loud``
    argument), ``remove_tool(name)`` removes one; each then sends
    ``notifications/tools/list_changed``. It starts with ``echo`` and ``pid`` besides those."""
    from mcp.server.mcpserver import Context, MCPServer

    server = MCPServer("changing")

    @server.tool(description="Echo the text back")
    def echo(text: str) -> str:
        return text

    @server.tool(description="The server's process id")
    def pid() -> str:
        return str(os.getpid())

    async def add_tool(name: str, ctx: Any, description: str = "Added later") -> str:
        def added(text: str, loud: bool = False) -> str:
            return text.upper() if loud else text

        with contextlib.suppress(Exception):
            server.remove_tool(name)
        server.add_tool(added, name=name, description=description)
        await ctx.session.send_tool_list_changed()
        return f"added {name}"

    async def remove_tool(name: str, ctx: Any) -> str:
        server.remove_tool(name)
        await ctx.session.send_tool_list_changed()
        return f"removed {name}"

    # The SDK finds the context argument by its annotation, which this module's postponed
    # annotations would leave as the string "Any": give it the class itself.
    for tool, description in ((add_tool, "Add (or replace) an echo tool, then say the list "
                               "changed"), (remove_tool, "Remove a tool, then say the list "
                                            "changed")):
        tool.__annotations__["ctx"] = Context
        server.add_tool(tool, description=description)

    return server


def _serve_stdio(name: str) -> None:
    if name == "exits":
        print("kit: cannot open the database: no such file", file=sys.stderr, flush=True)
        sys.exit(4)
    if name in ("hangs", "stubborn"):
        if name == "stubborn":
            import signal

            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            _record(f"pid={os.getpid()}")
            with contextlib.suppress(OSError):
                sys.stdin.read()
            threading.Event().wait()
        sys.stdin.read()  # never answers; ends when the client closes our stdin
        return
    if name == "garbage":
        for _line in sys.stdin:
            print("this is not JSON-RPC", flush=True)
        return
    if name == "noisy":
        print("Starting server on stdio...", flush=True)
    if name == "changing":
        changing().run("stdio")
        return
    print(f"{name}: serving on stdio", file=sys.stderr, flush=True)
    kit().run("stdio")


class HttpServer:
    """The tool kit over streamable HTTP on 127.0.0.1, in a thread of the test process.

    ``required_headers``: requests without these exact headers get 401 (to test headers from
    the environment). ``url`` is the endpoint to configure. ``kind``: ``"kit"`` or
    ``"changing"`` (:func:`changing`).
    """

    def __init__(self, required_headers: dict[str, str] | None = None,
                 record: Path | None = None, kind: str = "kit") -> None:
        self.required_headers = dict(required_headers or {})
        self.record = record
        self.kind = kind
        self.seen_headers: list[dict[str, str]] = []
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def _app(self) -> Any:
        from starlette.responses import PlainTextResponse

        inner = (changing() if self.kind == "changing" else kit(self.record)
                 ).streamable_http_app()
        required = self.required_headers
        seen = self.seen_headers

        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                headers = {k.decode("latin-1"): v.decode("latin-1")
                           for k, v in scope["headers"]}
                seen.append(headers)
                if any(headers.get(k.lower()) != v for k, v in required.items()):
                    await PlainTextResponse("unauthorized", status_code=401)(scope, receive, send)
                    return
            await inner(scope, receive, send)

        return app

    def start(self) -> HttpServer:
        import uvicorn

        config = uvicorn.Config(self._app(), host="127.0.0.1", port=0, log_level="warning",
                                lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        from tests.support.waiting import wait_until

        wait_until(lambda: self._server.started or None, "the MCP HTTP server to start")
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)


@contextlib.contextmanager
def http_server(required_headers: dict[str, str] | None = None,
                record: Path | None = None, kind: str = "kit") -> Iterator[HttpServer]:
    server = HttpServer(required_headers, record, kind).start()
    try:
        yield server
    finally:
        server.stop()


REPO_ROOT = Path(__file__).resolve().parents[2]


def stdio_profile(name: str, *, server: str | None = None, record: Path | None = None,
                  startup_timeout: float = 20.0, call_timeout: float = 60.0) -> Any:
    """A profile that starts test server ``name`` over stdio (as ``server``, default ``name``)."""
    from glm_tui.model.mcp_profile import McpServerProfile

    env = {"PYTHONPATH": str(REPO_ROOT)}
    if record is not None:
        env[RECORD_ENV] = str(record)
    return McpServerProfile(name=server or name, command=sys.executable,
                            args=("-m", "tests.support.mcp_servers", name), env=env,
                            startup_timeout=startup_timeout, call_timeout=call_timeout)

if __name__ == "__main__":
    _serve_stdio(sys.argv[1] if len(sys.argv) > 1 else "kit")
