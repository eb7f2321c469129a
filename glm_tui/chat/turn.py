"""One chat turn, the same for the app and ``glm-tui ask``: what is sent, and what arrives.

:func:`prepare_turn` decides the request: its body for this server kind, whether it streams (and
why not, when the session asked for streaming), and the notes a person is told. :class:`Turn`
runs it: client events go into a :class:`~glm_tui.chat.reply_tracker.ReplyTracker` (status,
error text, figures), and the front end is told what to draw through a :class:`TurnView`: every
text delta, a state change, the live figures every :data:`STATS_INTERVAL_S`, "save now" at the
autosave cadence, the connection state, and once at the end the :class:`TurnOutcome`. A reply
that is GLM-4's raw ``name\\n{json}`` text for an enabled tool is adopted as the call it is here,
so both front ends see the same reply.

The loop is the streaming hot path (a 100 KB reply at 2,000 tokens/s is about 25,000 deltas): per
text delta it does what the conversation screen did before it moved here, one tracker call, one
call of the view's ``text`` (a plain attribute, so a widget's own ``write`` can sit there with no
wrapper) and one clock read, and no allocation or ``await`` of its own. It is a method the caller
awaits rather than an async generator, because Textual's ``@work`` cannot take an async
generator and because a generator would add an awaitable per delta.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from glm_tui.chat.reply_tracker import Clock, ReplyStats, ReplyTracker
from glm_tui.chat.request import (
    ImageLoader,
    ImageUnavailableError,
    ShapedMessages,
    build_request,
    shape_messages,
)
from glm_tui.chat.tool_turns import recognise_calls, stream_for_request
from glm_tui.client.errors import says_images_unsupported
from glm_tui.client.events import (
    AnswerWasReasoning,
    ChatEvent,
    ErrorKind,
    ReasoningDelta,
    StreamError,
    TextDelta,
    ToolCallDelta,
)
from glm_tui.model.server_kind import (
    SendWarning,
    ServerKind,
    describe_kind,
    send_warnings,
    takes_images,
    thinking_note,
)
from glm_tui.model.session import ImageAttachment, Message, MessageStatus, Role, Session

STATS_INTERVAL_S = 0.2
"""How often the live figures (and tool-call fragments) are handed to the view while streaming."""


@dataclass(frozen=True)
class PreparedTurn:
    """What a turn sends, decided once for both front ends."""

    session: Session
    kind: ServerKind
    request: dict[str, Any]
    stream: bool
    not_streamed_because: str | None = None
    warnings: tuple[SendWarning, ...] = ()
    refusal: str | None = None
    """Set when the turn must not be sent (pictures this server cannot read): the app shows it
    and keeps the question, ``ask`` prints it and exits with status 2. Nothing is sent."""
    image_notes: tuple[str, ...] = ()
    sent_images: tuple[ImageAttachment, ...] = ()
    thinking_not_sent: str | None = None  # the switch is set but this kind's field is unknown

    @property
    def notes(self) -> tuple[str, ...]:
        """What the person is told before the reply (the app notifies, ``ask`` uses stderr)."""
        why = (self.not_streamed_because,) if self.not_streamed_because else ()
        thinking = (self.thinking_not_sent,) if self.thinking_not_sent else ()
        return (*why, *self.image_notes, *thinking)


def prepare_turn(session: Session, kind: ServerKind, *,
                 image_loader: ImageLoader | None = None,
                 images_refused: bool = False) -> PreparedTurn:
    """The request for the next reply of ``session`` on a server of ``kind``.

    Streaming follows the session, except where the server is known to fail with it (the GLM-4
    server answers an All Tools entry with HTTP 500 when streaming): then the reply comes whole
    and :attr:`PreparedTurn.notes` says why. ``warnings`` name values this server refuses; the
    app asks before sending, ``ask`` prints them and sends.

    Pictures: ``image_loader`` reads them back as ``data:`` URLs. ``images_refused`` is what the
    front end remembers from an earlier :attr:`TurnOutcome.images_refused` for this profile and
    model. A newest question with pictures that this kind (or this remembered server) cannot
    read, or a picture that cannot be read back, sets :attr:`PreparedTurn.refusal`; pictures
    left out of the request otherwise (GLM-4V reads only the first, a text server none) are
    named in the notes.
    """
    stream, why = stream_for_request(session, kind)
    refusal = _image_refusal(session, kind, images_refused, image_loader)
    send_images = refusal is None and not images_refused
    try:
        shaped = shape_messages(session, kind, image_loader, send_images=send_images)
    except ImageUnavailableError as exc:
        refusal = f"{exc}. Nothing was sent."
        shaped = shape_messages(session, kind, image_loader, send_images=False)
    request = build_request(session, kind, stream=stream, messages=shaped.messages)
    notes = () if refusal else _image_notes(shaped, kind, images_refused)
    return PreparedTurn(session, kind, request, stream, why,
                        tuple(send_warnings(kind, session.sampling)), refusal, notes,
                        shaped.sent_images, thinking_note(kind, session.sampling.thinking))


def _newest_question(session: Session) -> Message | None:
    for message in reversed(session.messages):
        if message.role is Role.USER:
            return message
    return None


def _image_refusal(session: Session, kind: ServerKind, images_refused: bool,
                   image_loader: ImageLoader | None) -> str | None:
    """Why the newest question's pictures cannot be sent, in words; ``None`` when they can."""
    question = _newest_question(session)
    images = question.images if question is not None else []
    if not images:
        return None
    what = _names(images)
    if not takes_images(kind):
        return (f"The {describe_kind(kind)} cannot read images ({what}): remove "
                f"{_it(images)} or choose a vision model such as glm-4v. Nothing was sent.")
    if images_refused:
        return (f"The server said that {session.model} cannot read images ({what}): remove "
                f"{_it(images)} or choose a vision model. Nothing was sent.")
    if image_loader is None:
        return f"glm-tui cannot read the attached images back ({what}). Nothing was sent."
    return None


