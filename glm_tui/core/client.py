"""ChatClient: one request in, an async stream of :mod:`glm_tui.core.events` out.

Every server quirk about *answering* lives here (PROTOCOL.md): no role-only chunk or a role on
every chunk, missing ``id``/``created``/``finish_reason``/``usage``, no ``[DONE]`` (the end of the
body is the end), ``\\r\\n\\r\\n`` separators, a ``choices: []`` usage chunk (vLLM), usage in the
stop chunk (llama.cpp), tool calls in fragments (GLM-4, vLLM, llama.cpp, LM Studio with empty
names on later parts), whole in one chunk (Ollama) or in the finishing chunk (Zhipu), negative
usage (GLM-4V), errors as ``{"detail": ...}``, ``{"detail": [...]}``, ``{"error": {...}}`` or
plain text.

How it talks: the request goes out through ``openai.AsyncOpenAI`` (auth, URL joining, status
errors), but the body is read here, from the raw HTTP stream, and parsed into plain dicts. The
SDK's typed stream cannot skip a chunk it fails to parse (one bad frame ends the whole reply) and
builds a pydantic model per chunk; reading the bytes ourselves makes an unknown chunk harmless and
keeps the per-chunk cost small.

``openai`` is imported on first use, never at module import: it costs about a third of a second
and start-up time is a feature.
"""

from __future__ import annotations

import asyncio
import functools
import http
import inspect
import json
import logging
import re
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from glm_tui.core.conversation import ToolCall
from glm_tui.core.events import (
    ChatEvent,
    Connected,
    ErrorKind,
    Finished,
    StreamError,
    TextDelta,
    ToolCallDelta,
    UsageReport,
)
from glm_tui.core.tokens import estimate_tokens

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

DEMO_HINT = "glm-tui --demo starts a built-in one"
_DETAIL_LIMIT = 600
_DRAIN_SECONDS = 0.25  # reading on after [DONE], only so the connection can be reused
_AFTER_FINISH_SECONDS = 5.0  # waiting for a usage chunk / [DONE] / the end after finish_reason


class ClientError(Exception):
    """A failure outside a chat stream (listing models), already worded for a person."""

    def __init__(self, message: str, status: int | None = None,
                 kind: ErrorKind = ErrorKind.HTTP) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.kind = kind


class _ServerReportedError(Exception):
    """The server put an ``{"error": ...}`` object in a 200 reply (in-stream failure)."""

    def __init__(self, body: object) -> None:
        super().__init__("server reported an error")
        self.body = body


class _Unreadable(Exception):
    """The reply ended and nothing in it could be understood as a chat completion."""

    def __init__(self, content_type: str, head: bytes) -> None:
        super().__init__("unreadable reply")
        self.content_type = content_type
        self.head = head


