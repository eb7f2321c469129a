"""What a streaming reply does to its message, kept apart from drawing and from the store.

It imports no Textual: a :class:`~glm_tui.chat.turn.Turn` (the app's and ``glm-tui ask``'s)
feeds every :mod:`glm_tui.client.events` event into a :class:`ReplyTracker`, then the front end
draws. The tracker is
the one place that decides a reply's status (complete, cancelled, interrupted, failed), the error
text a person reads, the token counts and the timings shown in the status bar. Its rules are
therefore testable without a terminal and cannot drift between the screen and anything else that
streams.

Reply text is accumulated as a list of fragments and joined only when someone asks for it
(:meth:`ReplyTracker.sync`): a 100 KB reply arrives as tens of thousands of deltas, and appending
each one to a ``str`` attribute would copy the whole reply every time. Reasoning is kept the same
way, apart from the text, so a cancelled or cut reply keeps both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from glm_tui.client.events import (
    AnswerWasReasoning,
    ChatEvent,
    Connected,
    ErrorKind,
    Finished,
    ReasoningDelta,
    StreamError,
    TextDelta,
    ToolCallDelta,
    UsageReport,
)
from glm_tui.client.tokens import estimate_tokens
from glm_tui.model.session import Message, MessageStatus, Timings, ToolCall, Usage

Clock = Callable[[], float]


@dataclass(frozen=True)
class ReplyStats:
    """The figures the status bar shows for one reply."""

    completion_tokens: int | None
    prompt_tokens: int | None
    estimated: bool  # True when glm-tui counted instead of the server
    first_token_s: float | None
    tokens_per_s: float | None
    # Of the completion, the reasoning: the server's figure when it gave one, else counted
    # (pieces while streaming, an estimate of the text at the end); None when there was none.
    reasoning_tokens: int | None = None
    reasoning_estimated: bool = True


def stored_stats(message: Message) -> ReplyStats | None:
    """The status bar's figures for a reply that is no longer streaming (an answer switched to
    with Alt+arrows): what its usage and timings kept. ``None`` when nothing was kept.

    The speed is tokens over the time from the first token to the end, as while streaming; the
    reasoning count is marked as counted because a stored figure does not say who counted it.
    """
    usage, timings = message.usage, message.timings
    if usage is None and timings is None:
        return None
    tokens = None if usage is None else usage.completion_tokens
    first = None if timings is None else timings.first_token_s
    duration = None if timings is None else timings.duration_s
    rate = None
    if tokens and tokens > 1 and first is not None and duration is not None and duration > first:
        rate = (tokens - 1) / (duration - first)
    return ReplyStats(
        completion_tokens=tokens,
        prompt_tokens=None if usage is None else usage.prompt_tokens,
        estimated=True if usage is None else usage.estimated,
        first_token_s=first,
        tokens_per_s=rate,
        reasoning_tokens=None if usage is None else usage.reasoning_tokens,
    )


def skipped_text(count: int) -> str:
    """The note on a reply some of whose pieces could not be read (never a silent loss)."""
    pieces = "1 piece" if count == 1 else f"{count:,} pieces"
    return (f"{pieces} of the reply could not be read (not JSON) and were skipped: the text "
            "may be incomplete.")


def error_text(event: StreamError) -> str:
    """The error text stored on the message and shown in its error block.

    Not to be confused with :func:`glm_tui.client.errors.describe_error`, which turns an
    exception into a :class:`StreamError`; this turns that event into the one string a person
    reads under the reply. The client already words ``message`` for a person; the server's own
    body follows when the message does not quote it yet, so a 422 validation list or a 500 text
    body is never hidden.
    """
    text = event.message.strip() or f"The request failed ({event.kind.value})."
    detail = (event.server_detail or "").strip()
    if detail and detail not in text:
        text = f"{text}\nServer said: {detail}"
    return text


class ReplyTracker:
    """Applies one reply's events to its assistant :class:`Message`."""

    def __init__(self, message: Message, *, clock: Clock = time.monotonic,
                 wall: Clock = time.time) -> None:
        self.message = message
        self._clock = clock
        self._started = clock()
        self._parts: list[str] = [message.content] if message.content else []
        self._reasoning: list[str] = [message.reasoning] if message.reasoning else []
        self._tool_calls: dict[int, ToolCall] = {}
        self._deltas = 0
        self._reasoning_deltas = 0
        self._reasoning_counted: int | None = None  # an estimate of the whole, once it ended
        self._server_reasoning: int | None = None  # the server's own reasoning figure
        self._first_token_at: float | None = None
        self._last_token_at: float | None = None
        self._first_reasoning_at: float | None = None
        self._last_reasoning_at: float | None = None
        self.connected = False
        self.error: StreamError | None = None
        self.finish_reason: str | None = None  # the server's, when it gave one
        message.status = MessageStatus.STREAMING
        message.error = None
        message.timings = Timings(started_at=wall())

    # -- events -----------------------------------------------------------------------------

    def apply(self, event: ChatEvent) -> None:
        """Update the message from one event (text is joined lazily, see :meth:`sync`)."""
        if isinstance(event, Connected):
            self.connected = True
        elif isinstance(event, TextDelta):
            if event.text:
                self._token_arrived()
                self._parts.append(event.text)
        elif isinstance(event, ReasoningDelta):
            if event.text:
                self._reasoning_arrived()
                self._reasoning.append(event.text)
        elif isinstance(event, AnswerWasReasoning):
            self._answer_was_reasoning()
        elif isinstance(event, ToolCallDelta):
            self._token_arrived()
            self._tool_calls[event.index] = event.call
            self.message.tool_calls = [self._tool_calls[i] for i in sorted(self._tool_calls)]
        elif isinstance(event, UsageReport):
            self.message.usage = Usage(
                prompt_tokens=event.prompt_tokens,
                completion_tokens=event.completion_tokens,
                estimated=event.estimated,
                reasoning_tokens=event.reasoning_tokens,
            )
            self._server_reasoning = None if event.estimated else event.reasoning_tokens
        elif isinstance(event, Finished):
            self.finish_reason = event.reason
            self._adopt_final_reasoning(event.reasoning)
            self._adopt_final_text(event.text)
            if event.tool_calls:
                self.message.tool_calls = list(event.tool_calls)
            if event.unreadable:
                self.message.error = skipped_text(event.unreadable)
            self._close(MessageStatus.COMPLETE)
        elif isinstance(event, StreamError):
            self.error = event
            self._adopt_final_reasoning(event.reasoning)
            self._adopt_final_text(event.text)
            if event.tool_calls:
                self.message.tool_calls = list(event.tool_calls)
            self.message.error = error_text(event)
            if event.unreadable:
                self.message.error += "\n" + skipped_text(event.unreadable)
            self._close(self._status_for(event))

    def cancel(self) -> None:
        """The user pressed Esc: keep the text so far and mark it cancelled."""
        if self.message.status is MessageStatus.STREAMING:
            self._close(MessageStatus.CANCELLED)

    def end_of_stream(self) -> None:
        """The event stream ended; a reply that never got a final event is interrupted."""
        if self.message.status is MessageStatus.STREAMING:
            self.message.error = "The stream ended without a final event from the client."
            self._close(MessageStatus.INTERRUPTED)

    def sync(self) -> Message:
        """Join the fragments into ``message.content`` and ``message.reasoning`` (cheap to call
        a few times a second)."""
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        self.message.content = self._parts[0] if self._parts else ""
        if len(self._reasoning) > 1:
            self._reasoning = ["".join(self._reasoning)]
        self.message.reasoning = self._reasoning[0] if self._reasoning else ""
        first, last = self._first_reasoning_at, self._last_reasoning_at
        if first is not None and last is not None and last > first:
            self.message.reasoning_seconds = last - first
        return self.message

    # -- figures ----------------------------------------------------------------------------

    @property
    def has_tokens(self) -> bool:
        return self._first_token_at is not None

    @property
    def text_length(self) -> int:
        return sum(len(p) for p in self._parts)

    @property
    def reasoning_length(self) -> int:
        return sum(len(p) for p in self._reasoning)

    def stats(self) -> ReplyStats:
        usage = self.message.usage
        if usage is not None and usage.completion_tokens is not None:
            tokens: int | None = usage.completion_tokens
            estimated = usage.estimated
        else:
            tokens = self._deltas if self._deltas else None
            estimated = True
        first = (None if self._first_token_at is None
                 else self._first_token_at - self._started)
        rate = None
        if (tokens and self._first_token_at is not None and self._last_token_at is not None
                and tokens > 1):
            span = self._last_token_at - self._first_token_at
            if span > 0:
                rate = (tokens - 1) / span
        reasoning, reasoning_estimated = self._reasoning_tokens()
        return ReplyStats(
            completion_tokens=tokens,
            prompt_tokens=None if usage is None else usage.prompt_tokens,
            estimated=estimated,
            first_token_s=first,
            tokens_per_s=rate,
            reasoning_tokens=reasoning,
            reasoning_estimated=reasoning_estimated,
        )

    def _reasoning_tokens(self) -> tuple[int | None, bool]:
        """The reasoning figure and whether it is counted by glm-tui."""
        if self._server_reasoning is not None:
            return self._server_reasoning, False
        if self._reasoning_counted is not None:
            return self._reasoning_counted, True
        if self._reasoning_deltas:
            return self._reasoning_deltas, True
        return None, True

    # -- internals --------------------------------------------------------------------------

    def _token_arrived(self) -> None:
        now = self._clock()
        self._deltas += 1
        if self._first_token_at is None:
            self._first_token_at = now
        self._last_token_at = now

    def _reasoning_arrived(self) -> None:
        self._token_arrived()
        now = self._last_token_at
        self._reasoning_deltas += 1
        if self._first_reasoning_at is None:
            self._first_reasoning_at = now
        self._last_reasoning_at = now

    def _answer_was_reasoning(self) -> None:
        """The answer so far was reasoning (a reply that began mid-thought): move it over."""
        moved = "".join(self._parts)
        self._parts = []
        if moved:
            self._reasoning.insert(0, moved)
            self._reasoning_deltas = self._deltas
            self._first_reasoning_at = self._first_token_at
            self._last_reasoning_at = self._last_token_at

    def _adopt_final_reasoning(self, final: str) -> None:
        """As :meth:`_adopt_final_text`, for the reasoning (a non-streamed reply has it whole)."""
        if final and len(final) >= self.reasoning_length:
            if self._first_reasoning_at is None:
                self._reasoning_arrived()
            self._reasoning = [final]

    def _adopt_final_text(self, final: str) -> None:
        """Trust the client's full text when it holds more than the deltas (one buffered chunk)."""
        if final and len(final) >= self.text_length:
            if self._first_token_at is None:
                self._token_arrived()
            self._parts = [final]

    def _status_for(self, event: StreamError) -> MessageStatus:
        if event.kind is ErrorKind.INTERRUPTED:
            return MessageStatus.INTERRUPTED
        if event.kind is ErrorKind.TIMEOUT and self.text_length:
            return MessageStatus.INTERRUPTED
        return MessageStatus.FAILED

    def _close(self, status: MessageStatus) -> None:
        self.sync()
        self.message.status = status
        timings = self.message.timings or Timings()
        if self._first_token_at is not None:
            timings.first_token_s = self._first_token_at - self._started
        timings.duration_s = self._clock() - self._started
        self.message.timings = timings
        if self._reasoning and self._server_reasoning is None:
            # Counted once at the end (pieces are not tokens; the estimate samples 1 MB fast).
            self._reasoning_counted = estimate_tokens(self.message.reasoning)
        stats = self.stats()
        if self.message.usage is None and stats.completion_tokens is not None:
            self.message.usage = Usage(completion_tokens=stats.completion_tokens, estimated=True)
        if self.message.usage is not None and stats.reasoning_tokens is not None:
            self.message.usage.reasoning_tokens = stats.reasoning_tokens
