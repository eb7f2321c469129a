"""One assistant reply rendered as Markdown while it streams, in linear time.

The known trap: Textual's ``Markdown.append`` (what ``Markdown.get_stream()``
drives) re-parses the whole last top-level block and rebuilds its widgets on
every append, so a long code block is re-highlighted from the top and a
300-item list is unmounted and remounted (1,200 widgets) each time: O(n^2).
Even where ``get_stream`` is linear (a short last block) the frozen part is
still one widget per block and four per list item, and every layout pass walks
them all; at 100 KB a one-shot ``Markdown.update`` already costs 2.7 s CPU and
each reflow 19 ms. So this widget goes beyond ``get_stream`` in two places:

1. Structure: ``BlockScanner`` (scanner.py) reads each new line once
   and cuts the reply at safe top-level boundaries. Finished pieces are mounted
   once as frozen widgets and never touched again. Long fenced code becomes
   ``CodeChunk`` widgets of 40 lines (first/last chunk carry the block's
   padding, so they read as one block); long lists are frozen in groups of 60
   items; an enormous paragraph is cut before a word.
2. Drawing: a prose piece of any size is ONE widget (``ProseBlock``) whose
   Visual draws all its blocks (render.py), instead of a widget tree.
   Frozen pieces sit in ``FrozenPage`` containers of ``PAGE_SIZE`` so a layout
   pass re-arranges pages, not pieces; pages well above the tail release their
   parses, highlights and cached strips (rebuilt only if scrolled back to), and
   full pages out of view are stowed, their pieces hidden from layout (page.py).

What stays from the ``get_stream`` design is its contract: writes are cheap and
only buffered; a timer (every ``FLUSH_INTERVAL``, 120 ms, within the 50-150 ms
of DESIGN.md) applies them in one batch, re-rendering only the open tail: the
block being written, plus a second widget for finished-but-not-yet-frozen
blocks that changes only when a block ends. The tail is bounded by the
scanner; for what it cannot bound (a huge table, a long code block nested in a
list item) the flush interval grows with the tail's size (at most
``MAX_FLUSH_INTERVAL``), which keeps total work linear. ``Markdown.get_stream``
itself is not used: it is a loop around ``Markdown.append`` whose only job is
coalescing, which the timer already does, and ``append`` is the part that is
quadratic.

A backlog (a server that sends megabytes in one chunk, or a stored reply of
megabytes opened) is applied ``FLUSH_CHARS`` at a time (backlog.py), so no
flush holds the event loop for long, and ``finish`` drains it a slice at a time
with the loop free in between. Of the pieces one flush freezes, those that will
scroll past unseen are joined into bigger pieces and deferred: mounted with an
estimated height and parsed only when first drawn. Drawing every character
costs a parse and a wrap (about 100 KB/s here), and every widget costs each
later layout pass (issue 13 item 10: a 10 MB chunk froze the app for minutes).

Model text is data: it is passed through ``sanitize_for_display`` and only ever
becomes plain ``Content``; links never open, they post ``LinkClicked``.
"""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

from textual.app import ComposeResult
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.selection import Selection
from textual.timer import Timer
from textual.visual import VisualType
from textual.widget import Widget

from glm_tui.model.text import sanitize_for_display
from glm_tui.ui.markdown.backlog import Backlog, estimated_height, merge_unseen
from glm_tui.ui.markdown.code_chunk import CodeChunk
from glm_tui.ui.markdown.page import FrozenPage
from glm_tui.ui.markdown.render import ProseVisual, last_fenced_block
from glm_tui.ui.markdown.scanner import BlockScanner, FrozenCode, FrozenProse, LiveProse
from glm_tui.ui.markdown.textual_compat import GrowingWidget, drop_render_cache

__all__ = ["CodeChunk", "FrozenPage", "ProseBlock", "StreamingMarkdown"]

_CONTEXT_LINES = 12
"""Lines of the previous code chunk lexed again, so a string begun there stays coloured."""


