"""The demo server's wire shapes: the exact bytes each server flavour frames its answers in.

Why it exists: the point of the demo server is that its bytes match what real servers send
(PROTOCOL.md), so every byte-level decision lives here in one place, apart from HTTP handling
(``http_handler``), request checks (``checks``) and what to answer (``flavors``):

* JSON encoded the way FastAPI/pydantic write it, and the random ids real servers hand out;
* responses as values: a whole body (``WholeResponse``, possibly cut short) or paced frames
  (``StreamPlan``);
* error bodies: GLM-4's ``{"detail": ...}`` and bare ``text/plain`` 500s, OpenAI's
  ``{"error": ...}``;
* server-sent-event framing (``\\r\\n\\r\\n`` for GLM-4 and GLM-4V, ``\\n\\n`` for OpenAI) and one
  chunk builder per flavour, so a flavour's chunk shape is written exactly once.
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

GLM4_SEPARATOR = b"\r\n\r\n"
OPENAI_SEPARATOR = b"\n\n"
PLAIN_TEXT = "text/plain; charset=utf-8"
JSON = "application/json"


def dumps(value: Any) -> bytes:
    """Compact JSON with raw UTF-8, as pydantic's ``model_dump_json`` and FastAPI write it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def random_id(prefix: str, length: int) -> str:
    """An id like the servers' own (``chatcmpl-…``, ``call_…``, ``fp_…``): letters and digits."""
    return prefix + "".join(random.choices(string.ascii_letters + string.digits, k=length))


def completion_id() -> str:
    return random_id("chatcmpl-", 29)


def call_id() -> str:
    return random_id("call_", 24)


def sse(body: dict[str, Any] | str, separator: bytes) -> bytes:
    """One server-sent event: ``data: <json>`` (or ``data: [DONE]`` for a string) + separator."""
    data = body.encode("utf-8") if isinstance(body, str) else dumps(body)
    return b"data: " + data + separator


# ---------------------------------------------------------------------------------------------
# Responses as values


class WholeResponse(Exception):
    """A whole HTTP response with a Content-Length: an answer, or an error answered early.

    An exception so request checks can ``raise`` an error reply from any depth; successful
    answers are returned. ``due`` is how many generated tokens must be ready before it is sent
    (pacing); ``partial`` set means send only those leading bytes, then drop the connection
    (the ``cut`` directive on a non-streamed reply: the full length is still announced).
    """

    def __init__(
        self,
        status: int,
        body: bytes,
        content_type: str = JSON,
        *,
        due: int = 0,
        partial: bytes | None = None,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.content_type = content_type
        self.due = due
        self.partial = partial


def complete_reply(body: bytes, due: int, cut_text: str | None = None) -> WholeResponse:
    """A 200 JSON body sent after ``due`` tokens; with ``cut_text``, cut after that content.

    The cut falls right after ``cut_text`` inside the ``"content"`` string (closing quote
    excluded), so the client sees the text it was promised and then a dead connection.
    """
    if cut_text is None:
        return WholeResponse(200, body, due=due)
    marker = b'"content":'
    escaped = dumps(cut_text)[:-1]
    end = body.index(marker + escaped) + len(marker) + len(escaped)
    return WholeResponse(200, body, due=due, partial=body[:end])


@dataclass
class Frame:
    """Bytes of the response body that may be sent once ``due`` tokens have been generated."""

    due: int
    data: bytes


@dataclass
class StreamPlan:
    """A streamed response: when headers go out, the frames, and whether it ends abruptly."""

    frames: list[Frame]
    headers_due: int = 0
    content_type: str = "text/event-stream; charset=utf-8"
    abort: bool = False


# ---------------------------------------------------------------------------------------------
# Error bodies


def detail(status: int, value: Any) -> WholeResponse:
    """FastAPI's error form: ``{"detail": ...}`` (a string, or pydantic's list for 422)."""
    return WholeResponse(status, dumps({"detail": value}))


def plain_error(status: int = 500, text: str = "Internal Server Error") -> WholeResponse:
    """A bare ``text/plain`` error, what FastAPI answers when the GLM-4 server code raises."""
    return WholeResponse(status, text.encode("utf-8"), PLAIN_TEXT)


def field_error(kind: str, loc: list[Any], msg: str, value: Any) -> dict[str, Any]:
    """One pydantic validation error, as the GLM-4 servers list them in a 422 ``detail``."""
    return {"type": kind, "loc": ["body", *loc], "msg": msg, "input": value}


_OPENAI_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def openai_error(
    status: int, message: str, code: str | None, param: str | None = None
) -> WholeResponse:
    """OpenAI's error form: ``{"error": {"message", "type", "param", "code"}}``."""
    fallback = "server_error" if status >= 500 else "invalid_request_error"
    kind = _OPENAI_ERROR_TYPES.get(status, fallback)
    error = {"message": message, "type": kind, "param": param, "code": code}
    return WholeResponse(status, dumps({"error": error}))


def directed_error(flavor: str, status: int) -> WholeResponse:
    """The error a ``[[demo:status=NNN]]`` directive asks for, in the flavour's own form."""
    message = f"The demo server was asked for HTTP {status} by [[demo:status={status}]]."
    if flavor != "glm4":
        return openai_error(status, message, f"demo_{status}")
    if status >= 500:
        try:
            return plain_error(status, HTTPStatus(status).phrase)
        except ValueError:
            return plain_error(status, message)
    if status == 422:
        return detail(422, [field_error("value_error", [], message, None)])
    return detail(status, message)


# ---------------------------------------------------------------------------------------------
# Chunk builders, one per flavour


def glm4_tool_call(call_ref: str | None, name: str | None, arguments: str) -> dict[str, Any]:
    """A tool call as the GLM-4 server writes it, in replies and in stream deltas alike."""
    return {"index": 0, "id": call_ref, "function": {"name": name, "arguments": arguments},
            "type": "function"}


class Glm4Chunks:
    """The GLM-4 text server's chunks: one id, created and fingerprint per stream."""

    def __init__(self, model: str, created: int) -> None:
        self.model = model
        self.id = completion_id()
        self.created = created
        self.fingerprint = random_id("fp_", 9)

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
        return sse(body, GLM4_SEPARATOR)

    def text(self, content: str, finish: str | None) -> bytes:
        """A content chunk: the server repeats ``role: "assistant"`` in every one."""
        return self.chunk({"role": "assistant", "content": content, "function_call": None}, finish)

    def tool_delta(self, tool_call: dict[str, Any] | None, *, first: bool) -> dict[str, Any]:
        """A tool-call stream delta: ``role`` only on the first, ``tool_calls`` absent last."""
        delta: dict[str, Any] = {"role": "assistant" if first else None, "content": None,
                                 "function_call": None}
        if tool_call is not None:
            delta["tool_calls"] = [tool_call]
        return delta

    def complete(self, message: dict[str, Any], finish: str, prompt: int, completion: int) -> bytes:
        """A non-streamed reply body, usage keys in the server's order."""
        return dumps({
            "model": self.model,
            "id": self.id,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "created": self.created,
            "system_fingerprint": self.fingerprint,
            "usage": {"prompt_tokens": prompt, "total_tokens": prompt + completion,
                      "completion_tokens": completion},
        })

    done = sse("[DONE]", GLM4_SEPARATOR)


class Glm4vChunks:
    """The GLM-4V vision server's chunks: no id, no ``finish_reason``, no ``created``."""

    def __init__(self, model: str, created: int) -> None:
        self.model = model
        self.created = created

    def chunk(self, delta: dict[str, Any]) -> bytes:
        body = {"model": self.model, "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta}]}
        return sse(body, GLM4_SEPARATOR)

    def complete(self, content: str, prompt: int, completion: int) -> bytes:
        """A non-streamed reply; the server counts the generated text as the total, so
        ``completion_tokens`` goes negative."""
        return dumps({
            "model": self.model,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content,
                                                 "name": None}}],
            "created": self.created,
            "usage": {"prompt_tokens": prompt, "total_tokens": completion,
                      "completion_tokens": completion - prompt},
        })


