"""Every way a request can fail, worded for the person who has to act on it.

The client never lets an exception reach the UI: a refused connection, a timeout, an HTTP error
status, a broken stream or a reply that is not a chat completion each become one
:class:`~glm_tui.client.events.StreamError` (or :class:`ClientError` outside a chat stream) whose
message says what happened *and* what to try. That wording is long and has nothing to do with
reading a stream, so it lives here, apart from :mod:`glm_tui.client.client`.

Every message and ``server_detail`` that leaves this module has passed through
:func:`~glm_tui.model.text.sanitize_for_display`: they quote the server (an error body, a
reply's first bytes, a protocol complaint) and are printed to a terminal by the TUI and by
``glm-tui ask``, so an escape sequence in a server's answer must arrive as visible text.

``openai``, ``httpx2`` and ``anyio`` are imported inside the functions, only once something has
failed: importing this module must stay as cheap as importing the client.
"""

from __future__ import annotations

import functools
import http
import json
import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from glm_tui.client.error_bodies import (
    detail_of,
    looks_like_html,
    sentence,
    server_detail,
    shorten,
)
from glm_tui.client.events import ErrorKind, StreamError
from glm_tui.client.failure_causes import hint_for_500
from glm_tui.model.text import sanitize_for_display

# Logged under the client's name: these are the client's failures, wherever they are worded.
log = logging.getLogger("glm_tui.client.client")

DEMO_HINT = "glm-tui --demo starts a built-in one"


class ClientError(Exception):
    """A failure outside a chat stream (listing models), already worded for a person.

    The message is made safe to display here, whoever words it: it may quote the server.
    """

    def __init__(self, message: str, status: int | None = None,
                 kind: ErrorKind = ErrorKind.HTTP) -> None:
        message = sanitize_for_display(message)
        super().__init__(message)
        self.message = message
        self.status = status
        self.kind = kind


class ServerReportedError(Exception):
    """The server put an ``{"error": ...}`` object in a 200 reply (in-stream failure)."""

    def __init__(self, body: object) -> None:
        super().__init__("server reported an error")
        self.body = body


class Unreadable(Exception):
    """The reply ended and nothing in it could be understood as a chat completion."""

    def __init__(self, content_type: str, head: bytes) -> None:
        super().__init__("unreadable reply")
        self.content_type = content_type
        self.head = head


@dataclass(frozen=True)
class _Transport:
    """The httpx2 / network exception classes, loaded with openai (never at import)."""

    connect_timeout: tuple[type[BaseException], ...]
    read_timeout: tuple[type[BaseException], ...]
    other_timeout: tuple[type[BaseException], ...]
    connect: tuple[type[BaseException], ...]
    broken: tuple[type[BaseException], ...]
    bad_url: tuple[type[BaseException], ...]


@functools.cache
def _transport() -> _Transport:
    import ssl

    import anyio
    import httpx2

    return _Transport(
        connect_timeout=(httpx2.ConnectTimeout,),
        read_timeout=(httpx2.ReadTimeout,),
        other_timeout=(httpx2.TimeoutException,),
        connect=(httpx2.ConnectError, httpx2.ProxyError),
        broken=(httpx2.TransportError, httpx2.DecodingError, anyio.EndOfStream,
                anyio.BrokenResourceError, anyio.ClosedResourceError, ssl.SSLError, OSError),
        bad_url=(httpx2.UnsupportedProtocol, httpx2.InvalidURL),
    )


def _root(exc: BaseException) -> BaseException:
    """The transport exception behind an SDK wrapper (``APIConnectionError`` and friends)."""
    import openai

    if isinstance(exc, openai.APIConnectionError) and exc.__cause__ is not None:
        return exc.__cause__
    return exc


def is_transport_error(exc: BaseException) -> bool:
    """The connection broke or timed out (as opposed to an HTTP status or a bad reply)."""
    transport = _transport()
    root = _root(exc)
    return isinstance(root, transport.broken + transport.other_timeout)


