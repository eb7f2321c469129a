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
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import socket
import string
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO
from urllib.parse import urlsplit

from glm_tui.core.demo_replies import (
    Conversation,
    Directives,
    ImageInfo,
    ImageProblem,
    ReplyPlan,
    count_tokens,
    decode_data_url,
    inspect_image,
    last_user_text,
    message_text,
    parse_directives,
    plan_reply,
    tokenize,
)

FLAVORS = ("glm4", "openai")
TEXT_MODEL_ID = "glm-4"
VISION_MODEL_ID = "GLM-4v-9b"
GLM4_DEFAULT_MAX_TOKENS = 1024
IMAGE_PROMPT_TOKENS = 1602  # what one image costs GLM-4V's prompt
MAX_BODY_BYTES = 64 * 1024 * 1024
SLICE_S = 0.005
JPEG_PREFIX = "data:image/jpeg;base64,"
PLAIN_500 = b"Internal Server Error"


def _dumps(value: Any) -> bytes:
    """Compact JSON with raw UTF-8, as pydantic's ``model_dump_json`` and FastAPI write it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _random_id(prefix: str, length: int) -> str:
    return prefix + "".join(random.choices(string.ascii_letters + string.digits, k=length))


def is_vision_model(model: str) -> bool:
    return "4v" in model.lower()


class _Reply(Exception):
    """A complete non-streamed response, raised to unwind request handling (errors mostly)."""

    def __init__(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.content_type = content_type


class _ClientGone(Exception):
    """The client closed the connection; nothing more can be sent."""


class _Stopping(Exception):
    """The server is stopping; open streams are cut."""


def _detail(status: int, detail: Any) -> _Reply:
    return _Reply(status, _dumps({"detail": detail}))


def _plain_500() -> _Reply:
    return _Reply(500, PLAIN_500, "text/plain; charset=utf-8")


_OPENAI_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def _openai_error(status: int, message: str, code: str | None, param: str | None = None) -> _Reply:
    fallback = "server_error" if status >= 500 else "invalid_request_error"
    kind = _OPENAI_ERROR_TYPES.get(status, fallback)
    error = {"message": message, "type": kind, "param": param, "code": code}
    return _Reply(status, _dumps({"error": error}))


# ---------------------------------------------------------------------------------------------
# Timing


@dataclass
class _Frame:
    """Bytes of the response body that may be sent once ``due`` tokens have been generated."""

    due: int
    data: bytes


@dataclass
class _StreamPlan:
    """A streamed response: when headers go out, the frames, and whether it ends abruptly."""

    frames: list[_Frame]
    headers_due: int = 0
    content_type: str = "text/event-stream; charset=utf-8"
    abort: bool = False


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

    def batches(self, frames: Sequence[_Frame]) -> Iterator[bytes]:
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
# The parsed request


@dataclass
class _Chat:
    """A chat request after its flavour's checks, with what the reply needs."""

    body: dict[str, Any]
    model: str
    messages: list[dict[str, Any]]
    stream: bool
    tools: list[dict[str, Any]]
    tool_choice: Any
    directives: Directives
    clock: _Clock
    max_tokens: int | None = None
    include_usage: bool = False
    image: ImageInfo | None = None
    prompt_tokens: int = 0
    created: int = field(default_factory=lambda: int(time.time()))


def _prompt_tokens(body: dict[str, Any], messages: Sequence[dict[str, Any]], image: bool) -> int:
    total = 2 + sum(count_tokens(message_text(m)) + 3 for m in messages)
    if body.get("tools"):
        total += count_tokens(json.dumps(body["tools"], ensure_ascii=False))
    return total + (IMAGE_PROMPT_TOKENS if image else 0)


@dataclass
class _Tokens:
    """The reply split into tokens, shortened by max_tokens and the cut directive."""

    tokens: list[str]
    finish: str
    cut: bool

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def _reply_tokens(text: str, plan: ReplyPlan, chat: _Chat) -> _Tokens:
    tokens = tokenize(text)
    finish = "stop"
    if not plan.exact and chat.max_tokens is not None and len(tokens) > chat.max_tokens:
        tokens = tokens[: chat.max_tokens]
        finish = "length"
    cut = chat.directives.cut
    if cut is None:
        return _Tokens(tokens, finish, False)
    return _Tokens(_cut_tokens(tokens, cut), finish, True)


