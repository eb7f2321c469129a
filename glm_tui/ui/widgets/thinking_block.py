"""A thinking model's reasoning, drawn above its answer: live while it streams, then one line.

Thinking models (GLM-4.5 and later, DeepSeek-R1, Qwen3, ...) write their reasoning before the
answer, often for tens of seconds. :class:`ThinkingBlock` shows it as it arrives, then folds to one
line ("Thought for 12.4 s · ~830 tokens") when the answer starts, so the answer is what a person
reads; a click on that line or the conversation's key opens it again. ``thinking_display`` in
config.toml chooses the behaviour (:class:`~glm_tui.settings.config.ThinkingDisplay`): ``show``
keeps it open, ``collapse`` (the default) folds it when the answer starts, ``hide`` never draws the
text unless asked, only the one line.

The reasoning is drawn by the reply's own :class:`~glm_tui.ui.markdown.widget.StreamingMarkdown`
(models write their reasoning in Markdown too), so it streams at the same linear cost as an answer:
writes are only buffered, a timer draws them, finished blocks are frozen. Like an answer it is
data, never markup: the Markdown widget sanitises it and builds plain ``Content``, and the one
line is built from numbers and fixed words only.

The text is drawn only while the block is open: a stored reply that is never opened, or a folded
one, costs no widget tree at all, which keeps a long session quick to open and to scroll. Past
256 KB the rest of the reasoning is drawn plain, as an answer's is
(:class:`~glm_tui.ui.widgets.huge_text.PlainTail`): a server that sent 10 MB of reasoning in one
piece kept the open block formatting for half a minute, and key presses waited.
"""

from __future__ import annotations

import time
from enum import StrEnum

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widget import AwaitMount, Widget

from glm_tui.client.tokens import estimate_tokens
from glm_tui.model.session import Message, MessageStatus
from glm_tui.settings.config import ThinkingDisplay
from glm_tui.ui.markdown.textual_compat import GrowingWidget
from glm_tui.ui.markdown.widget import StreamingMarkdown
from glm_tui.ui.widgets.huge_text import PlainTail

CLOCK_INTERVAL_S = 1.0
"""How often the live line's clock moves while the model thinks (figures come with the stats)."""


class ThinkingEnd(StrEnum):
    """How the thinking ended, for the one line's words."""

    LIVE = "live"  # still thinking
    ANSWERED = "answered"  # the answer (or a tool call) followed
    ALL_THINKING = "all thinking"  # the reply ended without an answer: all of it was thinking
    STOPPED = "stopped"  # cancelled, cut or failed before the answer started


def figures_text(seconds: float | None, tokens: int | None, estimated: bool) -> str:
    """``12.4 s · ~830 tokens`` (an unknown part is left out; ``~``: glm-tui counted)."""
    parts: list[str] = []
    if seconds is not None:
        parts.append(f"{seconds:.1f} s")
    if tokens is not None:
        unit = "token" if tokens == 1 else "tokens"
        parts.append(f"{'~' if estimated else ''}{tokens:,} {unit}")
    return " · ".join(parts)


def summary_text(end: ThinkingEnd, seconds: float | None, tokens: int | None,
                 estimated: bool, *, stopped_as: str = "") -> str:
    """The block's one line without its arrow, e.g. ``Thought for 12.4 s · ~830 tokens``."""
    figures = figures_text(seconds, tokens, estimated)
    if end is ThinkingEnd.LIVE:
        return f"Thinking… {figures}".rstrip()
    if end is ThinkingEnd.STOPPED:
        why = f" ({stopped_as})" if stopped_as else ""
        text = f"Thinking stopped{why}"
        return f"{text} after {figures}" if figures else text
    text = f"Thought for {figures}" if seconds is not None else \
        f"Thought · {figures}" if figures else "Thought"
    if end is ThinkingEnd.ALL_THINKING:
        text += " · the reply was all thinking: no answer came"
    return text


class ThinkingSummary(Widget):
    """The block's one line; a click opens or folds the block.

    A plain widget of one fixed row rather than a ``Static``: its figures change five times a
    second while the model thinks, and ``Static.update`` asks for a layout pass of the whole
    screen each time (every widget of a long reply walked again); a fixed-size line needs only
    its own row repainted.
    """

    DEFAULT_CSS = """
    ThinkingSummary {
        height: 1;
        width: 1fr;
    }
    """

    def __init__(self) -> None:
        super().__init__(classes="thinking-summary")
        self._line = Content("")

    def show(self, line: Content) -> None:
        """Draw ``line`` (already literal: fixed words and numbers)."""
        if line != self._line:
            self._line = line
            self.refresh()

    def render(self) -> Content:
        return self._line

    def on_click(self, event: events.Click) -> None:
        event.stop()
        for owner in self.ancestors:
            if isinstance(owner, ThinkingBlock):
                owner.toggle()
                return


