"""ChatClient: one request in, an async stream of :mod:`glm_tui.client.events` out.

Every server quirk about *answering* is handled behind this class (PROTOCOL.md): no role-only
chunk or a role on every chunk, missing ``id``/``created``/``finish_reason``/``usage``, no
``[DONE]`` (the end of the body is the end), ``\\r\\n\\r\\n`` separators, a ``choices: []`` usage
chunk (vLLM), usage in the stop chunk (llama.cpp), tool calls in fragments (GLM-4, vLLM,
llama.cpp, LM Studio with empty names on later parts), whole in one chunk (Ollama) or in the
finishing chunk (Zhipu), negative usage (GLM-4V), errors as ``{"detail": ...}``,
``{"detail": [...]}``, ``{"error": {...}}`` or plain text.

How it talks: the request goes out through ``openai.AsyncOpenAI`` (auth, URL joining, status
errors), but the body is read here, from the raw HTTP stream, and parsed into plain dicts. The
SDK's typed stream cannot skip a chunk it fails to parse (one bad frame ends the whole reply) and
builds a pydantic model per chunk; reading the bytes ourselves makes an unknown chunk harmless and
keeps the per-chunk cost small.

This module is the conversation with the server: sending, the stream's timing (when a finished
reply stops waiting, draining for connection reuse) and the ``/models`` list. The pieces it is
built from each have their own module: :mod:`~glm_tui.client.sse` (bytes to payloads),
:mod:`~glm_tui.client.assembler` (payloads to a reply and its events), :mod:`~glm_tui.client.usage`
(token counts) and :mod:`~glm_tui.client.errors` (failures worded for a person, including
:class:`~glm_tui.client.errors.ClientError`); import those names from their own modules.

``openai`` is imported on first use, never at module import: it costs about a third of a second
and start-up time is a feature.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, TypeGuard

from glm_tui.client.assembler import ReplyAssembler
from glm_tui.client.errors import (
    ClientError,
    Unreadable,
    describe_error,
    is_transport_error,
)
from glm_tui.client.events import (
    ChatEvent,
    Connected,
    ErrorKind,
    Finished,
    ReasoningDelta,
    StreamError,
    TextDelta,
)
from glm_tui.client.sse import EventStream, is_event_stream
from glm_tui.model.text import sanitize_for_display

if TYPE_CHECKING:
    import openai

__all__ = ["ChatClient"]

log = logging.getLogger(__name__)

_DRAIN_SECONDS = 0.25  # reading on after [DONE], only so the connection can be reused
_AFTER_FINISH_SECONDS = 5.0  # waiting for a usage chunk / [DONE] / the end after finish_reason
_MAX_DELTA_CHARS = 16_384
"""A text delta longer than this is handed on in pieces of this size, with the event loop free
between them: a careless server's 10 MB chunk must not hold key presses for seconds."""
_READ_BYTES_PER_TURN = 262_144
"""After this many bytes read without a pause, reading lets the event loop run once: a body
already waiting in the socket is read without ever suspending, so a 10 MB frame was read,
joined and decoded in one step of the loop (about 0.1 s of key presses held)."""


