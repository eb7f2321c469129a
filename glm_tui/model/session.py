"""Sessions, messages and their parts: the plain data every layer shares.

Plain data and no rules about servers: turning a session into a request is
:mod:`glm_tui.chat.request`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from glm_tui.model.sampling import SamplingParams


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


@dataclass(frozen=True)
class ImageAttachment:
    """An image in a message, stored content-addressed by SHA-256 beside the database."""

    sha256: str
    mime: str
    width: int
    height: int
    name: str = ""
    bytes: int = 0  # size of the stored JPEG, for placeholders; 0 in rows from before it was kept


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
    # Of ``completion_tokens``, how many were reasoning: the server's figure, else counted.
    reasoning_tokens: int | None = None


@dataclass
class Timings:
    """When the request started (epoch seconds) and how long the first token and the reply took."""

    started_at: float | None = None
    first_token_s: float | None = None
    duration_s: float | None = None


@dataclass(frozen=True)
class MadeWith:
    """The model and sampling settings a reply was asked for with."""

    model: str
    sampling: SamplingParams

    def summary(self) -> str:
        """``T 0.4 · P 0.8 · max 256 · glm-4``: what a reply with alternatives shows."""
        settings = self.sampling.summary()
        return f"{settings} · {self.model}" if settings else self.model


@dataclass
class Alternative:
    """One answer of a reply that is not the one shown: the fields each answer has of its own
    (the rules, and the JSON form, are in glm_tui.model.alternatives)."""

    content: str = ""
    reasoning: str = ""
    reasoning_seconds: float | None = None
    status: MessageStatus = MessageStatus.COMPLETE
    error: str | None = None
    usage: Usage | None = None
    timings: Timings | None = None
    created_at: float = 0.0
    made_with: MadeWith | None = None

    @property
    def worth_keeping(self) -> bool:
        """An answer with text or reasoning (a reply that failed before any is not one)."""
        return bool(self.content or self.reasoning)


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
    # A thinking model's reasoning, kept apart from ``content`` (stored, exported, searchable;
    # shown in its own block; sent back only by the rules of glm_tui.chat.request).
    reasoning: str = ""
    reasoning_seconds: float | None = None  # from the first to the last piece of reasoning
    # A reply's other answers to the same question, and what it was made with: the message is
    # the chosen variant (glm_tui.model.alternatives holds the rules).
    made_with: MadeWith | None = None
    alternatives: list[Alternative] = field(default_factory=list)
    alternative_position: int = 0  # where the chosen variant stands among all of them

    @property
    def all_thinking(self) -> bool:
        """The reply was reasoning and nothing else: it ended before any answer or tool call
        (an unclosed ``<think>``, or a limit reached while thinking). Front ends say so."""
        return (self.role is Role.ASSISTANT and bool(self.reasoning) and not self.content
                and not self.tool_calls)

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
    # "Preserved thinking": send every earlier reply's reasoning back with the conversation
    # (costs context). Off: only the reasoning of the current turn's tool-calling replies goes
    # back (glm_tui.chat.request).
    preserve_thinking: bool = False

    def last_message(self, role: Role | None = None) -> Message | None:
        for message in reversed(self.messages):
            if role is None or message.role is role:
                return message
        return None