def _chain(exc: BaseException) -> Iterable[BaseException]:
    """Every exception behind ``exc`` (causes, contexts, exception-group members)."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)


def _lower_first(text: str) -> str:
    """``text`` made to continue a sentence (``Connection refused`` -> ``connection refused``)."""
    return text[0].lower() + text[1:]


def _own_words(exc: BaseException) -> str:
    """The exception's message as the end of a sentence, or its class name when it has none."""
    text = str(exc).strip()
    return _lower_first(text) if text else type(exc).__name__


def _connect_reason(exc: BaseException) -> str:
    """Why a connection could not be made, in a person's words."""
    import socket
    import ssl

    for link in _chain(exc):
        if isinstance(link, ConnectionRefusedError):
            return "connection refused"
        if isinstance(link, socket.gaierror):
            return "the host name could not be resolved"
        if isinstance(link, ssl.SSLCertVerificationError):
            return f"its TLS certificate was not accepted ({link.verify_message})"
        if isinstance(link, ssl.SSLError):
            return f"the secure (TLS) connection failed ({link.reason or link})"
        if isinstance(link, ConnectionResetError):
            return "the connection was reset"
        if isinstance(link, OSError) and link.errno is not None and link.strerror:
            return _lower_first(link.strerror)
    return _own_words(exc)


def _broken_reason(exc: BaseException) -> str:
    """Why a connection that was made stopped working, in a person's words."""
    for link in _chain(exc):
        if isinstance(link, ConnectionResetError):
            return "the connection was reset"
        if type(link).__name__ == "RemoteProtocolError":
            text = str(link)
            if "incomplete" in text or "peer closed" in text.lower():
                return "the server closed the connection before the reply was complete"
            return f"the server broke the HTTP protocol ({text})"
    return _own_words(exc)


def _seconds(value: float) -> str:
    return f"{value:g} s"


def describe_error(
    exc: BaseException,
    base_url: str,
    *,
    model: str | None = None,
    connected: bool = False,
    received: bool = False,
    connect_timeout: float = 10.0,
    read_timeout: float = 120.0,
    secret: str | None = None,
    request: Mapping[str, Any] | None = None,
) -> StreamError:
    """A :class:`StreamError` (kind, message for a person, status, the server's words) for ``exc``.

    ``request`` is the body that was sent: an HTTP 500's hint names only the causes it fits.

    ``connected``: the response headers had arrived; ``received``: reply text or tool calls had
    arrived (the message then says they are kept). The message and ``server_detail`` are safe to
    display (see the module docstring) and hold no credential: ``secret`` (the API key sent) and
    any ``Bearer`` token a server echoes back are removed here, at the edge, so they are never
    shown, stored in the session or exported.
    """
    error = _describe(exc, base_url, model=model, connected=connected, received=received,
                      connect_timeout=connect_timeout, read_timeout=read_timeout,
                      request=request)
    detail = error.server_detail
    return replace(
        error,
        message=sanitize_for_display(redact_secrets(error.message, secret)),
        server_detail=None if detail is None else sanitize_for_display(
            redact_secrets(detail, secret)),
    )


REDACTED = "<redacted>"
_BEARER = re.compile(r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/=-]{8,}")


