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
each one to a ``str`` attribute would copy the whole reply every time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from glm_tui.client.events import (
    ChatEvent,
    Connected,
    ErrorKind,
    Finished,
    StreamError,
    TextDelta,
    ToolCallDelta,
    UsageReport,
)
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
        self._tool_calls: dict[int, ToolCall] = {}
        self._deltas = 0
        self._first_token_at: float | None = None
        self._last_token_at: float | None = None
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
        elif isinstance(event, ToolCallDelta):
            self._token_arrived()
            self._tool_calls[event.index] = event.call
            self.message.tool_calls = [self._tool_calls[i] for i in sorted(self._tool_calls)]
        elif isinstance(event, UsageReport):
            self.message.usage = Usage(
                prompt_tokens=event.prompt_tokens,
                completion_tokens=event.completion_tokens,
                estimated=event.estimated,
            )
        elif isinstance(event, Finished):
            self.finish_reason = event.reason
            self._adopt_final_text(event.text)
            if event.tool_calls:
                self.message.tool_calls = list(event.tool_calls)
            if event.unreadable:
                self.message.error = skipped_text(event.unreadable)
            self._close(MessageStatus.COMPLETE)
        elif isinstance(event, StreamError):
            self.error = event
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
        """Join the fragments into ``message.content`` (cheap to call a few times a second)."""
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        self.message.content = self._parts[0] if self._parts else ""
        return self.message

    # -- figures ----------------------------------------------------------------------------

    @property
    def has_tokens(self) -> bool:
        return self._first_token_at is not None

    @property
    def text_length(self) -> int:
        return sum(len(p) for p in self._parts)

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
        return ReplyStats(
            completion_tokens=tokens,
            prompt_tokens=None if usage is None else usage.prompt_tokens,
            estimated=estimated,
            first_token_s=first,
            tokens_per_s=rate,
        )

    # -- internals --------------------------------------------------------------------------

    def _token_arrived(self) -> None:
        now = self._clock()
        self._deltas += 1
        if self._first_token_at is None:
            self._first_token_at = now
        self._last_token_at = now

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
        stats = self.stats()
        if self.message.usage is None and stats.completion_tokens is not None:
            self.message.usage = Usage(completion_tokens=stats.completion_tokens, estimated=True)
