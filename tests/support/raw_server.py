"""A tiny HTTP/1.1 server on 127.0.0.1 that replays scripted responses byte for byte.

Why not the demo server: server quirks are about exact bytes (``\\r\\n\\r\\n`` separators, a missing
``[DONE]``, a connection cut in the middle of a chunk, a stall of N seconds), and a test of a quirk
should say those bytes itself. This server sends exactly the scripted status line, headers and body
pieces (with pauses between them), ends the response the scripted way (complete, closed, reset, or
left hanging), records every request it got, and notices when the client goes away.

It uses only the standard library and one thread per connection, so it runs beside an asyncio
test without touching its loop.
"""

from __future__ import annotations

import contextlib
import http
import json
import select
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Pause:
    """Wait this long before the next piece (ends early if the client disconnects)."""

    seconds: float


@dataclass(frozen=True)
class Gate:
    """Wait until the test opens the gate (``opened.set()``), at most ``timeout`` seconds: the
    test looks at the screen in between, knowing nothing more can arrive until it says so."""

    opened: threading.Event = field(default_factory=threading.Event)
    timeout: float = 60.0


Piece = bytes | Pause | Gate
Framing = Literal["chunked", "length", "close"]
Ending = Literal["complete", "close", "reset", "hang"]


@dataclass(frozen=True)
class Script:
    """One scripted response.

    ``framing``: ``chunked`` sends each bytes piece as one HTTP chunk; ``length`` sends a
    Content-Length for the whole body; ``close`` sends neither (the body ends when the
    connection closes). ``ending``: ``complete`` ends the body properly; ``close`` closes the
    connection without ending it (no final chunk / short of the length); ``reset`` aborts with a
    TCP RST; ``hang`` keeps the connection open and silent until the client goes away.
    ``header_delay`` pauses before the status line (a server thinking before it answers);
    ``drop`` closes the connection without sending a single byte.
    """

    status: int = 200
    headers: Sequence[tuple[str, str]] = (("Content-Type", "text/event-stream"),)
    body: Sequence[Piece] = ()
    framing: Framing = "chunked"
    ending: Ending = "complete"
    header_delay: float = 0.0
    reason: str | None = None
    drop: bool = False


Responder = Script | Callable[["RecordedRequest"], Script]


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Connection:
    """One handled request: what was asked and what became of the connection."""

    request: RecordedRequest
    disconnected: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


