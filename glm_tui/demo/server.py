"""A local chat server that answers like GLM-4's OpenAI API server, or like a clean OpenAI server.

Why it exists: glm-tui must be tried, tested and benchmarked without a GPU, and its client must
survive the real GLM-4 server's wire quirks (PROTOCOL.md). This server reproduces those quirks
byte for byte, so the tests of the client and the app exercise the shapes users really receive.
Replies are deterministic and built from the request (``demo_replies``). Standard library HTTP
only, writing raw bytes so every frame is exact; Pillow is imported only when an image arrives.

Endpoints: ``GET /v1/models``, ``GET /health`` (glm4 flavour), ``POST /v1/chat/completions``
(streaming and not). Any other path answers 404 ``{"detail": "Not Found"}``.

Flavours:

``glm4``
    The GLM-4 text server (``basic_demo/glm_server.py``): no role-only first chunk, every chunk
    repeats ``role: "assistant"``, the last content chunk carries ``finish_reason``, frames end
    in ``\\r\\n\\r\\n``, no usage in streams, ``stream_options`` ignored. With tools passed, a text
    answer does not stream (one chunk with the whole text, then ``[DONE]``) and the system
    message is dropped; a streamed tool call is an id+name chunk with empty arguments, one chunk
    per token of raw argument text (``id``/``name`` null), a ``finish_reason: "tool_calls"`` chunk
    and no ``[DONE]``. Errors: 422 ``{"detail": [...]}`` (list content, bad fields), 400
    ``{"detail": "Invalid request"}`` (last message from the assistant), 500 ``text/plain`` (top_p
    outside (0, 1], negative temperature, ``{"type": "cogview"}`` tools with ``stream: true``).
    A model name containing ``4v`` gets the GLM-4V vision server instead: system message, an
    assistant message first or two in a row, or a non-JPEG data URL give 500; no ``id`` and no
    ``finish_reason``; usage is wrong (negative ``completion_tokens``); streams are a role chunk,
    content chunks, an empty-content chunk and an empty delta, without ``[DONE]``.
``openai``
    Clean OpenAI shapes: role chunk first, ids, ``created``, ``finish_reason``, ``[DONE]``,
    ``\\n\\n`` separators, a final ``choices: []`` usage chunk when
    ``stream_options.include_usage`` is true, usage in non-streamed replies, tool-call arguments
    streamed in fragments, errors as ``{"error": {"message", "type", "param", "code"}}``.

Demo-only directives, written anywhere in the LAST user message and removed from the echoed
question (for tests, benchmarks and people trying failure handling):

``[[demo:status=NNN]]``
    Answer with HTTP status NNN (400-599) and a body in the flavour's error form (glm4: 422 and
    other 4xx ``{"detail": ...}``, 5xx ``text/plain``; openai: ``{"error": {...}}``).
``[[demo:cut=N]]``
    Close the connection abruptly after N characters of reply text, without a final chunk.
``[[demo:size=N]]``
    Reply with exactly N bytes of mixed Markdown (paragraphs, 300-item lists, long code blocks).
``[[demo:rate=N]]``
    Send this reply at N tokens per second (0: as fast as possible).
``[[demo:delay=S]]``
    Wait S seconds before the first token (glm4 sends its headers only then, like the real one).
``[[demo:say=TEXT]]``
    Reply with exactly TEXT.

Tokens are paced at ``token_rate`` per second (0 or less: unpaced) in ~5 ms slices, so high rates
stay accurate. ``max_tokens`` shortens text replies (glm4 default 1024) except say/size replies.

How the demo server is split: this module is the HTTP side (routing, auth, the request log,
pacing, sending and cutting connections, ``run_demo_server``); ``demo_checks`` says what each
flavour rejects, ``demo_flavors`` what it answers, ``demo_wire`` the exact bytes, and
``demo_replies`` the reply text.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO
from urllib.parse import urlsplit

from glm_tui.demo.checks import glm4_checks, json_error, openai_checks
from glm_tui.demo.directives import parse_directives
from glm_tui.demo.flavors import (
    Answer,
    Chat,
    answer_glm4,
    answer_glm4v,
    answer_openai,
)
from glm_tui.demo.request_text import last_user_text
from glm_tui.demo.wire import (
    PLAIN_TEXT,
    Frame,
    StreamPlan,
    WholeResponse,
    detail,
    directed_error,
    dumps,
    openai_error,
    plain_error,
)

__all__ = [
    "FLAVORS",
    "TEXT_MODEL_ID",
    "VISION_MODEL_ID",
    "DemoServer",
    "is_vision_model",
    "run_demo_server",
]

FLAVORS = ("glm4", "openai")
TEXT_MODEL_ID = "glm-4"
VISION_MODEL_ID = "GLM-4v-9b"
MAX_BODY_BYTES = 64 * 1024 * 1024
SLICE_S = 0.005


def is_vision_model(model: str) -> bool:
    """Whether the glm4 flavour answers as the GLM-4V server (its model names contain "4v")."""
    return "4v" in model.lower()


class _ClientGone(Exception):
    """The client closed the connection; nothing more can be sent."""


class _Stopping(Exception):
    """The server is stopping; open streams are cut."""


# ---------------------------------------------------------------------------------------------
# Pacing

class _Clock:
    """Token pacing: token k (1-based) is ready at ``start + k / rate``."""

    def __init__(self, start: float, rate: float, stop: threading.Event) -> None:
        self.start = start
        self.rate = rate
        self.stop = stop

    def due_at(self, tokens: int) -> float:
        if self.rate <= 0 or not math.isfinite(self.rate):
            return self.start
        return self.start + tokens / self.rate

    def wait(self, tokens: int) -> None:
        """Sleep until ``tokens`` tokens are ready; raise _Stopping if the server stops."""
        while True:
            remaining = self.due_at(tokens) - time.monotonic()
            if remaining <= 0:
                return
            if self.stop.wait(remaining):
                raise _Stopping

    def batches(self, frames: Sequence[Frame]) -> Iterator[bytes]:
        """The frames in time order, every frame that is due joined into one write per slice."""
        index = 0
        while index < len(frames):
            now = time.monotonic()
            end = index
            while end < len(frames) and self.due_at(frames[end].due) <= now:
                end += 1
            if end > index:
                yield b"".join(frame.data for frame in frames[index:end])
                index = end
                continue
            pause = max(self.due_at(frames[index].due) - now, SLICE_S)
            if self.stop.wait(pause):
                raise _Stopping


# ---------------------------------------------------------------------------------------------
# HTTP


class _Handler(BaseHTTPRequestHandler):
    """One connection; requests on it are handled in turn (HTTP/1.1 keep-alive)."""

    protocol_version = "HTTP/1.1"
    server: _HTTPServer
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
            print(f"{self.command} {self.path} -> {status}", file=stream, flush=True)

    def _dispatch(self) -> None:
        self._started = False
        path = urlsplit(self.path).path
        try:
            body = self._read_body()
            self.server.demo.log_request(self.command, path, body)
            self._route(path, body)
        except WholeResponse as reply:
            self.send_reply(reply)
        except (_ClientGone, _Stopping):
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
        clock = _Clock(time.monotonic() + (directives.delay or 0.0), rate, demo.stopping)
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

    def send_answer(self, answer: Answer, clock: _Clock) -> None:
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

    def send_stream(self, plan: StreamPlan, clock: _Clock) -> None:
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


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], demo: DemoServer) -> None:
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


class DemoServer:
    """The demo server: ``start()`` in a daemon thread, or ``serve_forever()`` blocking.

    ``port=0`` picks a free port; ``url`` then says which. Binds loopback unless told otherwise.
    With ``api_key`` set, ``/v1/`` requests without ``Authorization: Bearer <api_key>`` get 401.
    ``log_requests`` appends each request as one JSON line (method, path, body; never headers).
    ``token_rate`` <= 0 sends replies as fast as possible.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        flavor: str = "glm4",
        token_rate: float = 400.0,
        log_requests: Path | None = None,
        api_key: str | None = None,
        *,
        access_log: TextIO | None = None,
    ) -> None:
        if flavor not in FLAVORS:
            raise ValueError(f"flavor must be one of {', '.join(FLAVORS)}, not {flavor!r}")
        self.host = host
        self.port = port
        self.flavor = flavor
        self.token_rate = float(token_rate)
        self.log_path = Path(log_requests) if log_requests is not None else None
        self.api_key = api_key
        self.access_log = access_log
        self.stopping = threading.Event()
        self._log_lock = threading.Lock()
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def _bind(self) -> _HTTPServer:
        if self._httpd is not None:
            raise RuntimeError("the demo server is already running")
        self.stopping.clear()
        self._httpd = _HTTPServer((self.host, self.port), self)
        return self._httpd

    def start(self) -> str:
        """Serve in a daemon thread; returns the base URL (``http://127.0.0.1:PORT/v1/``)."""
        httpd = self._bind()
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
            name=f"glm-tui-demo-{self.port}", daemon=True,
        )
        self._thread.start()
        return self.url

    def serve_forever(self, on_ready: Callable[[str], None] | None = None) -> None:
        """Serve in this thread until Ctrl+C or ``stop()`` from another thread.

        ``on_ready`` is called with the URL once the port is bound (so a caller can print it).
        """
        httpd = self._bind()
        if on_ready is not None:
            on_ready(self.url)
        try:
            httpd.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self._close()

    def stop(self) -> None:
        """Stop serving, cut open streams and connections, free the port."""
        httpd = self._httpd
        if httpd is None:
            return
        self.stopping.set()
        if self._thread is not None:
            httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
            self._close()
        else:
            httpd.shutdown()  # serve_forever() in another thread closes in its finally

    def _close(self) -> None:
        httpd = self._httpd
        if httpd is None:
            return
        self.stopping.set()
        with self._conn_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        self._httpd = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the demo server is not running")
        host, port = self._httpd.server_address[:2]
        shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(str(host), str(host))
        if ":" in shown:
            shown = f"[{shown}]"
        return f"http://{shown}:{port}/v1/"

    # -- helpers used by the handler ----------------------------------------------------------

    def track(self, connection: socket.socket, active: bool) -> None:
        with self._conn_lock:
            if active:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def models(self) -> dict[str, Any]:
        created = int(time.time())
        if self.flavor == "glm4":
            cards = [
                {"id": model_id, "object": "model", "created": created, "owned_by": "owner",
                 "root": None, "parent": None, "permission": None}
                for model_id in (TEXT_MODEL_ID, VISION_MODEL_ID)
            ]
        else:
            cards = [
                {"id": model_id, "object": "model", "created": created, "owned_by": "glm-tui-demo"}
                for model_id in (TEXT_MODEL_ID, VISION_MODEL_ID)
            ]
        return {"object": "list", "data": cards}

    def log_request(self, method: str, path: str, raw: bytes) -> None:
        """Append one JSON line for a request; the body as JSON when it parses, else as text."""
        if self.log_path is None:
            return
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", errors="replace")
        line = json.dumps({"method": method, "path": path, "body": body}, ensure_ascii=False)
        with self._log_lock, self.log_path.open("a", encoding="utf-8") as log:
            log.write(line + "\n")
            log.flush()


def run_demo_server(
    host: str = "127.0.0.1",
    port: int = 8000,
    flavor: str = "glm4",
    token_rate: float = 400.0,
    log_requests: Path | None = None,
) -> int:
    """Serve until Ctrl+C, for ``glm-tui serve-demo``; returns the process exit code."""
    def ready(url: str) -> None:
        print(f"glm-tui demo server ({flavor}) at {url}", file=sys.stderr)
        print("Ctrl+C to stop", file=sys.stderr, flush=True)

    try:
        server = DemoServer(host, port, flavor, token_rate, log_requests, access_log=sys.stderr)
    except ValueError as error:
        print(f"glm-tui demo server: {error}", file=sys.stderr)
        return 2
    try:
        server.serve_forever(on_ready=ready)
    except OSError as error:
        print(f"glm-tui demo server: cannot listen on {host}:{port}: {error}", file=sys.stderr)
        return 1
    print("glm-tui demo server stopped", file=sys.stderr)
    return 0