class ChatClient:
    """One request in, an async stream of ChatEvent out (glm_tui.core.events).

    Retries: none, deliberately (``max_retries=0`` and no retry loop here). A request that
    already streamed text must never be re-sent behind the user's back (the reply would change
    under their eyes); a refused connection stays refused a few milliseconds later; a GLM-4
    server's 500 comes from settings it rejects and repeats identically; and a hosted API bills
    each attempt. Every failure becomes one :class:`StreamError` the person can act on, and the
    UI offers "retry" as their decision.
    """

    def __init__(self, base_url: str, api_key: str, *, connect_timeout: float = 10.0,
                 read_timeout: float = 120.0) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._openai: openai.AsyncOpenAI | None = None

    @property
    def display_url(self) -> str:
        return self.base_url.rstrip("/")

    def _client(self) -> openai.AsyncOpenAI:
        if self._openai is None:
            import openai

            self._openai = openai.AsyncOpenAI(
                base_url=self.base_url,
                # The SDK refuses an empty key; servers without auth (GLM-4's) ignore this one.
                api_key=self.api_key or "EMPTY",
                max_retries=0,
                # ``read`` is an idle timeout: it bounds each wait for bytes, not the whole
                # reply, so a long answer that keeps streaming never times out.
                timeout=openai.Timeout(self.read_timeout, connect=self.connect_timeout),
            )
        return self._openai

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (safe to call twice, or when nothing was ever sent)."""
        if self._openai is not None:
            client, self._openai = self._openai, None
            await client.close()

    async def chat(self, request: dict[str, Any]) -> AsyncGenerator[ChatEvent, None]:
        """Send ``request`` (``build_request`` output) and yield its events.

        Order: ``Connected`` once the response headers arrive; ``TextDelta`` and
        ``ToolCallDelta`` as they come; one ``UsageReport`` (the server's, or an estimate); then
        ``Finished``. Any failure ends the stream with one ``StreamError`` carrying the text and
        tool calls that arrived before it; nothing is raised except ``CancelledError``.

        Stopping early closes the HTTP stream: cancelling the consuming task does it at once;
        breaking out of ``async for`` does it when the generator is closed, so consumers should
        iterate inside ``contextlib.aclosing(client.chat(...))``.
        """
        reply = _Reply()
        model = request.get("model")
        model_name = model if isinstance(model, str) else None
        wants_stream = bool(request.get("stream"))
        connected = False
        failure: StreamError | None = None
        try:
            kwargs = _create_kwargs(request)
            create = self._client().chat.completions.with_streaming_response.create
            async with create(**kwargs) as api_response:
                response = api_response.http_response
                connected = True
                yield Connected(model=model_name)
                content_type = response.headers.get("content-type", "")
                if _is_event_stream(content_type, wants_stream):
                    events = _read_event_stream(response.aiter_bytes(), reply)
                    async with aclosing(events):
                        async for event in events:
                            yield event
                else:
                    body = await response.aread()
                    reply.note_head(body)
                    for event in reply.take_whole(body):
                        yield event
                if not reply.done and not reply.understood:
                    raise _Unreadable(content_type, reply.head)
        except Exception as exc:
            if reply.finish_reason is not None and _is_transport_error(exc):
                # The reply was complete (a finish_reason arrived) and the server just hung up
                # without a clean end, as GLM-4 does after a streamed tool call.
                log.debug("stream ended by the server after finish_reason: %r", exc)
            else:
                failure = describe_error(
                    exc, self.display_url, model=model_name, connected=connected,
                    received=bool(reply.parts or reply.calls),
                    connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
                )
        if failure is not None:
            yield StreamError(
                kind=failure.kind, message=failure.message, status=failure.status,
                server_detail=failure.server_detail, text=reply.text(),
                tool_calls=reply.final_calls(),
            )
            return
        yield reply.usage_report(request)
        yield Finished(reason=reply.finish_reason, text=reply.text(),
                       tool_calls=reply.final_calls())

    async def list_models(self) -> list[str]:
        """The model ids the server offers (``GET /models``); raises :class:`ClientError`."""
        try:
            import httpx2

            response = await self._client().get("/models", cast_to=httpx2.Response)
            body = response.content
        except Exception as exc:
            failure = describe_error(
                exc, self.display_url, connected=False, received=False,
                connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
            )
            raise ClientError(failure.message, failure.status, failure.kind) from exc
        models = _model_ids(body)
        if models is None:
            head = body[:200].decode("utf-8", "replace")
            raise ClientError(
                f"The server at {self.display_url} answered /models with something that is not a "
                f"model list (it began: {head!r}). Check that the base URL points at an "
                "OpenAI-compatible API (it usually ends in /v1).",
                kind=ErrorKind.PROTOCOL,
            )
        return models


# --- reading a reply --------------------------------------------------------------------------


async def _read_event_stream(
    chunks: AsyncIterator[bytes], reply: _Reply,
) -> AsyncGenerator[ChatEvent, None]:
    """The events of a server-sent-event body, until ``[DONE]`` or its end."""
    frames = _EventStream()
    ended = False
    async for raw in chunks:
        reply.note_head(raw)
        for event in reply.take(frames.feed(raw)):
            yield event
        if reply.done or reply.finish_reason is not None:
            break
    else:
        ended = True
    # After a finish_reason only a usage chunk or [DONE] should follow, at once. A server that
    # sends neither and keeps the connection open must not hold a finished reply for the whole
    # read timeout.
    while not (ended or reply.done):
        try:
            async with asyncio.timeout(_AFTER_FINISH_SECONDS):
                tail = await anext(chunks, None)
        except TimeoutError:
            log.debug("no end of stream %gs after finish_reason", _AFTER_FINISH_SECONDS)
            return
        if tail is None:
            ended = True
            break
        reply.note_head(tail)
        for event in reply.take(frames.feed(tail)):
            yield event
    if ended:
        for event in reply.take(frames.finish()):
            yield event
    elif reply.done:
        await _drain(chunks)


def _is_event_stream(content_type: str, wants_stream: bool) -> bool:
    """Trust the content type over the request: some servers ignore ``stream`` either way."""
    lowered = content_type.lower()
    if "text/event-stream" in lowered:
        return True
    if "json" in lowered:
        return False
    return wants_stream


class _EventStream:
    """Splits a byte stream into server-sent-event ``data`` payloads (bytes, not decoded).

    Lines may end in LF, CRLF or CR (a CR at the end of a piece is held until the next piece
    shows whether an LF follows). ``event:``, ``id:``, ``retry:`` and comment lines are ignored:
    chat servers put everything in ``data``.
    """

    __slots__ = ("_data", "_pending")

    def __init__(self) -> None:
        self._pending = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
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
        pending, self._pending = self._pending, b""
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
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
        return payloads


class _CallBuffer:
    __slots__ = ("arguments", "id", "name", "type")

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.type = "function"
        self.arguments = ""

    def snapshot(self) -> ToolCall:
        return ToolCall(id=self.id, name=self.name, arguments=self.arguments, type=self.type)


class _Reply:
    """What has arrived so far, and how one parsed chunk changes it."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.calls: dict[int, _CallBuffer] = {}
        self.finish_reason: str | None = None
        self.usage: tuple[int | None, int | None] | None = None
        self.understood = 0  # chunks that had choices or usage
        self.skipped = 0  # payloads that were not JSON objects
        self.done = False  # saw [DONE]
        self.head = b""  # the first bytes of the body, to quote when nothing made sense
        self._text: str | None = None
        self._final: tuple[ToolCall, ...] | None = None

    def note_head(self, raw: bytes) -> None:
        if len(self.head) < 200:
            self.head += raw[: 200 - len(self.head)]

    def text(self) -> str:
        if self._text is None:
            self._text = "".join(self.parts)
        return self._text

    def take(self, payloads: list[bytes]) -> list[ChatEvent]:
        """Events for a batch of SSE payloads; unparseable ones are counted and skipped."""
        events: list[ChatEvent] = []
        for payload in payloads:
            if payload.startswith(b"[DONE]"):
                self.done = True
                break
            try:
                chunk = json.loads(payload)
            except ValueError:
                self.skipped += 1
                continue
            self._apply(chunk, events)
        return events

    def take_whole(self, body: bytes) -> list[ChatEvent]:
        """Events for a non-streamed completion (``message`` instead of ``delta``)."""
        events: list[ChatEvent] = []
        try:
            completion = json.loads(body)
        except ValueError:
            self.skipped += 1
            return events
        self._apply(completion, events)
        return events

    def _apply(self, chunk: object, events: list[ChatEvent]) -> None:
        if not isinstance(chunk, dict):
            self.skipped += 1
            return
        error = chunk.get("error")
        if error:
            raise _ServerReportedError({"error": error})
        if chunk.get("object") == "error":  # vLLM: {"object": "error", "message": ..., "code"}
            raise _ServerReportedError({"error": chunk})
        understood = False
        usage = chunk.get("usage")
        if usage is not None:
            understood = True
            counts = _usage_counts(usage)
            if counts is not None:
                self.usage = counts
        choices = chunk.get("choices")
        if isinstance(choices, list):
            understood = True
            # Only one reply is ever requested (no ``n``), so every choice belongs to it.
            for choice in choices:
                if isinstance(choice, dict):
                    self._apply_choice(choice, events)
        if understood:
            self.understood += 1
        else:
            self.skipped += 1

    def _apply_choice(self, choice: dict[str, Any], events: list[ChatEvent]) -> None:
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            delta = choice.get("message")
        if isinstance(delta, dict):
            content = delta.get("content")
            text = content if isinstance(content, str) else _text_of_parts(content)
            if text:
                self.parts.append(text)
                events.append(TextDelta(text))
            tool_calls = delta.get("tool_calls")
            if isinstance(tool_calls, list) and tool_calls:
                self._apply_tool_calls(tool_calls, events)
            function_call = delta.get("function_call")
            if isinstance(function_call, dict):  # the pre-tools OpenAI shape
                self._apply_tool_calls([{"index": 0, "function": function_call}], events)
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            self.finish_reason = reason

    def _apply_tool_calls(self, entries: list[Any], events: list[ChatEvent]) -> None:
        for position, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            function = entry.get("function")
            if not isinstance(function, dict):
                function = {}
            call_id = entry.get("id")
            call_id = call_id if isinstance(call_id, str) else ""
            index = entry.get("index")
            if not isinstance(index, int) or isinstance(index, bool):
                index = self._index_for(call_id, position)
            buffer = self.calls.get(index)
            if buffer is None:
                buffer = self.calls[index] = _CallBuffer()
            # Later fragments carry id/name as null (GLM-4, vLLM) or "" (LM Studio): the first
            # non-empty value wins.
            if call_id and not buffer.id:
                buffer.id = call_id
            name = function.get("name")
            if isinstance(name, str) and name and not buffer.name:
                buffer.name = name
            kind = entry.get("type")
            if isinstance(kind, str) and kind and kind != buffer.type and not buffer.arguments:
                buffer.type = kind
            arguments = function.get("arguments")
            if arguments is None:
                fragment = ""
            elif isinstance(arguments, str):
                fragment = arguments
            else:  # some servers send the arguments as a JSON object, not its text
                fragment = json.dumps(arguments, ensure_ascii=False)
            buffer.arguments += fragment
            events.append(ToolCallDelta(index=index, arguments_fragment=fragment,
                                        call=buffer.snapshot()))

    def _index_for(self, call_id: str, position: int) -> int:
        """An index for a tool-call entry that has none: by its id, else by its position."""
        if call_id:
            for index, buffer in self.calls.items():
                if buffer.id == call_id:
                    return index
            return max(self.calls, default=-1) + 1
        return position

    def final_calls(self) -> tuple[ToolCall, ...]:
        """The accumulated calls in index order; a call the server gave no id gets one."""
        if self._final is None:
            calls = []
            for index in sorted(self.calls):
                buffer = self.calls[index]
                if not buffer.id:
                    buffer.id = f"call_{uuid.uuid4().hex[:24]}"
                calls.append(buffer.snapshot())
            self._final = tuple(calls)
        return self._final

    def usage_report(self, request: dict[str, Any]) -> UsageReport:
        """The server's counts when they are believable, else an estimate."""
        produced = bool(self.parts or self.calls)
        if self.usage is not None:
            prompt, completion = self.usage
            # A completion count of 0 for a reply that has text is a server that does not count.
            if not (completion == 0 and produced):
                return UsageReport(prompt, completion, estimated=False)
        completion_estimate = estimate_tokens(self.text()) + sum(
            estimate_tokens(call.name) + estimate_tokens(call.arguments)
            for call in self.final_calls()
        )
        return UsageReport(estimate_prompt_tokens(request), completion_estimate, estimated=True)


def _text_of_parts(content: object) -> str:
    """Text from a content given as a list of parts (some servers), else nothing."""
    if not isinstance(content, list):
        return ""
    pieces = []
    for part in content:
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            pieces.append(part["text"])
    return "".join(pieces)


def _count(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    raise ValueError(value)


def _usage_counts(usage: object) -> tuple[int | None, int | None] | None:
    """(prompt, completion) when usage is believable; None when absent or nonsense.

    GLM-4V reports negative completion counts: one bad number makes the whole report
    untrustworthy, so it is treated as absent and the client estimates instead.
    """
    if not isinstance(usage, dict):
        return None
    prompt = usage.get("prompt_tokens")
    completion = usage.get("completion_tokens")
    try:
        counts = (None if prompt is None else _count(prompt),
                  None if completion is None else _count(completion))
    except ValueError:
        return None
    if counts == (None, None):
        return None
    return counts


def estimate_prompt_tokens(request: dict[str, Any]) -> int | None:
    """An estimate of the prompt's tokens; None when it holds images (their cost is unknowable)."""
    messages = request.get("messages")
    if not isinstance(messages, list):
        return None
    total = 3  # the reply's priming
    for message in messages:
        if not isinstance(message, dict):
            continue
        total += 4  # role and separators
        content = message.get("content")
        if isinstance(content, str):
            total += estimate_tokens(content)
        elif isinstance(content, list):
            for part in content:
                if not isinstance(part, dict):
                    continue
                if part.get("type") == "text" and isinstance(part.get("text"), str):
                    total += estimate_tokens(part["text"])
                elif part.get("type") != "text":
                    return None
        for call in message.get("tool_calls") or ():
            if isinstance(call, dict):
                total += estimate_tokens(json.dumps(call.get("function"), ensure_ascii=False))
    tools = request.get("tools")
    if tools:
        total += estimate_tokens(json.dumps(tools, ensure_ascii=False))
    return total


def _model_ids(body: bytes) -> list[str] | None:
    """Model ids from ``/models``: ``{"data": [{"id": ...}]}``, or a ``models`` list, or ids."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    entries: object = parsed
    if isinstance(parsed, dict):
        entries = parsed.get("data", parsed.get("models"))
    if not isinstance(entries, list):
        return None
    ids: list[str] = []
    for entry in entries:
        if isinstance(entry, str):
            ids.append(entry)
        elif isinstance(entry, dict):
            for key in ("id", "name", "model"):
                value = entry.get(key)
                if isinstance(value, str) and value:
                    ids.append(value)
                    break
    return ids


async def _drain(chunks: AsyncIterator[bytes]) -> None:
    """Read what follows ``[DONE]`` briefly, so the connection can be reused.

    The reply is complete at this point: a server that lingers or breaks only costs the
    connection, so those failures end the drain and nothing else.
    """
    try:
        async with asyncio.timeout(_DRAIN_SECONDS):
            async for _ in chunks:
                pass
    except TimeoutError:
        pass
    except Exception as exc:
        if not _is_transport_error(exc):
            raise
        log.debug("ignoring a failure after [DONE]: %r", exc)


def _create_kwargs(request: dict[str, Any]) -> dict[str, Any]:
    """``request`` as ``create()`` keyword arguments; fields it does not know go in the body.

    Servers take fields the SDK has no parameter for (GLM-4's ``repetition_penalty``, vLLM's
    ``top_k``); passing them as keywords would be a TypeError.
    """
    known = _create_parameters()
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in request.items():
        (kwargs if key in known else extra)[key] = value
    if extra:
        kwargs["extra_body"] = {**extra, **(kwargs.get("extra_body") or {})}
    return kwargs


_CREATE_PARAMETERS: frozenset[str] | None = None


def _create_parameters() -> frozenset[str]:
    global _CREATE_PARAMETERS
    if _CREATE_PARAMETERS is None:
        from openai.resources.chat.completions import AsyncCompletions

        signature = inspect.signature(AsyncCompletions.create)
        _CREATE_PARAMETERS = frozenset(signature.parameters) - {"self"}
    return _CREATE_PARAMETERS


# --- describing failures ----------------------------------------------------------------------


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


def _is_transport_error(exc: BaseException) -> bool:
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
            return link.strerror[0].lower() + link.strerror[1:]
    text = str(exc).strip()
    return text[0].lower() + text[1:] if text else type(exc).__name__


def _broken_reason(exc: BaseException) -> str:
    for link in _chain(exc):
        if isinstance(link, ConnectionResetError):
            return "the connection was reset"
        if type(link).__name__ == "RemoteProtocolError":
            text = str(link)
            if "incomplete" in text or "peer closed" in text.lower():
                return "the server closed the connection before the reply was complete"
            return f"the server broke the HTTP protocol ({text})"
    text = str(exc).strip()
    return text[0].lower() + text[1:] if text else type(exc).__name__


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
) -> StreamError:
    """A :class:`StreamError` (kind, message for a person, status, the server's words) for ``exc``.

    ``connected``: the response headers had arrived; ``received``: reply text or tool calls had
    arrived (the message then says they are kept).
    """
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
        return _http_error(exc.status_code, detail, base, model)
    if isinstance(exc, _ServerReportedError):
        detail = _detail_of(exc.body) or _shorten(json.dumps(exc.body, ensure_ascii=False))
        return StreamError(
            kind=ErrorKind.HTTP, server_detail=detail,
            message=f"The server at {base} reported an error during the reply: "
                    f"{_sentence(detail)}{kept} Try again, or check the request settings.",
        )
    if isinstance(exc, _Unreadable):
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
                           message=f"The request to {base} failed: {_sentence(exc.message)}{kept}")
    log.error("unexpected failure of a chat request to %s", base, exc_info=exc)
    return StreamError(
        kind=ErrorKind.PROTOCOL,
        message=f"The request to {base} failed unexpectedly: {type(exc).__name__}: {exc}.{kept}",
    )


def _unreadable_error(exc: _Unreadable, base: str) -> StreamError:
    head = exc.head.decode("utf-8", "replace").strip()
    kind_of = exc.content_type.split(";")[0].strip() or "no content type"
    if "html" in kind_of or head.lower().startswith(("<!doctype", "<html")):
        message = (f"The server at {base} answered with a web page, not a chat reply. Is the "
                   "base URL right? (It usually ends in /v1.)")
    elif not head:
        message = (f"The server at {base} ended the reply without sending anything. Try again; "
                   "if it keeps happening, check the server's log.")
    else:
        message = (f"The server at {base} sent a reply that is not an OpenAI-style chat "
                   f"completion ({kind_of}; it began: {_shorten(head, 120)!r}). Check that the "
                   "base URL points at an OpenAI-compatible API (it usually ends in /v1).")
    return StreamError(kind=ErrorKind.PROTOCOL, message=message,
                       server_detail=_shorten(head) if head else None)


def _http_error(status: int, detail: str | None, base: str, model: str | None) -> StreamError:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    said = f"HTTP {status} {phrase}".rstrip()
    what = f"The server at {base} answered {said}"
    what += f": {_sentence(detail)}" if detail else "."
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
        500: "The server failed while handling the request. GLM-4 servers answer 500 to "
             "sampling values out of range and to tools they cannot stream: check the settings, "
             "then try again.",
        502: "The server, or a proxy in front of it, is unavailable: try again shortly.",
        503: "The server is unavailable or overloaded: try again shortly.",
        504: "A proxy in front of the server timed out: try again shortly.",
    }
    hint = hints.get(status) or (
        "The server failed: try again." if status >= 500 else "The server refused the request.")
    return StreamError(kind=ErrorKind.HTTP, message=f"{what} {hint}", status=status,
                       server_detail=detail)


_TAGS = re.compile(r"<[^>]+>")


def server_detail(body: str, content_type: str = "") -> str | None:
    """The server's own words from an error body (JSON ``detail``/``error`` forms, or text)."""
    text = body.strip()
    if not text:
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    else:
        detail = _detail_of(parsed)
        if detail:
            return _shorten(detail)
    if "html" in content_type.lower() or text.lower().startswith(("<!doctype", "<html")):
        text = " ".join(_TAGS.sub(" ", text).split())
    return _shorten(text) if text else None


def _detail_of(body: object) -> str | None:
    """``{"detail": str}``, ``{"detail": [{"loc", "msg"}]}``, ``{"error": {"message", "code"}}``."""
    if isinstance(body, str):
        return body or None
    if not isinstance(body, dict):
        return None
    detail = body.get("detail")
    if isinstance(detail, str) and detail:
        return detail
    if isinstance(detail, list) and detail:
        return "; ".join(_validation_item(item) for item in detail)
    if isinstance(detail, dict):
        return _detail_of(detail)
    error = body.get("error")
    if isinstance(error, dict):
        message = error.get("message") or error.get("msg")
        code = error.get("code")
        if isinstance(message, str) and message:
            if code in (None, ""):
                return message
            return f"{message.rstrip().removesuffix('.')} (code {code})"
        return json.dumps(error, ensure_ascii=False)
    if isinstance(error, str) and error:
        return error
    for key in ("message", "msg"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _validation_item(item: object) -> str:
    """One FastAPI/pydantic validation error as ``messages[0].content: msg``."""
    if not isinstance(item, dict):
        return str(item)
    message = str(item.get("msg") or item.get("message") or item)
    loc = item.get("loc")
    if not isinstance(loc, list) or not loc:
        return message
    parts = list(loc[1:] if loc[0] == "body" and len(loc) > 1 else loc)
    where = ""
    for part in parts:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return f"{where}: {message}" if where else message


def _shorten(text: str, limit: int = _DETAIL_LIMIT) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _sentence(text: str) -> str:
    """``text`` ending in a full stop, so a hint can follow it."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…", "。")) else text + "."