class RawServer:
    """Replays queued :class:`Script` responses in order (a 404 JSON body once they run out)."""

    def __init__(self) -> None:
        self._queue: deque[Responder] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self.connections: list[Connection] = []
        self._listener: socket.socket | None = None
        self.port = 0

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> str:
        """Listen on 127.0.0.1 (a free port) and return the OpenAI-style base URL (``.../v1``)."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, 0))
        listener.listen(16)
        listener.settimeout(0.2)
        self._listener = listener
        self.port = listener.getsockname()[1]
        thread = threading.Thread(target=self._accept_loop, name="raw-server", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self.base_url

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/v1"

    def stop(self) -> None:
        self._stop.set()
        if self._listener is not None:
            # Wake the accept loop at once rather than at its next poll.
            with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, self.port), 1):
                pass
            self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> RawServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- scripting --------------------------------------------------------------------------

    def add(self, *responders: Responder) -> None:
        """Queue responses; each request takes the next one."""
        with self._lock:
            self._queue.extend(responders)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [c.request for c in self.connections]

    def wait_disconnected(self, index: int = -1, timeout: float = 10.0) -> bool:
        """Whether the client of connection ``index`` went away within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                connection = self.connections[index] if self.connections else None
            if connection is not None:
                return connection.disconnected.wait(max(0.0, deadline - time.monotonic()))
            time.sleep(0.01)
        return False

    # --- serving ----------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            with self._lock:
                self._sockets.append(sock)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, sock: socket.socket) -> None:
        try:
            try:
                request = _read_request(sock)
            except OSError:  # closed by stop() while waiting for a request
                return
            if request is None:
                return
            with self._lock:
                responder = self._queue.popleft() if self._queue else _NOT_SCRIPTED
                connection = Connection(request)
                self.connections.append(connection)
            script = responder if isinstance(responder, Script) else responder(request)
            try:
                self._respond(sock, script, connection)
            except OSError:
                connection.disconnected.set()
            finally:
                connection.done.set()
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def _respond(self, sock: socket.socket, script: Script, connection: Connection) -> None:
        if script.header_delay and not self._pause(sock, script.header_delay, connection):
            return
        if script.drop:
            sock.shutdown(socket.SHUT_RDWR)
            return
        reason = script.reason if script.reason is not None else _reason(script.status)
        head = [f"HTTP/1.1 {script.status} {reason}".encode("latin-1")]
        names = {name.lower() for name, _ in script.headers}
        for name, value in script.headers:
            head.append(f"{name}: {value}".encode("latin-1"))
        pieces = [p for p in script.body if isinstance(p, bytes)]
        if script.framing == "chunked" and "transfer-encoding" not in names:
            head.append(b"Transfer-Encoding: chunked")
        if script.framing == "length" and "content-length" not in names:
            head.append(b"Content-Length: " + str(sum(len(p) for p in pieces)).encode())
        if "connection" not in names:
            head.append(b"Connection: close")
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n")
        for piece in script.body:
            if isinstance(piece, Pause):
                if not self._pause(sock, piece.seconds, connection):
                    return
                continue
            if isinstance(piece, Gate):
                if not self._pause(sock, piece.timeout, connection, until=piece.opened):
                    return
                continue
            if script.framing == "chunked":
                if piece:
                    sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            else:
                sock.sendall(piece)
        if script.ending == "complete":
            if script.framing == "chunked":
                sock.sendall(b"0\r\n\r\n")
            sock.shutdown(socket.SHUT_WR)
            self._pause(sock, 2.0, connection)  # let the client read to the end, then close
        elif script.ending == "close":
            sock.shutdown(socket.SHUT_RDWR)
        elif script.ending == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif script.ending == "hang":
            self._pause(sock, 120.0, connection)

    def _pause(self, sock: socket.socket, seconds: float, connection: Connection,
               until: threading.Event | None = None) -> bool:
        """Wait up to ``seconds`` (or until ``until`` is set); False (and the connection
        marked) if the client went away."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (until is not None and until.is_set()):
                return True
            readable, _, _ = select.select([sock], [], [], min(remaining, 0.05))
            if readable:
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    connection.disconnected.set()
                    return False
        return False


_NOT_SCRIPTED = Script(
    status=404,
    headers=(("Content-Type", "application/json"),),
    body=(b'{"detail": "Not Found"}',),
    framing="length",
)


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _read_request(sock: socket.socket) -> RecordedRequest | None:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        if not data:
            return None
        buffer += data
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _read_chunked(sock, rest)
    else:
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            data = sock.recv(65536)
            if not data:
                break
            rest += data
        body = rest[:length]
    return RecordedRequest(method, path, headers, body)


def _read_chunked(sock: socket.socket, data: bytes) -> bytes:
    body = b""
    while True:
        while b"\r\n" not in data:
            data += sock.recv(65536)
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        while len(data) < size + 2:
            data += sock.recv(65536)
        if size == 0:
            return body
        body += data[:size]
        data = data[size + 2 :]


# --- builders for scripted bodies -----------------------------------------------------------


def sse(*payloads: object, sep: bytes = b"\n\n", done: bool = True) -> list[bytes]:
    """Server-sent-event frames: dicts become ``data: <json>``, str/bytes are sent as data."""
    frames: list[bytes] = []
    for payload in payloads:
        if isinstance(payload, bytes):
            data = payload
        elif isinstance(payload, str):
            data = payload.encode()
        else:
            data = json.dumps(payload, ensure_ascii=False).encode()
        frames.append(b"data: " + data + sep)
    if done:
        frames.append(b"data: [DONE]" + sep)
    return frames


def stream_script(
    payloads: Iterable[object],
    *,
    sep: bytes = b"\n\n",
    done: bool = True,
    ending: Ending = "complete",
    framing: Framing = "chunked",
) -> Script:
    """A 200 event-stream response carrying ``payloads`` (one frame per piece)."""
    return Script(body=sse(*payloads, sep=sep, done=done), ending=ending, framing=framing)


def json_script(status: int, body: object, content_type: str = "application/json") -> Script:
    """A complete response with a JSON (or, for str bodies, verbatim text) body."""
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return Script(
        status=status,
        headers=(("Content-Type", content_type),),
        body=(raw,),
        framing="length",
    )


def closed_port() -> int:
    """A loopback port where nothing listens (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
    return port


class BlackHole:
    """A loopback address whose connects hang: a listener with a full backlog that never accepts.

    Linux drops SYNs to a full accept queue (tcp_abort_on_overflow=0), so a client's connect
    times out instead of being refused.
    """

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((LOOPBACK, 0))
        self._listener.listen(0)
        self.port: int = self._listener.getsockname()[1]
        self._fillers: list[socket.socket] = []
        for _ in range(4):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect((LOOPBACK, self.port))
            self._fillers.append(filler)

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/v1"

    def close(self) -> None:
        for sock in [*self._fillers, self._listener]:
            sock.close()