def _image_notes(shaped: ShapedMessages, kind: ServerKind,
                 images_refused: bool) -> tuple[str, ...]:
    notes: list[str] = []
    left_out = shaped.left_out_images
    if kind is ServerKind.GLM4V and left_out and shaped.sent_images:
        first = shaped.sent_images[0].name or "the first one"
        notes.append(f"Only the first image of the conversation, {first}, is sent: the GLM-4V "
                     "server reads one image per request.")
    elif left_out:
        reason = ("the server said this model cannot read images" if images_refused
                  else f"the {describe_kind(kind)} cannot read images")
        count = len(left_out)
        notes.append(f"{count} earlier image{'s are' if count > 1 else ' is'} not sent: "
                     f"{reason}.")
    if shaped.missing_images:
        count = len(shaped.missing_images)
        notes.append(f"{count} earlier image{'s are' if count > 1 else ' is'} missing from the "
                     f"image folder and not sent: {_names(list(shaped.missing_images))}.")
    if shaped.system_folded:
        notes.append("The system prompt is sent inside the first question: the GLM-4V server "
                     "refuses a system message.")
    return tuple(notes)


def _names(images: list[ImageAttachment]) -> str:
    return ", ".join(image.name or "an image" for image in images)


def _it(images: list[ImageAttachment]) -> str:
    return "them" if len(images) > 1 else "it"


class Link(StrEnum):
    """The connection state a turn reports (the status bar's words for it)."""

    WAITING = "waiting"  # the request is out, no reply text yet
    STREAMING = "streaming"
    READY = "ready"
    UNREACHABLE = "unreachable"  # nothing answered at the base URL
    TIMED_OUT = "timed out"  # the connection or the answer took longer than the timeout
    ERROR = "error"  # the server answered with an error, or glm-tui failed