def redact_secrets(text: str, secret: str | None = None) -> str:
    """``text`` without ``secret`` and without any ``Bearer <token>`` value.

    Servers sometimes quote the request's ``Authorization`` header in an error body; that text
    is shown and stored, so the key must not survive in it. Keys shorter than 8 characters
    (``EMPTY``, a local server's placeholder) are not secrets and are left alone, and a bearer
    value must look like a token (8+ token characters), so ordinary words are never blanked.
    """
    if secret and len(secret) >= 8 and secret in text:
        text = text.replace(secret, REDACTED)
    return _BEARER.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """A ``Retry-After`` header (delta seconds or an HTTP date) as seconds from now, if usable."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime  # only for a 429 (the email package is ~4 ms)

    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _wait_words(seconds: float) -> str:
    """``30 s`` / ``4 min 10 s`` / ``2 h 5 min``, and the local clock time it ends."""
    whole = round(seconds)
    if whole < 60:
        span = f"{whole} s"
    elif whole < 3600:
        span = f"{whole // 60} min" + (f" {whole % 60} s" if whole % 60 else "")
    else:
        span = f"{whole // 3600} h" + (f" {whole % 3600 // 60} min" if whole % 3600 // 60 else "")
    at = time.strftime("%H:%M:%S", time.localtime(time.time() + seconds))
    return f"{span} (at {at})"


def _describe(
    exc: BaseException,
    base_url: str,
    *,
    model: str | None,
    connected: bool,
    received: bool,
    connect_timeout: float,
    read_timeout: float,
    request: Mapping[str, Any] | None = None,
) -> StreamError:
    import openai

    base = base_url.rstrip("/")
    kept = " The text so far is kept." if received else ""
    if isinstance(exc, openai.APIStatusError):
        response = exc.response
        try:
            body = response.text
        except Exception:  # the body could not be read; the status alone still says a lot
            body = ""
        detail = server_detail(body, response.headers.get("content-type", ""))
        error = _http_error(exc.status_code, detail, base, model, request)
        wait = retry_after_seconds(response.headers)
        if wait is not None:
            error = replace(error, retry_after_s=wait,
                            message=f"{error.message} The server asks to wait "
                                    f"{_wait_words(wait)} before trying again.")
        return error
    if isinstance(exc, ServerReportedError):
        detail = detail_of(exc.body) or shorten(json.dumps(exc.body, ensure_ascii=False))
        return StreamError(
            kind=ErrorKind.HTTP, server_detail=detail,
            message=f"The server at {base} reported an error during the reply: "
                    f"{sentence(detail)}{kept} Try again, or check the request settings.",
        )
    if isinstance(exc, Unreadable):
        return _unreadable_error(exc, base)
    transport = _transport()
    root = _root(exc)
    if isinstance(root, transport.connect_timeout):
        return StreamError(
            kind=ErrorKind.TIMEOUT,
            message=f"Timed out connecting to {base} after {_seconds(connect_timeout)} "
                    "(connect timeout). The server may be down or a firewall may be dropping "
                    "the connection: check the address, or raise the connect timeout.",
        )
    if isinstance(root, transport.read_timeout):
        if not connected:
            what = (f"The server at {base} accepted the request but sent no answer for "
                    f"{_seconds(read_timeout)} (read timeout).")
        else:
            what = (f"The server at {base} stopped sending for {_seconds(read_timeout)} in the "
                    f"middle of the reply (read timeout).{kept}")
        return StreamError(
            kind=ErrorKind.TIMEOUT,
            message=f"{what} A slow model may need a longer read timeout; otherwise try again.",
        )
    if isinstance(root, transport.other_timeout):
        return StreamError(
            kind=ErrorKind.TIMEOUT,
            message=f"Timed out talking to {base} ({type(root).__name__}, limit "
                    f"{_seconds(read_timeout)}).{kept} Try again, or raise the timeouts.",
        )
    if isinstance(root, transport.connect):
        reason = _connect_reason(root)
        if reason == "connection refused":
            hint = f"Is it running? ({DEMO_HINT})"
        elif "host name" in reason:
            hint = "Check the host in the base URL."
        elif "TLS" in reason:
            hint = "Check whether the URL should start with http:// or https://."
        else:
            hint = "Check the base URL and that the server is running."
        return StreamError(kind=ErrorKind.UNREACHABLE,
                           message=f"Cannot reach the server at {base}: {reason}. {hint}")
    if isinstance(root, transport.bad_url):
        return StreamError(
            kind=ErrorKind.UNREACHABLE,
            message=f"The base URL {base!r} is not usable ({root}). It should look like "
                    "http://127.0.0.1:8000/v1.",
        )
    if isinstance(root, transport.broken):
        reason = _broken_reason(root)
        if connected:
            message = (f"The connection to {base} broke in the middle of the reply: {reason}."
                       f"{kept} Try again.")
        else:
            message = (f"The server at {base} closed the connection without answering: "
                       f"{reason}. Check that the base URL points at an OpenAI-compatible "
                       "server, then try again.")
        return StreamError(kind=ErrorKind.INTERRUPTED, message=message)
    if isinstance(exc, openai.APIError):
        return StreamError(kind=ErrorKind.HTTP, server_detail=exc.message,
                           message=f"The request to {base} failed: {sentence(exc.message)}{kept}")
    log.error("unexpected failure of a chat request to %s", base, exc_info=exc)
    return StreamError(
        kind=ErrorKind.PROTOCOL,
        message=f"The request to {base} failed unexpectedly: {type(exc).__name__}: {exc}.{kept}",
    )


def _unreadable_error(exc: Unreadable, base: str) -> StreamError:
    head = exc.head.decode("utf-8", "replace").strip()
    kind_of = exc.content_type.split(";")[0].strip() or "no content type"
    if looks_like_html(head, kind_of):
        message = (f"The server at {base} answered with a web page, not a chat reply. Is the "
                   "base URL right? (It usually ends in /v1.)")
    elif not head:
        message = (f"The server at {base} ended the reply without sending anything. Try again; "
                   "if it keeps happening, check the server's log.")
    else:
        message = (f"The server at {base} sent a reply that is not an OpenAI-style chat "
                   f"completion ({kind_of}; it began: {shorten(head, 120)!r}). Check that the "
                   "base URL points at an OpenAI-compatible API (it usually ends in /v1).")
    return StreamError(kind=ErrorKind.PROTOCOL, message=message,
                       server_detail=shorten(head) if head else None)


def _http_error(status: int, detail: str | None, base: str, model: str | None,
                request: Mapping[str, Any] | None = None) -> StreamError:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    said = f"HTTP {status} {phrase}".rstrip()
    what = f"The server at {base} answered {said}"
    what += f": {sentence(detail)}" if detail else "."
    model_text = f"the model name ({model!r})" if model else "the model name"
    hints = {
        400: "It refused the request as invalid; check what it names above.",
        401: "Check the API key for this server (a local GLM-4 server needs none; hosted APIs "
             "need a valid key).",
        403: "The API key is not allowed to do this; check the key and its permissions.",
        404: f"Check the base URL ({base}; it usually ends in /v1) and {model_text}.",
        405: f"Check the base URL ({base}): this address does not take chat requests.",
        413: "The request is too large for the server: try smaller or fewer images, or a "
             "shorter conversation.",
        422: "The server could not accept some fields of the request (named above); a GLM-4 "
             "text server, for one, takes text-only messages.",
        429: "Too many requests, or the quota is used up: wait a moment and try again.",
        500: hint_for_500(request),
        502: "The server, or a proxy in front of it, is unavailable: try again shortly.",
        503: "The server is unavailable or overloaded: try again shortly.",
        504: "A proxy in front of the server timed out: try again shortly.",
    }
    hint = hints.get(status) or (
        "The server failed: try again." if status >= 500 else "The server refused the request.")
    return StreamError(kind=ErrorKind.HTTP, message=f"{what} {hint}", status=status,
                       server_detail=detail)


_IMAGES_UNSUPPORTED = re.compile(
    r"(?i)image input is not supported"  # llama.cpp without --mmproj
    r"|not compiled for multimodal"  # older llama.cpp / llamafile
    r"|image input detected, but"  # llama-cpp-python without a projector
    r"|not a multi-?modal model"  # vLLM serving a text model
    r"|at most 0 image"  # vLLM: "At most 0 image(s) may be provided in one prompt"
    r"|does(?: not|n't) support (?:image|vision|multi-?modal)"  # LM Studio, Ollama, others
    r"|image_url is only supported by certain models"  # OpenAI and its imitators
    r"|images? (?:input )?(?:are|is) not supported"
    r"|missing data required for image input"  # Ollama with a text model
    r"|content: input should be a valid string"  # the GLM-4 text server's 422 for content parts
)


def says_images_unsupported(error: StreamError) -> bool:
    """Whether a server's error means "this model cannot read images" (the one place it is read).

    Servers word it differently (llama.cpp, vLLM, Ollama, LM Studio, OpenAI), so the message and
    the server's own words are both searched. The front end remembers a match for the profile and
    model, and later questions with images are refused before anything is sent.
    """
    return any(_IMAGES_UNSUPPORTED.search(text or "")
               for text in (error.server_detail, error.message))
