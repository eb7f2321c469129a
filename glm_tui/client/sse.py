"""Server-sent events, from raw bytes to ``data`` payloads.

A chat reply is read from the raw HTTP body rather than through the SDK's typed stream (see
:mod:`glm_tui.client.client`), so the framing has to be undone here. It is kept apart from the
client because it is pure byte handling: no network, no JSON, no events, and tested on its own
against every split point TCP could produce.
"""

from __future__ import annotations


def is_event_stream(content_type: str, wants_stream: bool) -> bool:
    """Trust the content type over the request: some servers ignore ``stream`` either way."""
    lowered = content_type.lower()
    if "text/event-stream" in lowered:
        return True
    if "json" in lowered:
        return False
    return wants_stream


class EventStream:
    """Splits a byte stream into server-sent-event ``data`` payloads (bytes, not decoded).

    Lines may end in LF, CRLF or CR (a CR at the end of a piece is held until the next piece
    shows whether an LF follows). ``event:``, ``id:``, ``retry:`` and comment lines are ignored:
    chat servers put everything in ``data``.
    """

    __slots__ = ("_data", "_pending", "_unbroken")

    def __init__(self) -> None:
        self._pending = b""
        # Pieces of one line still without its end: joined once when the line ends, so a huge
        # frame (a 10 MB chunk arriving in 64 KB reads) costs linear time, not quadratic.
        self._unbroken: list[bytes] = []
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        if b"\n" not in chunk and b"\r" not in chunk:
            if chunk:
                self._unbroken.append(chunk)
            return []
        if self._unbroken:  # one join: a 10 MB frame is copied once here, not twice
            buffer = b"".join([self._pending, *self._unbroken, chunk])
            self._unbroken.clear()
        else:
            buffer = self._pending + chunk if self._pending else chunk
        held_cr = b""
        if b"\r" in buffer:
            if buffer.endswith(b"\r"):
                buffer, held_cr = buffer[:-1], b"\r"
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buffer.split(b"\n")
        self._pending = lines.pop() + held_cr
        return self._lines(lines)

    def finish(self) -> list[bytes]:
        """The end of the body: a last event without its blank line still counts."""
        pending, self._pending = b"".join([self._pending, *self._unbroken]), b""
        self._unbroken.clear()
        lines = pending.replace(b"\r", b"").split(b"\n") if pending else []
        lines.append(b"")
        return self._lines(lines)

    def _lines(self, lines: list[bytes]) -> list[bytes]:
        payloads: list[bytes] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    payloads.append(data[0] if len(data) == 1 else b"\n".join(data))
                    data.clear()
            elif line.startswith(b"data:"):
                data.append(line[6:] if line.startswith(b"data: ") else line[5:])  # one copy
        return payloads