@dataclass(frozen=True)
class TurnOutcome:
    """How a turn ended: the final reply (stored as is) and what the front end shows."""

    reply: Message
    error: StreamError | None
    link: Link
    link_detail: str
    written: int  # characters of reply text handed to ``TurnView.text``
    adopted_note: str | None = None  # set when a raw ``name\n{json}`` reply became a call
    internal_error: bool = False
    stats: ReplyStats | None = field(default=None, compare=False)
    images_refused: bool = False
    """The request carried pictures and the server answered that this model cannot read them:
    the front end remembers it for the profile and model and passes ``images_refused`` to
    :func:`prepare_turn` from then on."""

    @property
    def all_thinking(self) -> bool:
        """The reply was reasoning only: it ended before any answer (see :data:`ALL_THINKING`)."""
        return self.reply.all_thinking

    @property
    def tail(self) -> str:
        """Reply text the view has not been given (a server that buffers sends it at the end)."""
        content = self.reply.content
        return content[self.written:] if len(content) > self.written else ""


ALL_THINKING = ("The reply was all thinking: it ended before the model gave an answer "
                "(the thinking is kept).")
"""What a front end says under a reply that is reasoning only (:attr:`TurnOutcome.all_thinking`,
:attr:`~glm_tui.model.session.Message.all_thinking`)."""


class TurnView(Protocol):
    """What a front end draws while a turn runs; every call is synchronous and cheap."""

    text: Callable[[str], None]
    """Called with every non-empty text delta, in order (the hot path: keep it a bare call)."""

    reasoning: Callable[[str], None]
    """Called with every non-empty reasoning delta, in order (the hot path, as ``text``)."""

    def answer_was_reasoning(self, text: str) -> None:
        """All the text handed to ``text`` so far was reasoning (a reply that began mid-thought
        and only then sent ``</think>``): take it out of the answer and put ``text`` in front
        of the reasoning. Rare; later deltas go to ``text`` and ``reasoning`` as usual."""

    def state(self) -> None:
        """The reply's state changed (first text, tool calls, usage, end): redraw its badge."""

    def link(self, state: Link, detail: str) -> None:
        """The connection state changed (waiting, then streaming at the first text)."""

    def stats(self, stats: ReplyStats) -> None:
        """The live figures, every :data:`STATS_INTERVAL_S` while events arrive."""

    def save(self) -> None:
        """Autosave now: the tracker has joined the reply's text into the message."""

    def finished(self, outcome: TurnOutcome) -> None:
        """The turn ended (also when cancelled or failed): store it, then draw the end."""


class ChatSource(Protocol):
    """Anything that turns a request into client events (the ChatClient, a test double)."""

    def chat(self, request: dict[str, Any]) -> AsyncGenerator[ChatEvent, None]: ...