def _cut_tokens(tokens: list[str], limit: int) -> list[str]:
    """The tokens holding the first ``limit`` characters (the last one shortened)."""
    out: list[str] = []
    left = limit
    for token in tokens:
        if left <= 0:
            break
        out.append(token[:left])
        left -= len(out[-1])
    return out


# ---------------------------------------------------------------------------------------------
# Request checks shared by the glm4 flavours (pydantic-like 422 details)


def _error(kind: str, loc: Sequence[Any], msg: str, value: Any) -> dict[str, Any]:
    return {"type": kind, "loc": ["body", *loc], "msg": msg, "input": value}


def _check_optional(
    body: dict[str, Any], name: str, kind: str, errors: list[dict[str, Any]]
) -> None:
    value = body.get(name)
    if value is None:
        return
    if kind == "float" and (isinstance(value, bool) or not isinstance(value, int | float)):
        errors.append(_error("float_type", [name], "Input should be a valid number", value))
    elif kind == "int" and not (
        (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, float) and value.is_integer())
    ):
        errors.append(_error("int_type", [name], "Input should be a valid integer", value))
    elif kind == "bool" and not isinstance(value, bool):
        errors.append(_error("bool_type", [name], "Input should be a valid boolean", value))


def _glm4_checks(body: Any, vision: bool) -> list[dict[str, Any]]:
    """The 422 details the GLM-4 (or GLM-4V) server's pydantic models would give."""
    if not isinstance(body, dict):
        return [
            _error(
                "model_attributes_type", [],
                "Input should be a valid dictionary or object to extract fields from", body,
            )
        ]
    errors: list[dict[str, Any]] = []
    for name in ("model", "messages"):
        if name not in body:
            errors.append(_error("missing", [name], "Field required", body))
    if "model" in body and not isinstance(body["model"], str):
        errors.append(
            _error("string_type", ["model"], "Input should be a valid string", body["model"])
        )
    messages = body.get("messages")
    if "messages" in body and not isinstance(messages, list):
        errors.append(_error("list_type", ["messages"], "Input should be a valid list", messages))
    roles = ("user", "assistant", "system") if vision else ("user", "assistant", "system", "tool")
    expected = ", ".join(f"'{r}'" for r in roles[:-1]) + f" or '{roles[-1]}'"
    for index, message in enumerate(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict):
            errors.append(_error("model_type", ["messages", index],
                                 "Input should be a valid dictionary or instance of a message",
                                 message))
            continue
        role = message.get("role")
        if "role" not in message:
            errors.append(_error("missing", ["messages", index, "role"], "Field required", message))
        elif role not in roles:
            error = _error("literal_error", ["messages", index, "role"],
                           f"Input should be {expected}", role)
            error["ctx"] = {"expected": expected}
            errors.append(error)
        content = message.get("content")
        if vision:
            errors.extend(_vision_content_errors(index, message))
        elif content is not None and not isinstance(content, str):
            errors.append(_error("string_type", ["messages", index, "content"],
                                 "Input should be a valid string", content))
        calls = message.get("tool_calls")
        if not vision and calls is not None and (
            not isinstance(calls, list)
            or not all(isinstance(c, dict) and isinstance(c.get("function"), dict) for c in calls)
        ):
            errors.append(_error("list_type", ["messages", index, "tool_calls"],
                                 "Input should be a valid list of tool calls", calls))
    for name, kind in (("temperature", "float"), ("top_p", "float"), ("max_tokens", "int"),
                       ("stream", "bool"), ("repetition_penalty", "float")):
        _check_optional(body, name, kind, errors)
    if not vision:
        tools = body.get("tools")
        if tools is not None and not isinstance(tools, dict | list):
            errors.append(_error("list_type", ["tools"], "Input should be a valid list", tools))
        choice = body.get("tool_choice")
        if choice is not None and not isinstance(choice, str | dict):
            errors.append(_error("string_type", ["tool_choice"], "Input should be a valid string",
                                 choice))
    return errors


