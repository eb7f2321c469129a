"""The typed events a chat request turns into.

`ChatClient.chat()` yields these; the UI worker and the `ask` command consume them. They are plain
frozen dataclasses so that the UI can import them without importing ``openai``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from glm_tui.model.session import ToolCall


@dataclass(frozen=True)
class Connected:
    """The server accepted the request (response headers arrived); tokens may follow."""

    model: str | None = None


@dataclass(frozen=True)
class TextDelta:
    """A piece of reply text, in order."""

    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    """A piece of the model's reasoning ("thinking"), in order; never part of the answer text.

    It comes from ``delta.reasoning_content`` / ``delta.reasoning`` (or the same fields on a
    whole ``message``), or from inline ``<think>...</think>`` in the content, already split out.
    """

    text: str


@dataclass(frozen=True)
class AnswerWasReasoning:
    """All the answer text handed on so far was reasoning after all.

    A reply that starts mid-thought (the chat template opened ``<think>`` in the prompt) shows
    no opening tag: its text is answer until a ``</think>`` arrives, and only then is it known
    to have been reasoning. ``text`` is that text, now reasoning; a consumer takes it out of the
    answer it drew and puts it in front of the reasoning. Reasoning and answer after the tag
    follow as ordinary deltas.
    """

    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A fragment of a tool call; fragments are accumulated by ``index``.

    ``call`` is the accumulated state of that call so far, so a consumer can draw it without
    keeping its own buffers.
    """

    index: int
    arguments_fragment: str
    call: ToolCall


@dataclass(frozen=True)
class UsageReport:
    """Token counts. ``estimated`` is True when the server sent none and the client counted."""

    prompt_tokens: int | None
    completion_tokens: int | None
    estimated: bool = False
    # ``completion_tokens_details.reasoning_tokens`` when the server gave it (part of
    # ``completion_tokens``), else None: the tracker then counts the reasoning itself.
    reasoning_tokens: int | None = None


@dataclass(frozen=True)
class Finished:
    """The reply ended normally (with or without a finish_reason from the server).

    ``unreadable``: how many pieces of the stream were not JSON and were skipped; whatever text
    they held is missing from ``text``, so a consumer must say the reply may be incomplete.
    """

    reason: str | None
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    unreadable: int = 0
    reasoning: str = ""  # all the reasoning that arrived, apart from ``text``


class ErrorKind(StrEnum):
    UNREACHABLE = "unreachable"  # could not connect at all
    TIMEOUT = "timeout"  # connect or idle-read timeout
    HTTP = "http"  # the server answered with an error status
    INTERRUPTED = "interrupted"  # the stream broke after it started
    PROTOCOL = "protocol"  # the server sent something that cannot be understood


@dataclass(frozen=True)
class StreamError:
    """A failure, already worded for a person; ``text`` is whatever reply text arrived before it."""

    kind: ErrorKind
    message: str
    status: int | None = None
    server_detail: str | None = None
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    unreadable: int = 0  # as on Finished: pieces skipped before the failure
    retry_after_s: float | None = None  # a 429/503's Retry-After, in seconds from now
    reasoning: str = ""  # the reasoning that arrived before the failure


ChatEvent = (Connected | TextDelta | ReasoningDelta | AnswerWasReasoning | ToolCallDelta
             | UsageReport | Finished | StreamError)