class ChatClient:
    """One request in, an async stream of ChatEvent out (glm_tui.client.events).

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
        self.model_owners: tuple[str, ...] = ()
        """The ``owned_by`` of each entry of the last ``/models`` answer (vLLM, SGLang name
        themselves there: :func:`glm_tui.model.server_kind.detect_kind` reads it)."""

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

        Order: ``Connected`` once the response headers arrive; ``ReasoningDelta``,
        ``TextDelta`` (``AnswerWasReasoning`` when a reply that began mid-thought closes its
        ``</think>``) and ``ToolCallDelta`` as they come; one ``UsageReport`` (the server's, or
        an estimate); then ``Finished``. Any failure ends the stream with one ``StreamError``
        carrying the text, reasoning and tool calls that arrived before it; nothing is raised
        except ``CancelledError``.

        Stopping early closes the HTTP stream: cancelling the consuming task does it at once;
        breaking out of ``async for`` does it when the generator is closed, so consumers should
        iterate inside ``contextlib.aclosing(client.chat(...))``.
        """
        reply = ReplyAssembler()
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
                if is_event_stream(content_type, wants_stream):
                    events = _read_event_stream(response.aiter_bytes(), reply)
                    async with aclosing(events):
                        async for event in events:
                            if _is_huge(event):
                                async for piece in _paced(event):
                                    yield piece
                            else:
                                yield event
                else:
                    for event in reply.take_whole(await response.aread()):
                        if _is_huge(event):
                            async for piece in _paced(event):
                                yield piece
                        else:
                            yield event
                if not reply.done and not reply.understood:
                    raise Unreadable(content_type, reply.head)
        except Exception as exc:
            if reply.finish_reason is not None and is_transport_error(exc):
                # The reply was complete (a finish_reason arrived) and the server just hung up
                # without a clean end, as GLM-4 does after a streamed tool call.
                log.debug("stream ended by the server after finish_reason: %r", exc)
            else:
                failure = self._describe(exc, model=model_name, connected=connected,
                                         received=reply.received, request=request)
        if failure is not None:
            reply.end()  # text held back at a possible tag boundary belongs to the reply
            yield dataclasses.replace(failure, text=reply.text(), tool_calls=reply.final_calls(),
                                      unreadable=reply.unreadable, reasoning=reply.reasoning())
            return
        for event in reply.end():
            yield event
        yield reply.usage_report(request)
        yield Finished(reason=reply.finish_reason, text=reply.text(),
                       tool_calls=reply.final_calls(), unreadable=reply.unreadable,
                       reasoning=reply.reasoning())

    async def list_models(self) -> list[str]:
        """The model ids the server offers (``GET /models``); raises :class:`ClientError`."""
        try:
            import httpx2

            response = await self._client().get("/models", cast_to=httpx2.Response)
            body = response.content
        except Exception as exc:
            failure = self._describe(exc, connected=False, received=False)
            raise ClientError(failure.message, failure.status, failure.kind) from exc
        models = _model_ids(body)
        self.model_owners = _model_owners(body)
        if models is None:
            head = sanitize_for_display(body[:200].decode("utf-8", "replace"))
            raise ClientError(
                f"The server at {self.display_url} answered /models with something that is not a "
                f"model list (it began: {head!r}). Check that the base URL points at an "
                "OpenAI-compatible API (it usually ends in /v1).",
                kind=ErrorKind.PROTOCOL,
            )
        return models

    def _describe(self, exc: BaseException, *, model: str | None = None, connected: bool,
                  received: bool, request: dict[str, Any] | None = None) -> StreamError:
        """``exc`` worded for a person, with this client's address and timeouts."""
        return describe_error(
            exc, self.display_url, model=model, connected=connected, received=received,
            connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
            secret=self.api_key, request=request,
        )


# --- reading a reply ---------------------------------------------------------------------------


def _is_huge(event: ChatEvent) -> TypeGuard[TextDelta | ReasoningDelta]:
    return isinstance(event, TextDelta | ReasoningDelta) and len(event.text) > _MAX_DELTA_CHARS


async def _paced(event: TextDelta | ReasoningDelta) -> AsyncGenerator[ChatEvent, None]:
    """A huge delta as deltas of at most ``_MAX_DELTA_CHARS``, yielding to the loop between."""
    text, make = event.text, type(event)
    for start in range(0, len(text), _MAX_DELTA_CHARS):
        if start:
            await asyncio.sleep(0)
        yield make(text[start:start + _MAX_DELTA_CHARS])


async def _read_event_stream(
    chunks: AsyncIterator[bytes], reply: ReplyAssembler,
) -> AsyncGenerator[ChatEvent, None]:
    """The events of a server-sent-event body, until ``[DONE]`` or its end."""
    frames = EventStream()

    def events_of(raw: bytes) -> list[ChatEvent]:
        reply.note_head(raw)
        return reply.take(frames.feed(raw))

    ended = False
    unpaused = 0
    async for raw in chunks:
        unpaused += len(raw)
        if unpaused >= _READ_BYTES_PER_TURN:
            unpaused = 0
            await asyncio.sleep(0)
        for event in events_of(raw):
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
        for event in events_of(tail):
            yield event
    if ended:
        for event in reply.take(frames.finish()):
            yield event
    elif reply.done:
        await _drain(chunks)


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
        if not is_transport_error(exc):
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


def _model_owners(body: bytes) -> tuple[str, ...]:
    """The distinct ``owned_by`` values of a ``/models`` answer, in order (none if unreadable)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return ()
    entries = parsed.get("data") if isinstance(parsed, dict) else None
    if not isinstance(entries, list):
        return ()
    owners = {e["owned_by"]: None for e in entries
              if isinstance(e, dict) and isinstance(e.get("owned_by"), str)}
    return tuple(owners)


def _model_ids(body: bytes) -> list[str] | None:
    """Model ids from ``/models``: ``{"data": [{"id": ...}]}``, or a ``models`` list, or ids.

    Each id once, in the server's order: some proxies list a model once per backend, and a
    picker cannot offer the same id twice (its options are keyed by id).
    """
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    entries: object = parsed
    if isinstance(parsed, dict):
        entries = parsed.get("data", parsed.get("models"))
    if not isinstance(entries, list):
        return None
    ids: dict[str, None] = {}  # insertion-ordered set
    for entry in entries:
        if isinstance(entry, str) and entry:
            ids[entry] = None
        elif isinstance(entry, dict):
            for key in ("id", "name", "model"):
                value = entry.get(key)
                if isinstance(value, str) and value:
                    ids[value] = None
                    break
    return list(ids)