class Turn:
    """One reply being received: events in, view updates out, one outcome at the end."""

    def __init__(self, prepared: PreparedTurn, reply: Message, *, save_interval: float,
                 base_url: str = "", clock: Clock = time.monotonic) -> None:
        self.prepared = prepared
        self.tracker = ReplyTracker(reply, clock=clock)
        self.outcome: TurnOutcome | None = None
        self._save_interval = save_interval
        self._base_url = base_url
        self._clock = clock
        self._internal_error = False

    @property
    def reply(self) -> Message:
        return self.tracker.message

    async def run(self, connect: Callable[[], Awaitable[ChatSource]],
                  view: TurnView) -> TurnOutcome:
        """Send the request and feed the view until the reply ends; always leaves an outcome.

        ``connect`` gives the client (the app creates its client lazily). Cancelling marks the
        reply cancelled (its text kept); an exception of glm-tui's own marks it failed with the
        reason; both are re-raised after ``view.finished`` so the caller's worker ends as usual.
        """
        if self.prepared.refusal:
            # The front ends check first; this keeps a refused turn from ever reaching a server.
            raise ValueError(f"a refused turn cannot be sent: {self.prepared.refusal}")
        tracker = self.tracker
        apply = tracker.apply
        write = view.text
        think = view.reasoning
        clock = self._clock
        save_every = self._save_interval
        written = 0
        started = False  # the first reply text or reasoning arrived
        calls_changed = False
        saved_at = stats_at = clock()
        view.link(Link.WAITING, "")
        try:
            client = await connect()
            # aclosing: leaving early (Esc, a broken pipe, Ctrl+C) closes the HTTP stream at once.
            async with aclosing(client.chat(self.prepared.request)) as events:
                async for event in events:
                    apply(event)
                    if isinstance(event, TextDelta):
                        if event.text:
                            write(event.text)
                            if not written:
                                tracker.sync()
                                if not started:
                                    started = True
                                    view.link(Link.STREAMING, "")
                                view.state()  # "waiting…" becomes "streaming…"
                            written += len(event.text)
                    elif isinstance(event, ReasoningDelta):
                        if event.text:
                            think(event.text)
                            if not started:
                                started = True
                                tracker.sync()
                                view.link(Link.STREAMING, "")
                                view.state()
                    elif isinstance(event, AnswerWasReasoning):
                        written = 0
                        tracker.sync()
                        view.answer_was_reasoning(event.text)
                        view.state()
                    elif isinstance(event, ToolCallDelta):
                        calls_changed = True  # drawn with the figures below, not per fragment
                    else:
                        view.state()
                    now = clock()
                    if now - stats_at >= STATS_INTERVAL_S:
                        stats_at = now
                        view.stats(tracker.stats())
                        if calls_changed:
                            calls_changed = False
                            view.state()
                    if now - saved_at >= save_every:
                        saved_at = now
                        tracker.sync()
                        view.save()
            tracker.end_of_stream()
        except asyncio.CancelledError:
            tracker.cancel()
            raise
        except Exception as exc:
            # A bug of glm-tui's, not the server's: say so on the message, then re-raise so the
            # caller reports it (the app's worker keeps the app and the conversation alive).
            tracker.end_of_stream()
            reply = tracker.message
            reply.status = MessageStatus.FAILED
            reply.error = f"glm-tui failed while reading the reply: {exc!r}"
            self._internal_error = True
            raise
        finally:
            self.outcome = self._finish(written)
            view.finished(self.outcome)
        return self.outcome

    def _finish(self, written: int) -> TurnOutcome:
        reply = self.tracker.sync()
        note = adopt_raw_tool_call(reply, self.prepared.session)
        error = self.tracker.error
        if self._internal_error:
            link, detail = Link.ERROR, "glm-tui error"
        elif error is None:
            link, detail = Link.READY, ""
        elif error.kind is ErrorKind.UNREACHABLE and not self.tracker.connected:
            link, detail = Link.UNREACHABLE, self._base_url
        elif error.kind is ErrorKind.TIMEOUT:
            # A server that accepted the connection and then said nothing is not unreachable.
            link, detail = Link.TIMED_OUT, self._base_url
        else:
            link, detail = Link.ERROR, f"HTTP {error.status}" if error.status else error.kind.value
        refused = (error is not None and bool(self.prepared.sent_images)
                   and says_images_unsupported(error))
        return TurnOutcome(reply, error, link, detail, written, note, self._internal_error,
                           self.tracker.stats(), refused)


def adopt_raw_tool_call(reply: Message, session: Session) -> str | None:
    """GLM-4's raw ``name\\n{json}`` text for an enabled tool becomes the call it is.

    Returns the note for the person when it did (the text stays, as the model wrote it).
    """
    if reply.status is not MessageStatus.COMPLETE or reply.tool_calls or not reply.content:
        return None
    calls = recognise_calls(reply.content, session)
    if not calls:
        return None
    reply.tool_calls = calls
    return (f"The server sent the model's raw call to {calls[0].name} as text; it is offered "
            "as a tool call.")