def _vision_content_errors(index: int, message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    loc: list[Any] = ["messages", index, "content"]
    if "content" not in message:
        return [_error("missing", loc, "Field required", message)]
    if isinstance(content, str):
        return []
    if not isinstance(content, list):
        return [_error("string_type", loc, "Input should be a valid string", content)]
    errors = []
    for position, part in enumerate(content):
        ok = isinstance(part, dict) and (
            (part.get("type") == "text" and isinstance(part.get("text"), str))
            or (part.get("type") == "image_url"
            and isinstance(part.get("image_url"), dict)
            and isinstance(part["image_url"].get("url"), str))
        )
        if not ok:
            errors.append(_error("union_tag_invalid", [*loc, position],
                                 "Input should be a text or image_url part", part))
    return errors


def _image_urls(messages: Sequence[dict[str, Any]]) -> list[str]:
    urls: list[str] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            urls.extend(
                part["image_url"]["url"]
                for part in content
                if isinstance(part, dict) and part.get("type") == "image_url"
            )
    return urls


# ---------------------------------------------------------------------------------------------
# glm4 flavour: the GLM-4 text server


def _glm4_text(handler: _Handler, body: dict[str, Any], chat: _Chat) -> None:
    raw_tools = body.get("tools")
    tools: list[dict[str, Any]] = (
        [raw_tools] if isinstance(raw_tools, dict)
        else [t for t in raw_tools or [] if isinstance(t, dict)]
    )
    temperature = body.get("temperature", 0.8)
    top_p = body.get("top_p", 0.8)
    penalty = body.get("repetition_penalty", 1.1)
    max_tokens = body.get("max_tokens")
    # vLLM's SamplingParams raises ValueError for these; FastAPI turns that into a bare 500.
    if (
        (temperature is not None and temperature < 0)
        or (top_p is not None and not 0 < top_p <= 1)
        or (penalty is not None and not 0 < penalty <= 2)
        or (max_tokens is not None and max_tokens < 0)
    ):
        raise _plain_500()
    has_builtin = bool(raw_tools) and (
        isinstance(raw_tools, dict) or any(not isinstance(t.get("function"), dict) for t in tools)
    )
    if chat.stream and has_builtin:
        raise _plain_500()  # tools without "function" raise KeyError before the stream starts
    chat.max_tokens = int(max_tokens or GLM4_DEFAULT_MAX_TOKENS)
    choice = chat.tool_choice
    active = tools if choice != "none" else []
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name")
        active = [t for t in tools if (t.get("function") or {}).get("name") == wanted]
    chat.prompt_tokens = _prompt_tokens(body, chat.messages, False)
    conv = Conversation(chat.messages, chat.model, active, choice, honour_system=not active)
    plan = plan_reply(conv)
    if plan.tool_call is not None and has_builtin:
        # process_response fails on the tool without "function": the raw model text comes back.
        call = plan.tool_call
        plan = ReplyPlan(text=f"{call.name}\n{call.arguments}", exact=True)
    withhold = bool(active) and choice != "none"
    if not chat.stream:
        handler.send_reply(_glm4_complete(chat, plan))
    elif plan.tool_call is not None:
        handler.send_stream(_glm4_tool_stream(chat, plan), chat.clock)
    else:
        handler.send_stream(_glm4_text_stream(chat, plan, withhold), chat.clock)


def _glm4_complete(chat: _Chat, plan: ReplyPlan) -> _Reply:
    message: dict[str, Any] = {"role": "assistant", "content": None, "function_call": None,
                               "tool_calls": None}
    if plan.tool_call is not None:
        output = f"{plan.tool_call.name}\n{plan.tool_call.arguments}"
        reply = _reply_tokens(output, ReplyPlan(text=output, exact=True), chat)
        message["tool_calls"] = [{
            "index": 0,
            "id": _random_id("call_", 24),
            "function": {"name": plan.tool_call.name, "arguments": plan.tool_call.arguments},
            "type": "function",
        }]
        finish = "tool_calls"
    else:
        reply = _reply_tokens(plan.text, plan, chat)
        message["content"] = reply.text
        finish = "stop"  # the server never reports "length" here
    completion = len(reply.tokens)
    body = {
        "model": chat.model,
        "id": _random_id("chatcmpl-", 29),
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "created": chat.created,
        "system_fingerprint": _random_id("fp_", 9),
        "usage": {"prompt_tokens": chat.prompt_tokens,
                  "total_tokens": chat.prompt_tokens + completion,
                  "completion_tokens": completion},
    }
    chat.clock.wait(completion)
    data = _dumps(body)
    if reply.cut and plan.tool_call is None:
        raise _CutBody(data, reply.text)
    return _Reply(200, data)


class _CutBody(Exception):
    """Send the start of a non-streamed body (its full length announced), then drop the line."""

    def __init__(self, body: bytes, text: str) -> None:
        super().__init__(len(body))
        self.length = len(body)
        self.partial = body[: _content_offset(body, text)]


def _content_offset(body: bytes, text: str) -> int:
    """Where the JSON string of ``text`` ends inside ``body`` (without its closing quote)."""
    marker = b'"content":'
    escaped = _dumps(text)[:-1]
    start = body.index(marker + escaped) + len(marker)
    return start + len(escaped)


class _Glm4Frames:
    """Chunk builder for the GLM-4 text server: fixed id, created and fingerprint per stream."""

    def __init__(self, chat: _Chat) -> None:
        self.model = chat.model
        self.id = _random_id("chatcmpl-", 29)
        self.created = chat.created
        self.fingerprint = _random_id("fp_", 9)

    def chunk(self, delta: dict[str, Any], finish: str | None, usage_null: bool = False) -> bytes:
        body: dict[str, Any] = {
            "model": self.model,
            "id": self.id,
            "object": "chat.completion.chunk",
            "choices": [{"delta": delta, "finish_reason": finish, "index": 0}],
            "created": self.created,
            "system_fingerprint": self.fingerprint,
        }
        if usage_null:
            body["usage"] = None
        return b"data: " + _dumps(body) + b"\r\n\r\n"

    def text(self, content: str, finish: str | None) -> bytes:
        return self.chunk({"role": "assistant", "content": content, "function_call": None}, finish)


GLM4_DONE = b"data: [DONE]\r\n\r\n"


def _glm4_text_stream(chat: _Chat, plan: ReplyPlan, withhold: bool) -> _StreamPlan:
    frames = _Glm4Frames(chat)
    reply = _reply_tokens(plan.text, plan, chat)
    tokens = reply.tokens or ([] if reply.cut else [""])  # an empty answer is one empty chunk
    finish = None if reply.cut else reply.finish
    if withhold:
        # Tools passed and a text answer: nothing streams until the whole text is generated,
        # then one chunk whose finish_reason the server hardcodes to "stop".
        count = max(len(tokens), 1)
        out = [_Frame(count, frames.text(reply.text, None if reply.cut else "stop"))]
        if not reply.cut:
            out.append(_Frame(count, GLM4_DONE))
        return _StreamPlan(out, headers_due=count, abort=reply.cut)
    out = [
        _Frame(k + 1, frames.text(token, finish if k == len(tokens) - 1 else None))
        for k, token in enumerate(tokens)
    ]
    if not reply.cut:
        out.append(_Frame(len(tokens), GLM4_DONE))
    return _StreamPlan(out, headers_due=1, abort=reply.cut)


def _glm4_tool_stream(chat: _Chat, plan: ReplyPlan) -> _StreamPlan:
    assert plan.tool_call is not None
    frames = _Glm4Frames(chat)
    call = plan.tool_call
    lead = count_tokens(call.name + "\n")
    arguments = tokenize(call.arguments)
    cut = chat.directives.cut
    if cut is not None:
        arguments = _cut_tokens(arguments, cut)
    first = {
        "role": "assistant", "content": None, "function_call": None,
        "tool_calls": [{"index": 0, "id": _random_id("call_", 24),
                        "function": {"name": call.name, "arguments": ""}, "type": "function"}],
    }
    out = [_Frame(lead + 1, frames.chunk(first, None))]
    for k, token in enumerate(arguments):
        delta = {
            "role": None, "content": None, "function_call": None,
            "tool_calls": [{"index": 0, "id": None,
                            "function": {"name": None, "arguments": token}, "type": "function"}],
        }
        out.append(_Frame(lead + k + 1, frames.chunk(delta, None)))
    if cut is None:
        final = {"role": None, "content": None, "function_call": None}
        last = frames.chunk(final, "tool_calls", usage_null=True)
        out.append(_Frame(lead + len(arguments), last))
    return _StreamPlan(out, headers_due=lead + 1, abort=cut is not None)


# ---------------------------------------------------------------------------------------------
# glm4 flavour with a "4v" model: the GLM-4V vision server


def _glm4v(handler: _Handler, body: dict[str, Any], chat: _Chat) -> None:
    previous = None
    for message in chat.messages:
        role = message.get("role")
        # process_history_and_images asserts on these; FastAPI answers a bare 500.
        if role == "system" or (role == "assistant" and previous in (None, "assistant")):
            raise _plain_500()
        previous = role
    for url in _image_urls(chat.messages):
        if not url.startswith(JPEG_PREFIX):
            raise _plain_500()  # anything else is fetched over HTTP; the demo never does
        try:
            info = inspect_image(decode_data_url(url))
        except ImageProblem:
            raise _plain_500() from None
        chat.image = chat.image or info  # one image per request: the first one is used
    chat.max_tokens = int(body.get("max_tokens") or GLM4_DEFAULT_MAX_TOKENS)
    chat.prompt_tokens = _prompt_tokens(body, chat.messages, chat.image is not None)
    plan = plan_reply(Conversation(chat.messages, chat.model, image=chat.image))
    reply = _reply_tokens(plan.text, plan, chat)
    if not chat.stream:
        completion = len(reply.tokens)
        data = _dumps({
            "model": chat.model,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text,
                                                 "name": None}}],
            "created": chat.created,
            # The server counts the generated text as the total: completion goes negative.
            "usage": {"prompt_tokens": chat.prompt_tokens, "total_tokens": completion,
                      "completion_tokens": completion - chat.prompt_tokens},
        })
        chat.clock.wait(completion)
        if reply.cut:
            raise _CutBody(data, reply.text)
        handler.send_reply(_Reply(200, data))
        return

    def chunk(delta: dict[str, Any]) -> bytes:
        body = {"model": chat.model, "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta}]}
        return b"data: " + _dumps(body) + b"\r\n\r\n"

    out = [_Frame(0, chunk({"role": "assistant"}))]
    out.extend(
        _Frame(k + 1, chunk({"role": "assistant", "content": token}))
        for k, token in enumerate(reply.tokens)
    )
    if not reply.cut:
        out.append(_Frame(len(reply.tokens), chunk({"role": "assistant", "content": ""})))
        out.append(_Frame(len(reply.tokens), chunk({})))
    handler.send_stream(_StreamPlan(out, abort=reply.cut), chat.clock)


# ---------------------------------------------------------------------------------------------
# openai flavour


def _openai_checks(body: Any) -> None:
    """Raise a 400 in OpenAI's form for what a clean OpenAI server would reject."""
    if not isinstance(body, dict):
        raise _openai_error(400, "The request body must be a JSON object.", None)
    if not isinstance(body.get("model"), str):
        raise _openai_error(400, "you must provide a model parameter", None, "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _openai_error(400, "'messages' must be a non-empty array", None, "messages")
    for index, message in enumerate(messages):
        param = f"messages[{index}]"
        if not isinstance(message, dict) or message.get("role") not in (
            "system", "developer", "user", "assistant", "tool"
        ):
            raise _openai_error(400, f"Invalid value for '{param}.role'.", None, f"{param}.role")
        content = message.get("content")
        if content is None or isinstance(content, str):
            continue
        if not isinstance(content, list):
            raise _openai_error(400, f"Invalid type for '{param}.content'.", None,
                                f"{param}.content")
        for position, part in enumerate(content):
            ok = isinstance(part, dict) and (
                (part.get("type") == "text" and isinstance(part.get("text"), str))
                or (part.get("type") == "image_url" and isinstance(part.get("image_url"), dict)
                and isinstance(part["image_url"].get("url"), str))
            )
            if not ok:
                raise _openai_error(400, f"Invalid content part '{param}.content[{position}]'.",
                                    None, f"{param}.content[{position}]")
    ranges = {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0),
              "presence_penalty": (-2.0, 2.0), "frequency_penalty": (-2.0, 2.0)}
    for name, (low, high) in ranges.items():
        value = body.get(name)
        if value is None:
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not low <= value <= high:
            raise _openai_error(
                400, f"Invalid '{name}': expected a number from {low:g} to {high:g}.",
                "invalid_value", name,
            )
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        whole = isinstance(value, int) and not isinstance(value, bool)
        if value is not None and (not whole or value < 1):
            raise _openai_error(400, f"Invalid '{name}': expected an integer of at least 1.",
                                "invalid_value", name)


def _openai(handler: _Handler, body: dict[str, Any], chat: _Chat) -> None:
    for url in _image_urls(chat.messages):
        if not url.startswith("data:"):
            raise _openai_error(
                400, "The demo server does not download images; attach the image as a data: URL.",
                "invalid_image_url",
            )
        try:
            chat.image = inspect_image(decode_data_url(url))  # the latest image is described
        except ImageProblem as problem:
            raise _openai_error(400, f"Could not read the attached image: {problem}.",
                                "invalid_image") from None
    tools = [t for t in chat.tools if t.get("type") == "function"]
    limit = body.get("max_tokens") or body.get("max_completion_tokens")
    chat.max_tokens = int(limit) if limit else None
    options = body.get("stream_options")
    chat.include_usage = isinstance(options, dict) and options.get("include_usage") is True
    chat.prompt_tokens = _prompt_tokens(body, chat.messages, chat.image is not None)
    plan = plan_reply(Conversation(chat.messages, chat.model, tools, chat.tool_choice,
                                   image=chat.image))
    frames = _OpenAIFrames(chat)
    if plan.tool_call is not None:
        call = plan.tool_call
        call_id = _random_id("call_", 24)
        tokens = tokenize(call.arguments)
        if chat.directives.cut is not None:
            tokens = _cut_tokens(tokens, chat.directives.cut)
        completion = count_tokens(f"{call.name}\n{call.arguments}")
        if not chat.stream:
            chat.clock.wait(completion)
            message = {"role": "assistant", "content": None, "tool_calls": [{
                "id": call_id, "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }]}
            handler.send_reply(_Reply(200, frames.complete(message, "tool_calls", completion)))
            return
        lead = count_tokens(call.name + "\n")
        out = [_Frame(0, frames.chunk({"role": "assistant", "content": ""}, None)),
               _Frame(lead, frames.chunk({"tool_calls": [{
                   "index": 0, "id": call_id, "type": "function",
                   "function": {"name": call.name, "arguments": ""}}]}, None))]
        out.extend(
            _Frame(lead + k + 1, frames.chunk(
                {"tool_calls": [{"index": 0, "function": {"arguments": token}}]}, None))
            for k, token in enumerate(tokens)
        )
        handler.send_stream(frames.finish(out, "tool_calls", completion), chat.clock)
        return
    reply = _reply_tokens(plan.text, plan, chat)
    if not chat.stream:
        chat.clock.wait(len(reply.tokens))
        data = frames.complete({"role": "assistant", "content": reply.text}, reply.finish,
                               len(reply.tokens))
        if reply.cut:
            raise _CutBody(data, reply.text)
        handler.send_reply(_Reply(200, data))
        return
    out = [_Frame(0, frames.chunk({"role": "assistant", "content": ""}, None))]
    out.extend(_Frame(k + 1, frames.chunk({"content": token}, None))
               for k, token in enumerate(reply.tokens))
    if reply.cut:
        handler.send_stream(_StreamPlan(out, abort=True), chat.clock)
        return
    handler.send_stream(frames.finish(out, reply.finish, len(reply.tokens)), chat.clock)


class _OpenAIFrames:
    """Chunk and body builder for clean OpenAI shapes."""

    def __init__(self, chat: _Chat) -> None:
        self.chat = chat
        self.id = _random_id("chatcmpl-", 29)
        self.fingerprint = "fp_glmtuidemo"

    def _head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.chat.created,
                "model": self.chat.model, "system_fingerprint": self.fingerprint}

    def _usage(self, completion: int) -> dict[str, int]:
        prompt = self.chat.prompt_tokens
        return {"prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion}

    def chunk(self, delta: dict[str, Any], finish: str | None) -> bytes:
        body = self._head("chat.completion.chunk")
        body["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        if self.chat.include_usage:
            body["usage"] = None
        return b"data: " + _dumps(body) + b"\n\n"

    def finish(self, frames: list[_Frame], reason: str, completion: int) -> _StreamPlan:
        due = frames[-1].due
        frames.append(_Frame(due, self.chunk({}, reason)))
        if self.chat.include_usage:
            body = self._head("chat.completion.chunk")
            body["choices"] = []
            body["usage"] = self._usage(completion)
            frames.append(_Frame(due, b"data: " + _dumps(body) + b"\n\n"))
        frames.append(_Frame(due, b"data: [DONE]\n\n"))
        return _StreamPlan(frames)

    def complete(self, message: dict[str, Any], finish: str, completion: int) -> bytes:
        body = self._head("chat.completion")
        body["choices"] = [{"index": 0, "message": message, "logprobs": None,
                            "finish_reason": finish}]
        body["usage"] = self._usage(completion)
        return _dumps(body)


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
        except _Reply as reply:
            self.send_reply(reply)
        except _CutBody as cut:
            self._send_head(200, [("content-type", "application/json"),
                                  ("content-length", str(cut.length))])
            self._write(cut.partial)
            self._abort(200)
        except (_ClientGone, _Stopping):
            self.close_connection = True
        except Exception:
            traceback.print_exc(file=sys.stderr)
            if self._started:
                self._abort(500)
            else:
                self.send_reply(_plain_500())

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
                if sum(map(len, parts)) > MAX_BODY_BYTES:
                    self.close_connection = True
                    raise _detail(413, "Request body too large")
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise _detail(413, "Request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _route(self, path: str, raw: bytes) -> None:
        demo = self.server.demo
        glm4 = demo.flavor == "glm4"
        known = {"/v1/models": "GET", "/v1/chat/completions": "POST"}
        if glm4:
            known["/health"] = "GET"
        if path not in known:
            raise _detail(404, "Not Found")
        if self.command != known[path]:
            raise _detail(405, "Method Not Allowed")
        if path == "/health":
            self.send_reply(_Reply(200, b"", "text/plain; charset=utf-8"))
            return
        self._check_key()
        if path == "/v1/models":
            self.send_reply(_Reply(200, _dumps(demo.models())))
            return
        self._chat(raw)

    def _check_key(self) -> None:
        demo = self.server.demo
        if demo.api_key is None:
            return
        if self.headers.get("authorization", "") == f"Bearer {demo.api_key}":
            return
        if demo.flavor == "glm4":
            raise _detail(401, "Invalid API key")
        raise _openai_error(401, "Incorrect API key provided.", "invalid_api_key")

    def _chat(self, raw: bytes) -> None:
        demo = self.server.demo
        glm4 = demo.flavor == "glm4"
        try:
            body = json.loads(raw)
        except ValueError as error:
            if glm4:
                detail = _error("json_invalid", [0], "JSON decode error", {})
                detail["ctx"] = {"error": str(error)}
                raise _detail(422, [detail]) from None
            message = f"The request body is not valid JSON: {error}."
            raise _openai_error(400, message, None) from None
        vision = glm4 and isinstance(body, dict) and is_vision_model(str(body.get("model", "")))
        if glm4:
            errors = _glm4_checks(body, vision)
            if errors:
                raise _detail(422, errors)
            if not body["messages"] or body["messages"][-1].get("role") == "assistant":
                raise _detail(400, "Invalid request")
        else:
            _openai_checks(body)
        messages: list[dict[str, Any]] = body["messages"]
        directives, _ = parse_directives(last_user_text(messages))
        if directives.status is not None:
            raise _directed_error(demo.flavor, directives.status)
        rate = directives.rate if directives.rate is not None else demo.token_rate
        clock = _Clock(time.monotonic() + (directives.delay or 0.0), rate, demo.stopping)
        raw_tools = body.get("tools")
        tools = raw_tools if isinstance(raw_tools, list) else []
        chat = _Chat(
            body=body,
            model=body["model"],
            messages=messages,
            stream=bool(body.get("stream")),
            tools=[t for t in tools if isinstance(t, dict)],
            tool_choice=body.get("tool_choice"),
            directives=directives,
            clock=clock,
        )
        if vision:
            _glm4v(self, body, chat)
        elif glm4:
            _glm4_text(self, body, chat)
        else:
            _openai(self, body, chat)

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

    def send_reply(self, reply: _Reply) -> None:
        """A whole response with a Content-Length."""
        headers = [("content-length", str(len(reply.body)))]
        if reply.body or reply.content_type != "text/plain; charset=utf-8":
            headers.insert(0, ("content-type", reply.content_type))
        if self.close_connection:
            headers.append(("connection", "close"))
        self._send_head(reply.status, headers)
        self._write(reply.body)
        self._access(reply.status)

    def send_stream(self, plan: _StreamPlan, clock: _Clock) -> None:
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


def _directed_error(flavor: str, status: int) -> _Reply:
    message = f"The demo server was asked for HTTP {status} by [[demo:status={status}]]."
    if flavor == "openai":
        return _openai_error(status, message, f"demo_{status}")
    if status >= 500:
        try:
            text = HTTPStatus(status).phrase.encode()
        except ValueError:
            text = message.encode()
        return _Reply(status, text, "text/plain; charset=utf-8")
    if status == 422:
        return _detail(422, [_error("value_error", [], message, None)])
    return _detail(status, message)


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