class ThinkingBlock(Vertical, GrowingWidget):
    """The reasoning of one reply: its one line, and the text below it when open."""

    DEFAULT_CSS = """
    ThinkingBlock {
        height: auto;
        width: 1fr;
        margin: 0 0 1 0;
    }
    ThinkingBlock.-expanded {
        margin: 0;  /* the reasoning's last paragraph already ends with a blank line */
    }
    ThinkingBlock > ThinkingSummary {
        color: $text-muted;
        text-style: italic;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    ThinkingBlock > ThinkingSummary:hover {
        background: $boost;
        color: $text;
    }
    ThinkingBlock.-live > ThinkingSummary {
        color: $text-accent;
    }
    ThinkingBlock.-all-thinking > ThinkingSummary,
    ThinkingBlock.-stopped > ThinkingSummary {
        color: $text-warning;
    }
    ThinkingBlock > StreamingMarkdown, ThinkingBlock > HugeNote, ThinkingBlock > HugeText {
        margin: 0;
        padding: 0 0 0 1;
        border-left: vkey $foreground 20%;
        color: $text-muted;
    }
    """

    def __init__(self, reasoning: str = "", *, display: ThinkingDisplay, live: bool,
                 seconds: float | None = None, tokens: int | None = None,
                 estimated: bool = True) -> None:
        super().__init__(classes="thinking")
        self.display_mode = display
        self._parts: list[str] = [reasoning] if reasoning else []
        self._body: StreamingMarkdown | None = None
        self._body_mounting: AwaitMount | None = None
        self._tail = PlainTail("reasoning")  # past the cap, the open body's rest is drawn plain
        self._end = ThinkingEnd.LIVE if live else ThinkingEnd.ANSWERED
        self._stopped_as = ""
        self._expanded = display is ThinkingDisplay.SHOW or (
            live and display is ThinkingDisplay.COLLAPSE)
        self._started_at = time.monotonic() if live else None
        self._seconds = seconds
        self._tokens = tokens
        self._estimated = estimated
        self._clock: Timer | None = None
        self._summary = ThinkingSummary()

    # -- what the owner calls ------------------------------------------------------------------

    def write(self, fragment: str) -> None:
        """Append streamed reasoning (the hot path: buffered, drawn by the body's timer)."""
        self._parts.append(fragment)
        if self._body is not None:
            formatted, new = self._tail.split(fragment)
            self._body.write(formatted)
            if new:
                self.mount_all(new)

    @property
    def text(self) -> str:
        """The reasoning received so far, as the model wrote it."""
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def expanded(self) -> bool:
        return self._expanded

    @property
    def live(self) -> bool:
        return self._end is ThinkingEnd.LIVE

    @property
    def end(self) -> ThinkingEnd:
        return self._end

    @property
    def body(self) -> StreamingMarkdown | None:
        """The widget drawing the text (None until the block is first opened)."""
        return self._body

    @property
    def has_figures(self) -> bool:
        """Whether a token count is known."""
        return self._tokens is not None

    @property
    def summary(self) -> str:
        """The one line as shown (without styles)."""
        return self._summary_content().plain

    def set_figures(self, tokens: int | None, estimated: bool,
                    seconds: float | None = None) -> None:
        """New token count (and, once known, the thinking time) for the one line."""
        self._tokens = tokens
        self._estimated = estimated
        if seconds is not None:
            self._seconds = seconds
        self._refresh_summary()

    def answer_started(self, seconds: float | None = None) -> None:
        """The answer (or a tool call) began: thinking is over; ``collapse`` folds the block.

        ``seconds``: how long it thought, as the turn measured it (else the block's own clock).
        """
        if self._end is not ThinkingEnd.LIVE:
            return
        self._end = ThinkingEnd.ANSWERED
        if seconds is not None:
            self._seconds = seconds
        self._stop_clock()
        if self.display_mode is ThinkingDisplay.COLLAPSE:
            self.set_expanded(False)
        self._refresh_summary()

    def ended(self, end: ThinkingEnd, *, seconds: float | None = None,
              stopped_as: str = "") -> None:
        """The reply ended. A reply with no answer keeps its reasoning as it was (open when it
        streamed open): it is all there is to read."""
        if self._end is ThinkingEnd.LIVE or end is not ThinkingEnd.ANSWERED:
            self._end = end
        self._stopped_as = stopped_as
        if seconds is not None:
            self._seconds = seconds
        elif self._seconds is None and self._started_at is not None:
            self._seconds = time.monotonic() - self._started_at
        self._stop_clock()
        self._refresh_summary()

    async def finish(self) -> None:
        """Draw everything written (the reply ended); safe to call more than once."""
        if self._body is not None:
            if self._body_mounting is not None:
                await self._body_mounting  # a flush needs the body mounted
            await self._body.finish()
            self._tail.finish()

    def prepend(self, text: str) -> None:
        """Put ``text`` in front of the reasoning (answer text that turned out to be reasoning:
        rare, so an open body is simply built again)."""
        if not text:
            return
        self._parts.insert(0, text)
        if self._body is not None:
            self._drop_body()
            if self._expanded and self.is_mounted:
                self._mount_body()

    def toggle(self) -> None:
        """Open or fold the block (the key and the click).

        Opened after the fact, the reasoning is read from its start: its line goes to the top
        of the view (while it streams, the view keeps following the newest text instead).
        """
        self.set_expanded(not self._expanded)
        if self._expanded and not self.live and self.is_mounted:
            self.call_after_refresh(self._summary.scroll_visible, top=True, animate=False)

    def set_expanded(self, expanded: bool) -> None:
        """Open (the text drawn from what arrived so far) or fold (the drawing dropped)."""
        self._expanded = expanded
        if expanded and self._body is None and self.is_mounted:
            self._mount_body()
        elif not expanded and self._body is not None:
            # Dropped, not hidden: a folded block then costs no widgets (100 KB of reasoning
            # is a few dozen) and no drawing of text nobody sees (a backlog still arriving);
            # opening again draws it anew, pieces out of view parsed only when scrolled to.
            self._drop_body()
        self.set_class(expanded, "-expanded")
        self._refresh_summary()

    # -- drawing -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self._summary

    def on_mount(self) -> None:
        self.set_class(self._expanded, "-expanded")
        if self._expanded:
            self._mount_body()
        if self.live:
            self._clock = self.set_interval(CLOCK_INTERVAL_S, self._refresh_summary)
        self._refresh_summary()

    def _mount_body(self) -> None:
        # Created with what arrived so far; later writes go to it as they come.
        formatted, plain = self._tail.split(self.text)
        self._body = StreamingMarkdown(markdown=formatted, classes="thinking-body")
        self._body_mounting = self.mount(self._body, *plain)
        if not self.live:
            self._tail.finish()

    def _drop_body(self) -> None:
        """Remove the drawing of the text (its plain part too); the text itself is kept."""
        if self._body is not None:
            self._body.remove()
        for widget in self._tail.clear():
            widget.remove()
        self._body = self._body_mounting = None

    def _stop_clock(self) -> None:
        if self._clock is not None:
            self._clock.stop()
            self._clock = None
        if self._seconds is None and self._started_at is not None:
            self._seconds = time.monotonic() - self._started_at

    def _summary_content(self) -> Content:
        seconds = self._seconds
        if self.live and self._started_at is not None:
            seconds = time.monotonic() - self._started_at
        text = summary_text(self._end, seconds, self._tokens, self._estimated,
                            stopped_as=self._stopped_as)
        arrow = "▾ " if self._expanded else "▸ "
        return Content(arrow + text)

    def _refresh_summary(self) -> None:
        for end in ThinkingEnd:
            self.set_class(self._end is end, f"-{end.value.replace(' ', '-')}")
        self._summary.show(self._summary_content())


