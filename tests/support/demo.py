"""Helpers for talking to the demo server at the byte level, and for making real test images.

The openai client hides exactly the wire details the demo server exists to reproduce (separators,
key order, a missing ``[DONE]``, a cut connection), so the tests read raw responses with
``http.client`` here.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class RawResponse:
    """A response as it came off the wire; ``complete`` is False when the line was cut."""

    status: int
    headers: dict[str, str]
    body: bytes
    complete: bool

    def json(self) -> Any:
        return json.loads(self.body)


def address(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def raw_request(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
    on_headers: Callable[[], object] | None = None,
) -> RawResponse:
    """Send one request on a fresh connection and read the whole answer, cut or not.

    ``on_headers`` is called once the status line and headers have arrived, before the body is
    read: a test in another thread can wait for it to know a stream is under way.
    """
    host, port = address(base_url)
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        sent = {"content-type": "application/json", **(headers or {})}
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        if on_headers is not None:
            on_headers()
        found = {name.lower(): value for name, value in response.getheaders()}
        try:
            payload = response.read()
            complete = True
        except http.client.IncompleteRead as cut:
            payload = cut.partial
            complete = False
        return RawResponse(response.status, found, payload, complete)
    finally:
        connection.close()


def post_chat(base_url: str, body: Any, **kwargs: Any) -> RawResponse:
    return raw_request(base_url, "POST", "/v1/chat/completions", body, **kwargs)


def sse_payloads(body: bytes, separator: bytes) -> list[str]:
    """The ``data:`` payloads of an event stream whose every frame ends with ``separator``."""
    assert body.endswith(separator) or not body, body[-40:]
    frames = body.split(separator)[:-1] if body else []
    payloads = []
    for frame in frames:
        assert frame.startswith(b"data: "), frame[:40]
        payloads.append(frame[len(b"data: "):].decode("utf-8"))
    return payloads


def chunks(body: bytes, separator: bytes) -> list[dict[str, Any]]:
    """The JSON chunks of an event stream (``[DONE]`` left out)."""
    return [json.loads(p) for p in sse_payloads(body, separator) if p != "[DONE]"]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def image_bytes(colour: tuple[int, ...], size: tuple[int, int] = (64, 48), fmt: str = "JPEG",
                mode: str = "RGB") -> bytes:
    """A real image made with Pillow, filled with one colour."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


def data_url(data: bytes, mime: str = "image/jpeg") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def image_message(text: str, url: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text},
                                        {"type": "image_url", "image_url": {"url": url}}]}


WEATHER_QUESTION = "What's the Celsius temperature in San Francisco?"
WEATHER_ARGUMENTS = '{"location": "San Francisco", "format": "celsius"}'
