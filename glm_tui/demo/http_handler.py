"""The demo server's HTTP side for one connection: read, route, check the key, answer, write.

Standard library HTTP (``http.server``), but every response is written as raw bytes so each frame
is exact: the status line and headers as real servers send them, a whole body with a
Content-Length (:class:`~glm_tui.demo.wire.WholeResponse`) or a chunked stream written as its
frames fall due (:class:`~glm_tui.demo.pacing.TokenClock`), and a connection dropped mid-answer
when asked to. What to check and answer is the flavours' business (``checks``, ``flavors``).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, TextIO
from urllib.parse import urlsplit

from glm_tui.demo.checks import glm4_checks, json_error, openai_checks
from glm_tui.demo.directives import parse_directives
from glm_tui.demo.flavors import (
    Answer,
    Chat,
    answer_glm4,
    answer_glm4v,
    answer_openai,
    is_vision_model,
)
from glm_tui.demo.pacing import Stopping, TokenClock
from glm_tui.demo.request_text import last_user_text
from glm_tui.demo.wire import (
    PLAIN_TEXT,
    StreamPlan,
    WholeResponse,
    detail,
    directed_error,
    dumps,
    openai_error,
    plain_error,
)

MAX_BODY_BYTES = 64 * 1024 * 1024


class DemoHost(Protocol):
    """What a connection needs from the server that accepted it (``DemoServer``)."""

    flavor: str
    api_key: str | None
    token_rate: float
    stopping: threading.Event
    access_log: TextIO | None

    def log_request(self, method: str, path: str, raw: bytes) -> None:
        """Append the request to the request log, if there is one."""

    def models(self) -> dict[str, Any]:
        """The ``GET /v1/models`` body in the flavour's shape."""

    def track(self, connection: socket.socket, active: bool) -> None:
        """Note an open (or closed) connection, so that stopping can cut it."""


class _ClientGone(Exception):
    """The client closed the connection; nothing more can be sent."""