class ProseBlock(GrowingWidget):
    """A run of finished (or the open) Markdown blocks drawn as one Visual."""

    DEFAULT_CSS = """
    ProseBlock {
        height: auto;
        width: 1fr;
    }
    """

    def __init__(self, source: str, joins: str = "", *, deferred: bool = False) -> None:
        super().__init__()
        self.source = source
        self._joins = joins
        self._visual: ProseVisual | None = None
        self._deferred = deferred
        """Not parsed until first drawn; until then layout uses an estimated height."""
        self._estimate = (-1, 0)
        if deferred:
            self.styles.margin = (0, 0, 0 if joins else 1, 0)

    def on_mount(self) -> None:
        """Parse once the app (and so the theme) is known (a deferred piece: once seen)."""
        if not self._deferred:
            self._rebuild()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """A deferred piece answers layout from an estimate, without parsing."""
        if self._deferred:
            if self._estimate[0] != width:
                self._estimate = (width, estimated_height(self.source, width))
            return self._estimate[1]
        return super().get_content_height(container, viewport, width)

    def set_source(self, source: str) -> None:
        """Replace what this block shows (only the live tail ever calls this)."""
        self.source = source
        if self._visual is not None:
            self._rebuild()

    def _rebuild(self) -> None:
        source = self.source
        visual = ProseVisual.from_source(
            source, ansi=self.app.native_ansi_color, dark=self.app.current_theme.dark
        )
        self._visual = visual
        top, bottom = visual.margins
        if self._joins:
            bottom = 0
        self.styles.margin = (top, 0, bottom, 0)
        self.refresh(layout=True)

    def render(self) -> VisualType:
        """The Visual built from the source (empty until mounted).

        A deferred piece is parsed here, the first time any of it is on screen; its real
        height then replaces the estimate on the next layout.
        """
        if self._deferred and self.is_mounted:
            self._deferred = False
            self._rebuild()
        return self._visual if self._visual is not None else Content("")

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The text under a mouse selection (Ctrl+C copies it): the lines as drawn."""
        lines = [] if self._visual is None else self._visual.lines(self.size.width)
        return selection.extract("\n".join(line.plain for line in lines)), "\n"

    def release(self) -> None:
        """Drop cached renders of a piece far above the view (see FrozenPage)."""
        if self._visual is not None:
            self._visual.release()
        drop_render_cache(self)

    async def action_link(self, href: str) -> None:
        """A Markdown link was clicked: tell the owner, never open it."""
        for owner in self.ancestors:
            if isinstance(owner, StreamingMarkdown):
                owner.post_message(StreamingMarkdown.LinkClicked(owner, href))
                return


class StreamingMarkdown(GrowingWidget):
    """Markdown for one assistant reply; cheap to stream into, linear overall."""

    PAGE_SIZE: ClassVar[int] = 6
    """Frozen pieces per ``FrozenPage``."""

    FLUSH_INTERVAL: ClassVar[float] = 0.12
    FLUSH_CHARS: ClassVar[int] = 131_072
    """At most this much new text is applied per flush; the rest waits (see backlog.py)."""
    FEED_CHARS: ClassVar[int] = 8_192
    """The scanner is fed a slice in parts of this size: it cuts an over-long paragraph
    once per feed, so a megabyte line still becomes pieces of about this size."""
    DRAWN_PIECES: ClassVar[int] = 2
    """Of the pieces one flush freezes, all but the last this many are joined into pieces of
    ``MERGED_CHARS`` (``merge_unseen``) and deferred (estimated height, parsed when first on
    screen): a backlog's pieces scroll past unseen, and drawing them would cost a parse and
    a wrap of every character and a widget each in every later layout pass."""
    BACKLOG_CHARS: ClassVar[int] = 16_384
    """Only a flush applying more than this (streaming brings ~1 KB) joins and defers pieces."""
    MERGED_CHARS: ClassVar[int] = 32_768
    """Size of a joined deferred piece: fewer widgets for layout, yet parsed and wrapped in
    about 0.1 s when one comes into view (the one just above the drawn pieces may)."""
    MAX_FLUSH_INTERVAL: ClassVar[float] = 0.4
    TAIL_CHARS_PER_SECOND: ClassVar[int] = 40_000
    """A tail of N characters is re-rendered at most every N / this seconds."""
    FROZEN_WIDGETS_PER_SECOND: ClassVar[int] = 800
    """With N frozen widgets the reply flushes at most every N / this seconds. Each flush
    changes the reply's height and Textual's reflow walks every widget on the screen: O(N)
    per flush, so a fixed interval makes a long reply O(n^2) (x2.5 CPU for 200 KB over
    100 KB, measured). Spacing flushes in proportion to N keeps layout work per second
    constant (100 KB is about 100 widgets: 0.125 s); ``finish`` always flushes at once."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "smd--code-inline",
        "smd--em",
        "smd--strong",
        "smd--s",
        "smd--h1",
        "smd--h2",
        "smd--h3",
        "smd--h4",
        "smd--h5",
        "smd--h6",
        "smd--bullet",
        "smd--rule",
        "smd--quote-bar",
        "smd--code-block",
        "smd--table-header",
    }

    DEFAULT_CSS = """
    StreamingMarkdown {
        height: auto;
        width: 1fr;
        layout: vertical;
        padding: 0 2;
        color: $foreground;
        & > .smd--em { text-style: italic; }
        & > .smd--strong { text-style: bold; }
        & > .smd--s { text-style: strike; }
        &:dark > .smd--code-inline { background: $warning 10%; color: $text-warning 95%; }
        &:light > .smd--code-inline { background: $error 5%; color: $text-error 95%; }
        & > .smd--h1 {
            color: $markdown-h1-color; background: $markdown-h1-background;
            text-style: $markdown-h1-text-style;
        }
        & > .smd--h2 {
            color: $markdown-h2-color; background: $markdown-h2-background;
            text-style: $markdown-h2-text-style;
        }
        & > .smd--h3 {
            color: $markdown-h3-color; background: $markdown-h3-background;
            text-style: $markdown-h3-text-style;
        }
        & > .smd--h4 {
            color: $markdown-h4-color; background: $markdown-h4-background;
            text-style: $markdown-h4-text-style;
        }
        & > .smd--h5 {
            color: $markdown-h5-color; background: $markdown-h5-background;
            text-style: $markdown-h5-text-style;
        }
        & > .smd--h6 {
            color: $markdown-h6-color; background: $markdown-h6-background;
            text-style: $markdown-h6-text-style;
        }
        & > .smd--bullet { color: $text-primary; }
        & > .smd--rule { color: $secondary; }
        & > .smd--quote-bar { color: $text-primary 50%; }
        & > .smd--code-block { background: $foreground 6%; }
        & > .smd--table-header { color: $primary; text-style: bold; }
    }
    """

    class LinkClicked(Message):
        """A link in the reply was clicked. Nothing is opened; the app decides."""

        def __init__(self, markdown: StreamingMarkdown, href: str) -> None:
            super().__init__()
            self.markdown = markdown
            self.href = href

        @property
        def control(self) -> StreamingMarkdown:
            """The widget holding the link (for ``@on``)."""
            return self.markdown

    def __init__(
        self,
        markdown: str = "",
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._fragments: list[str] = [markdown] if markdown else []
        self._pending = Backlog()
        self._pending.append(markdown)
        self._held_cr = ""
        self._scanner = BlockScanner()
        self._live: ProseBlock | CodeChunk | None = None
        self._recent: ProseBlock | None = None
        self._page: FrozenPage | None = None
        self._full_pages: list[FrozenPage] = []
        self._code_context: dict[int, str] = {}
        self._frozen_widgets = 0
        self._lock = asyncio.Lock()
        self._timer: Timer | None = None
        self._last_flush = 0.0
        self._finished = False
        self.flushes = 0
        """How many times the tail was re-rendered (for tests and benchmarks)."""

    # ------------------------------------------------------------------ api

    @property
    def text(self) -> str:
        """The full raw text received so far (not sanitised)."""
        if len(self._fragments) > 1:
            self._fragments = ["".join(self._fragments)]
        return self._fragments[0] if self._fragments else ""

    @property
    def flushing(self) -> bool:
        """Whether a flush is applying text right now (it may span several loop turns)."""
        return self._lock.locked()

    @property
    def undrawn(self) -> int:
        """Characters written but not yet drawn (a backlog is drawn a slice per flush)."""
        return len(self._pending)

    def write(self, fragment: str) -> None:
        """Queue ``fragment``; it shows on the next timed flush. Never blocks."""
        if not fragment:
            return
        self._fragments.append(fragment)
        self._pending.append(fragment)

    async def finish(self) -> None:
        """Apply everything written so far and draw the final form.

        A backlog bigger than one slice is drawn a slice at a time with the loop free in
        between (spaced as the timer's flushes), so finishing a huge reply never freezes
        the app.
        """
        self._finished = True
        # Timer.stop cancels a running callback: a timed flush still mounting what it took
        # would lose it. So stop only once no flush holds the lock (a waiting tick is safe).
        async with self._lock:
            if self._timer is not None:
                self._timer.stop()
                self._timer = None
        while len(self._pending) > self.FLUSH_CHARS and self.is_attached:
            await self._flush(final=False)
            await asyncio.sleep(self._interval())
        await self._flush(final=True)

    def last_code_block(self) -> str | None:
        """Raw source of the last fenced code block (nested ones count), or None."""
        return last_fenced_block(self.text)

    # ------------------------------------------------------------ internals

    def compose(self) -> ComposeResult:
        """No children up front: everything is mounted by flushes."""
        yield from ()

    async def on_mount(self) -> None:
        """Render any initial text once, then start the flush timer."""
        if self._pending:
            await self._flush(final=False)
        if not self._finished:
            self._timer = self.set_interval(self.FLUSH_INTERVAL, self._tick)

    async def _tick(self) -> None:
        """Timer callback: flush when there is news and the tail allows it."""
        if not self._pending or self._lock.locked():
            return
        if time.monotonic() - self._last_flush < self._interval() - 0.01:
            return
        await self._flush(final=False)

    def _interval(self) -> float:
        """Seconds between flushes: longer for a long tail or many frozen widgets."""
        tail = len(self._scanner.open_text)
        return min(
            max(
                self.FLUSH_INTERVAL,
                tail / self.TAIL_CHARS_PER_SECOND,
                self._frozen_widgets / self.FROZEN_WIDGETS_PER_SECOND,
            ),
            self.MAX_FLUSH_INTERVAL,
        )

    def _take_pending(self, final: bool) -> str:
        """The next slice of pending raw text, sanitised; a trailing CR waits for an LF."""
        raw = self._held_cr + self._pending.take(self.FLUSH_CHARS)
        self._held_cr = ""
        if raw.endswith("\r") and not (final and not self._pending):
            raw, self._held_cr = raw[:-1], "\r"
        return sanitize_for_display(raw)

    async def _flush(self, final: bool) -> None:
        """Freeze what the scanner finished, then redraw the live tail."""
        async with self._lock:
            text = self._take_pending(final)
            frozen = []
            for start in range(0, len(text), self.FEED_CHARS):
                frozen += self._scanner.feed(text[start : start + self.FEED_CHARS])
            backlog = len(text) > self.BACKLOG_CHARS
            unseen = max(0, len(frozen) - self.DRAWN_PIECES) if backlog else 0
            pieces = merge_unseen(frozen[:unseen], self.MERGED_CHARS)
            deferred = len(pieces)
            pieces += frozen[unseen:]
            widgets: list[Widget] = []
            for index, piece in enumerate(pieces):
                if isinstance(piece, FrozenProse):
                    widgets.append(
                        ProseBlock(piece.source, piece.joins, deferred=index < deferred)
                    )
                else:
                    widgets.append(self._code_widget(piece))
            with self.app.batch_update():
                await self._mount_frozen(widgets)
                await self._update_live(final)
            self._last_flush = time.monotonic()
            self.flushes += 1

    async def _mount_frozen(self, widgets: list[Widget]) -> None:
        """Add frozen pieces to the current page, opening new pages as they fill."""
        while widgets:
            page = self._page
            if page is None or len(page.children) >= self.PAGE_SIZE:
                if page is not None:
                    self._full_pages.append(page)
                    if len(self._full_pages) > 1:
                        self._full_pages[-2].release()
                    self.call_after_refresh(self._stow_far_pages)  # once laid out
                page = self._page = FrozenPage()
                self._frozen_widgets += 1
                anchor = self._recent if self._recent is not None else self._live
                if anchor is not None:
                    await self.mount(page, before=anchor)
                else:
                    await self.mount(page)
            room = self.PAGE_SIZE - len(page.children)
            self._frozen_widgets += len(widgets[:room])
            await page.mount_all(widgets[:room])
            widgets = widgets[room:]

    def _stow_far_pages(self) -> None:
        """Stow the full pages before the newest one that are out of view (see page.py)."""
        for page in self._full_pages[:-1]:
            page.stow()

    def _code_widget(self, piece: FrozenCode) -> CodeChunk:
        context = "" if piece.first else self._code_context.get(piece.fence, "")
        widget = CodeChunk(
            piece.code, piece.language, first=piece.first, last=piece.last, context=context
        )
        self._code_context[piece.fence] = "\n".join(piece.code.split("\n")[-_CONTEXT_LINES:])
        return widget

    async def _update_live(self, final: bool) -> None:
        """Redraw the open tail: prose as two blocks (settled + open), or code."""
        live = self._scanner.live()
        if isinstance(live, LiveProse):
            settled, rest = live.source[: live.settled], live.source[live.settled :]
            if isinstance(self._live, ProseBlock) and self._recent is not None:
                if self._recent.source != settled:
                    self._recent.set_source(settled)
                if self._live.source != rest:
                    self._live.set_source(rest)
                return
            await self._remove_live()
            self._recent, self._live = ProseBlock(settled), ProseBlock(rest)
            await self.mount_all([self._recent, self._live])
            return
        context = "" if live.first else self._code_context.get(live.fence, "")
        if isinstance(self._live, CodeChunk):
            self._live.set_code(live.code, live.language, first=live.first, context=context)
            self._live.set_class(final, "-last")
            return
        await self._remove_live()
        self._live = CodeChunk(
            live.code, live.language, first=live.first, last=final, context=context
        )
        await self.mount(self._live)

    async def _remove_live(self) -> None:
        """Remove the live widget(s) before the tail changes kind."""
        for widget in (self._recent, self._live):
            if widget is not None:
                await widget.remove()
        self._recent = self._live = None
