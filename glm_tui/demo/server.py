"""A local chat server that answers like GLM-4's OpenAI API server, or like a clean OpenAI server.

Why it exists: glm-tui must be tried, tested and benchmarked without a GPU, and its client must
survive the real GLM-4 server's wire quirks (PROTOCOL.md). This server reproduces those quirks
byte for byte, so the tests of the client and the app exercise the shapes users really receive.
Replies are deterministic and built from the request (``replies``). Standard library HTTP
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
    Thinking models (``glm-4.6``, ``glm-5``, any GLM-4.5+ or other thinking name) think first,
    in ``reasoning_content`` as the hosted GLM API does, off with ``thinking.type: "disabled"``.
``vllm``
    The ``openai`` frames from a vLLM server: ``owned_by: "vllm"`` in ``/v1/models``, thinking
    in ``reasoning`` (vLLM 0.17+), off with ``chat_template_kwargs.enable_thinking: false``.
``inline``
    As ``vllm`` without a reasoning parser: the thinking arrives inline in the content as
    ``<think>...</think>``; ``[[demo:think=unopened]]`` starts the reply mid-thought.

The thinking shapes and rules are in ``thinking``.

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
``[[demo:reasoning=N]]``
    A thinking model's reasoning is exactly N characters long.
``[[demo:think=unopened]]``
    The ``inline`` flavour starts its reply mid-thought: no ``<think>``, only ``</think>``.

Tokens are paced at ``token_rate`` per second (0 or less: unpaced) in ~5 ms slices, so high rates
stay accurate. ``max_tokens`` shortens text replies (glm4 default 1024) except say/size replies.

How the demo server is split: this module is the server's life (start, stop, the request log,
the model list, ``run_demo_server``); ``http_handler`` reads and writes one connection's bytes,
``pacing`` times them; ``checks`` says what each flavour rejects, ``flavors`` what it answers,
``wire`` the exact bytes; ``replies`` (with ``directives``, ``request_text``, ``tool_replies``,
``image_reading`` and ``markdown_samples``) the reply text.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from glm_tui.demo.flavors import is_vision_model
from glm_tui.demo.http_handler import DemoHTTPServer
from glm_tui.demo.thinking import THINKING_MODEL_IDS

__all__ = [
    "FLAVORS",
    "TEXT_MODEL_ID",
    "VISION_MODEL_ID",
    "DemoServer",
    "is_vision_model",
    "run_demo_server",
]

FLAVORS = ("glm4", "openai", "vllm", "inline")
TEXT_MODEL_ID = "glm-4"
VISION_MODEL_ID = "GLM-4v-9b"


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
        self._httpd: DemoHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def _bind(self) -> DemoHTTPServer:
        if self._httpd is not None:
            raise RuntimeError("the demo server is already running")
        self.stopping.clear()
        self._httpd = DemoHTTPServer((self.host, self.port), self)
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
            # vLLM names itself in owned_by (glm-tui tells a vLLM server by it); a server
            # without a reasoning parser is still vLLM.
            owner = "glm-tui-demo" if self.flavor == "openai" else "vllm"
            cards = [
                {"id": model_id, "object": "model", "created": created, "owned_by": owner}
                for model_id in (TEXT_MODEL_ID, VISION_MODEL_ID, *THINKING_MODEL_IDS)
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