class OpenAIChunks:
    """Clean OpenAI chunks and bodies; ``usage: null`` in chunks when usage was asked for."""

    def __init__(self, model: str, created: int, prompt_tokens: int, include_usage: bool,
                 *, reasoning_tokens: int | None = None) -> None:
        self.model = model
        self.created = created
        self.prompt_tokens = prompt_tokens
        self.include_usage = include_usage
        self.reasoning_tokens = reasoning_tokens  # reported in usage when set
        self.id = completion_id()
        self.fingerprint = "fp_glmtuidemo"

    def _head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created,
                "model": self.model, "system_fingerprint": self.fingerprint}

    def _usage(self, completion: int) -> dict[str, Any]:
        prompt = self.prompt_tokens
        usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                                 "total_tokens": prompt + completion}
        if self.reasoning_tokens is not None:
            usage["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        return usage

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        body = self._head("chat.completion.chunk")
        body["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        if self.include_usage:
            body["usage"] = None
        return sse(body, OPENAI_SEPARATOR)

    def opening(self) -> Frame:
        """The role-only first chunk, sent before any token is generated."""
        return Frame(0, self.chunk({"role": "assistant", "content": ""}))

    def finish(self, frames: list[Frame], reason: str, completion: int) -> StreamPlan:
        """Close a stream: the finish chunk, the usage chunk if asked for, then ``[DONE]``."""
        due = frames[-1].due
        frames.append(Frame(due, self.chunk({}, reason)))
        if self.include_usage:
            body = self._head("chat.completion.chunk")
            body["choices"] = []
            body["usage"] = self._usage(completion)
            frames.append(Frame(due, sse(body, OPENAI_SEPARATOR)))
        frames.append(Frame(due, sse("[DONE]", OPENAI_SEPARATOR)))
        return StreamPlan(frames)

    def complete(self, message: dict[str, Any], finish: str, completion: int) -> bytes:
        body = self._head("chat.completion")
        body["choices"] = [{"index": 0, "message": message, "logprobs": None,
                            "finish_reason": finish}]
        body["usage"] = self._usage(completion)
        return dumps(body)
