"""Sessions, messages and their parts, and turning a session into the request a server accepts.

Everything a server is picky about when *receiving* a conversation lives in
:func:`build_request` (PROTOCOL.md): the GLM-4 text server wants string content, the GLM-4V server
refuses a system message and accepts one JPEG data URL, and no server wants an assistant message
last.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from glm_tui.core.sampling import SamplingParams


class Role(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class MessageStatus(StrEnum):
    COMPLETE = "complete"
    STREAMING = "streaming"
    CANCELLED = "cancelled"  # the user pressed Esc; the text so far is kept
    FAILED = "failed"  # the request failed before or while streaming
    INTERRUPTED = "interrupted"  # the stream broke (or the app died) mid-reply


class ServerKind(StrEnum):
    """What a server profile talks to; decides request shaping and which settings are honoured."""

    GLM4 = "glm4"
    GLM4V = "glm4v"
    OPENAI = "openai"
    ZHIPU = "zhipu"  # the hosted GLM API (open.bigmodel.cn): rejects top_p = 1 and temperature = 0
    GENERIC = "generic"


@dataclass(frozen=True)
class ImageAttachment:
    """An image in a message, stored content-addressed by SHA-256 beside the database."""

    sha256: str
    mime: str
    width: int
    height: int
    name: str = ""


@dataclass(frozen=True)
class ToolCall:
    """One function call the model asked for; ``arguments`` is the raw text the model produced."""

    id: str
    name: str
    arguments: str
    type: str = "function"

    def to_openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    estimated: bool = False  # True when the server sent none and glm-tui counted


@dataclass
class Timings:
    """When the request started (epoch seconds) and how long the first token and the reply took."""

    started_at: float | None = None
    first_token_s: float | None = None
    duration_s: float | None = None


@dataclass
class Message:
    role: Role
    content: str = ""
    images: list[ImageAttachment] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    status: MessageStatus = MessageStatus.COMPLETE
    error: str | None = None
    usage: Usage | None = None
    timings: Timings | None = None
    id: int | None = None  # the store's row id once saved
    created_at: float = field(default_factory=time.time)

    @property
    def is_sendable(self) -> bool:
        """Whether this message belongs in the next request.

        An assistant turn with no text and no complete tool calls (one that failed before the
        first token, or was cut inside a call) carries nothing usable, and servers reject an
        empty assistant message.
        """
        if self.role is Role.ASSISTANT:
            return bool(self.content or self.sendable_tool_calls)
        return True

    @property
    def sendable_tool_calls(self) -> list[ToolCall]:
        """Tool calls fit to send back: only a complete turn's (a cut call's JSON is partial)."""
        return self.tool_calls if self.status is MessageStatus.COMPLETE else []


def new_session_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Session:
    id: str = field(default_factory=new_session_id)
    title: str = ""
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    server_profile: str = "default"
    model: str = "glm-4"
    system_prompt: str = ""
    sampling: SamplingParams = field(default_factory=SamplingParams)
    # OpenAI tool entries; each may carry a "glm_tui" block (enabled, handler) that is never sent.
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    stream: bool = True
    messages: list[Message] = field(default_factory=list)

    def last_message(self, role: Role | None = None) -> Message | None:
        for message in reversed(self.messages):
            if role is None or message.role is role:
                return message
        return None


def title_from_question(text: str, limit: int = 60) -> str:
    """A session title from the first question: its first line, whitespace folded, shortened."""
    line = " ".join(text.strip().split("\n", 1)[0].split())
    if not line:
        return "New chat"
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


ImageLoader = Callable[[ImageAttachment], str]
"""Returns a ``data:`` URL for an attachment (JPEG for GLM-4V); provided by the image store."""


def build_messages(
    session: Session,
    kind: ServerKind,
    image_loader: ImageLoader | None = None,
) -> list[dict[str, Any]]:
    """The OpenAI ``messages`` list for the next request, shaped for the server kind."""
    system = session.system_prompt.strip()
    out: list[dict[str, Any]] = []
    if system and kind is not ServerKind.GLM4V:
        out.append({"role": "system", "content": session.system_prompt})
    image_sent = False
    pending_system = system if kind is ServerKind.GLM4V else ""
    messages = session.messages
    for index, message in enumerate(messages):
        if not message.is_sendable or message.role is Role.SYSTEM:
            continue
        if (message.role is Role.USER and index + 1 < len(messages)
                and messages[index + 1].role is Role.ASSISTANT
                and not messages[index + 1].is_sendable):
            # A question whose reply failed before any text stays in the session (nothing
            # typed is lost; Ctrl+R asks it again) but is not context for the next question.
            continue
        entry: dict[str, Any] = {"role": message.role.value}
        if message.role is Role.ASSISTANT and message.sendable_tool_calls:
            entry["content"] = message.content or None
            entry["tool_calls"] = [call.to_openai() for call in message.sendable_tool_calls]
        elif message.role is Role.TOOL:
            entry = {
                "tool_call_id": message.tool_call_id,
                "role": "tool",
                "name": message.name,
                "content": message.content,
            }
        else:
            text = message.content
            if pending_system and message.role is Role.USER:
                # GLM-4V answers a system message with HTTP 500: fold it into the first question.
                text = f"{pending_system}\n\n{text}"
                pending_system = ""
            images = [] if kind is ServerKind.GLM4 else message.images
            if kind is ServerKind.GLM4V:
                # One image per request: the server uses the first and drops the rest.
                images = [] if image_sent else images[:1]
            if images and image_loader is not None:
                parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
                for image in images:
                    parts.append({"type": "image_url", "image_url": {"url": image_loader(image)}})
                image_sent = True
                entry["content"] = parts
            else:
                entry["content"] = text
        previous = out[-1] if out else None
        if (previous is not None and previous["role"] == "user" and entry["role"] == "user"
                and isinstance(previous["content"], str) and isinstance(entry["content"], str)):
            # Two questions in a row (the first never got a reply at all): servers whose chat
            # template needs user/assistant turns to alternate refuse that, so both go as one.
            previous["content"] = f"{previous['content']}\n\n{entry['content']}"
            continue
        out.append(entry)
    return out


def build_request(
    session: Session,
    kind: ServerKind,
    *,
    image_loader: ImageLoader | None = None,
    stream: bool | None = None,
) -> dict[str, Any]:
    """The full keyword arguments for ``chat.completions.create`` (and the JSON body sent).

    Unset sampling values are left out; ``max_tokens`` is sent as ``max_tokens`` (the GLM-4 server
    ignores ``max_completion_tokens``). Tools and ``tool_choice`` are sent only when tools exist.
    """
    request: dict[str, Any] = {
        "model": session.model,
        "messages": build_messages(session, kind, image_loader),
        "stream": session.stream if stream is None else stream,
    }
    request.update(session.sampling.to_request())
    from glm_tui.core.tools import request_tools  # tools.py imports this module's ToolCall

    tools = request_tools(session.tools)
    if tools:
        request["tools"] = tools
        if session.tool_choice is not None:
            request["tool_choice"] = session.tool_choice
    return request


def requestable(messages: Sequence[Message]) -> bool:
    """Whether a conversation ends in a turn the model can answer (not an assistant message)."""
    for message in reversed(messages):
        if not message.is_sendable:
            continue
        return message.role is not Role.ASSISTANT
    return False