def end_of(message: Message) -> tuple[ThinkingEnd, str]:
    """How a reply's thinking ended, and for one that stopped, its state's word."""
    if message.status is MessageStatus.STREAMING:
        return ThinkingEnd.LIVE, ""
    if message.content or message.tool_calls:
        return ThinkingEnd.ANSWERED, ""
    if message.status is MessageStatus.COMPLETE:
        return ThinkingEnd.ALL_THINKING, ""
    return ThinkingEnd.STOPPED, message.status.value


def reasoning_figures(message: Message, text: str = "") -> tuple[int | None, bool]:
    """The reasoning's token count and whether glm-tui counted it: the server's figure when it
    gave one, else an estimate of ``text`` (the message's reasoning by default)."""
    usage = message.usage
    if usage is not None and usage.reasoning_tokens is not None:
        return usage.reasoning_tokens, usage.estimated
    text = text or message.reasoning
    return (estimate_tokens(text), True) if text else (None, True)


def stored_block(message: Message, display: ThinkingDisplay) -> ThinkingBlock | None:
    """The block for a reply's reasoning as it stands (a stored reply, or one that came whole);
    None when it has none. Folded unless ``show``: what a person opened a session for is the
    answers."""
    if not message.reasoning:
        return None
    tokens, estimated = reasoning_figures(message)
    block = ThinkingBlock(message.reasoning, display=display, live=False,
                          seconds=message.reasoning_seconds, tokens=tokens, estimated=estimated)
    end, stopped_as = end_of(message)
    if end is not ThinkingEnd.LIVE:
        block.ended(end, seconds=message.reasoning_seconds, stopped_as=stopped_as)
    return block


def update_from(block: ThinkingBlock, message: Message) -> None:
    """Follow a streaming reply's state: fold when the answer starts, say how it ended."""
    end, stopped_as = end_of(message)
    if end is ThinkingEnd.LIVE:
        if message.content or message.tool_calls:
            block.answer_started(message.reasoning_seconds)
        return
    if block.live and end is ThinkingEnd.ANSWERED:
        block.answer_started(message.reasoning_seconds)
    if not block.has_figures:  # the turn's own figures, when it gave some, know more
        tokens, estimated = reasoning_figures(message, block.text)
        block.set_figures(tokens, estimated)
    block.ended(end, seconds=message.reasoning_seconds, stopped_as=stopped_as)