class _Handler(BaseHTTPRequestHandler):
    """One connection; requests on it are handled in turn (HTTP/1.1 keep-alive)."""

    protocol_version = "HTTP/1.1"
    server: DemoHTTPServer
    timeout = 300
    _started = False  # whether response bytes went out (then an error can only cut the line)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Silence http.server's own stderr lines; access lines go to ``access_log`` if set."""

    def _access(self, status: int) -> None:
        stream = self.server.demo.access_log
        if stream is not None:
            # The path is whatever the client sent: an ESC in it must not reach a terminal.
            print(f"{self.command} {_printable(self.path)} -> {status}", file=stream, flush=True)

    def _dispatch(self) -> None:
        self._started = False
        path = urlsplit(self.path).path
        try:
            body = self._read_body()
            self.server.demo.log_request(self.command, path, body)
            self._route(path, body)
        except WholeResponse as reply:
            self.send_reply(reply)
        except (_ClientGone, Stopping):
            self.close_connection = True
        except Exception:
            traceback.print_exc(file=sys.stderr)
            if self._started:
                self._abort(500)
            else:
                self.send_reply(plain_error())

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = self._number(self.rfile.readline().split(b";")[0].strip() or b"0", 16,
                                    "Invalid chunk size")
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
                if sum(map(len, parts)) > MAX_BODY_BYTES:
                    self.close_connection = True
                    raise detail(413, "Request body too large")
        length = self._number(self.headers.get("content-length", "0"), 10,
                              "Invalid Content-Length header")
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise detail(413, "Request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _number(self, text: str | bytes, base: int, problem: str) -> int:
        """A non-negative length from the request's framing, or a 400 in the flavour's words.

        Where the body ends is unknown after a bad length, so the connection is closed too.
        """
        digits = (text.decode("latin-1") if isinstance(text, bytes) else text).strip()
        if re.fullmatch("[0-9]+" if base == 10 else "[0-9A-Fa-f]+", digits):
            return int(digits, base)
        self.close_connection = True
        if self.server.demo.flavor == "glm4":
            raise detail(400, problem)
        raise openai_error(400, problem, None)

    def _route(self, path: str, raw: bytes) -> None:
        demo = self.server.demo
        glm4 = demo.flavor == "glm4"
        known = {"/v1/models": "GET", "/v1/chat/completions": "POST"}
        if glm4:
            known["/health"] = "GET"
        if path not in known:
            raise detail(404, "Not Found")
        if self.command != known[path]:
            raise detail(405, "Method Not Allowed")
        if path == "/health":
            self.send_reply(WholeResponse(200, b"", PLAIN_TEXT))
            return
        self._check_key()
        if path == "/v1/models":
            self.send_reply(WholeResponse(200, dumps(demo.models())))
            return
        self._chat(raw)

    def _check_key(self) -> None:
        demo = self.server.demo
        if demo.api_key is None:
            return
        if self.headers.get("authorization", "") == f"Bearer {demo.api_key}":
            return
        if demo.flavor == "glm4":
            raise detail(401, "Invalid API key")
        raise openai_error(401, "Incorrect API key provided.", "invalid_api_key")

    def _chat(self, raw: bytes) -> None:
        demo = self.server.demo
        glm4 = demo.flavor == "glm4"
        try:
            body = json.loads(raw)
        except ValueError as error:
            raise json_error(glm4, error) from None
        vision = glm4 and isinstance(body, dict) and is_vision_model(str(body.get("model", "")))
        if glm4:
            errors = glm4_checks(body, vision)
            if errors:
                raise detail(422, errors)
            if not body["messages"] or body["messages"][-1].get("role") == "assistant":
                raise detail(400, "Invalid request")
        else:
            openai_checks(body)
        messages: list[dict[str, Any]] = body["messages"]
        directives, _ = parse_directives(last_user_text(messages))
        if directives.status is not None:
            raise directed_error(demo.flavor, directives.status)
        rate = directives.rate if directives.rate is not None else demo.token_rate
        clock = TokenClock(time.monotonic() + (directives.delay or 0.0), rate, demo.stopping)
        raw_tools = body.get("tools")
        tools = raw_tools if isinstance(raw_tools, list) else []
        chat = Chat(
            body=body,
            model=body["model"],
            messages=messages,
            stream=bool(body.get("stream")),
            tools=[t for t in tools if isinstance(t, dict)],
            tool_choice=body.get("tool_choice"),
            directives=directives,
            flavor=demo.flavor,
        )
        answer = answer_glm4v if vision else answer_glm4 if glm4 else answer_openai
        self.send_answer(answer(chat), clock)

    # -- writing ------------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as error:
            raise _ClientGone from error

    def _send_head(self, status: int, headers: Sequence[tuple[str, str]]) -> None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        lines = [f"HTTP/1.1 {status} {reason}", f"date: {formatdate(usegmt=True)}",
                 "server: glm-tui-demo"]
        lines.extend(f"{name}: {value}" for name, value in headers)
        self._started = True
        self._write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def send_answer(self, answer: Answer, clock: TokenClock) -> None:
        """A flavour's answer, each part sent once its tokens are due."""
        if isinstance(answer, StreamPlan):
            self.send_stream(answer, clock)
            return
        clock.wait(answer.due)
        self.send_reply(answer)

    def send_reply(self, reply: WholeResponse) -> None:
        """A whole response with a Content-Length (a cut one: announced whole, then dropped)."""
        if reply.partial is not None:
            self._send_head(reply.status, [("content-type", reply.content_type),
                                           ("content-length", str(len(reply.body)))])
            self._write(reply.partial)
            self._abort(reply.status)
            return
        headers = [("content-length", str(len(reply.body)))]
        if reply.body or reply.content_type != "text/plain; charset=utf-8":
            headers.insert(0, ("content-type", reply.content_type))
        if self.close_connection:
            headers.append(("connection", "close"))
        self._send_head(reply.status, headers)
        self._write(reply.body)
        self._access(reply.status)

    def send_stream(self, plan: StreamPlan, clock: TokenClock) -> None:
        """A streamed response: chunked transfer encoding, frames written as they fall due."""
        chunked = self.request_version != "HTTP/1.0"
        clock.wait(plan.headers_due)
        headers = [("content-type", plan.content_type), ("cache-control", "no-cache"),
                   ("x-accel-buffering", "no")]
        headers.append(("transfer-encoding", "chunked") if chunked else ("connection", "close"))
        self._send_head(200, headers)
        if not chunked:
            self.close_connection = True
        for batch in clock.batches(plan.frames):
            self._write(b"%x\r\n%s\r\n" % (len(batch), batch) if chunked else batch)
        if plan.abort:
            self._abort(200)
            return
        if chunked:
            self._write(b"0\r\n\r\n")
        self._access(200)

    def _abort(self, status: int) -> None:
        """Drop the connection mid-response, as a server that died would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self._access(status)


class DemoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], demo: DemoHost) -> None:
        self.demo = demo
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (socket.getfqdn), which can stall for
        # seconds on machines with slow DNS; the demo server needs no name.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (reset, broken pipe) is normal; anything else is printed."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.demo.track(request, True)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.demo.track(request, False)
        super().shutdown_request(request)


def _printable(text: str) -> str:
    """``text`` with every non-printable character (controls, C1, bidi overrides) as ``\\xNN``
    or ``\\uNNNN``, for the access log (``demo`` imports nothing else of glm_tui, so not the
    app's sanitiser)."""
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)
