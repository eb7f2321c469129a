"""The part of a huge reply past the Markdown cap, drawn as plain text one screen line at a time.

Why (issue 13 item 10): drawing Markdown costs about 100 KB/s of CPU (parse, wrap, a widget per
piece that every later layout pass walks), so a server that sends 10 MB in one chunk kept the
app busy for half a minute and key presses waited up to a second. A reply is drawn as Markdown up
to :data:`MARKDOWN_CAP` characters (cut at the first line end after it, see :class:`ReplyCut`);
the rest goes to one :class:`HugeText` widget under a note that says so. That widget is
virtual: it keeps the (sanitised) text and where each screen line starts
(:class:`~glm_tui.ui.widgets.plain_lines.LineStarts`, worked out a few milliseconds at a time
between key presses), tells layout its height in lines, and builds only the lines Textual asks
it to draw, the ones on screen. A 10 MB reply costs the text, its line starts (8 bytes a line),
and one widget, whatever its length.

Nothing is lost or changed: every character is drawn (model text is only ever a plain Segment,
never markup, after :func:`sanitize_for_display`; a tab becomes four spaces, the one change made
for drawing), a mouse selection copies the text under it (the screen's selection, as in the
Markdown part), and the message itself, its copy, the store and every export keep the whole
reply as the server sent it.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from textual.geometry import Offset, Region, Size
from textual.selection import Selection
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from glm_tui.model.text import sanitize_for_display
from glm_tui.ui.widgets.plain_lines import LineStarts

__all__ = ["CUT_SLACK", "MARKDOWN_CAP", "HugeNote", "HugeText", "PlainTail", "ReplyCut"]

MARKDOWN_CAP = 262_144
"""Characters of a reply drawn as Markdown; what follows (after the line that crosses it) is
drawn plain. 256 KB is more than any ordinary reply (64k tokens) and formats in well under a
second; past it, formatting would cost seconds for each further megabyte."""

CUT_SLACK = 16_384
"""How far past the cap the cut looks for a line end (then for a space, then cuts anyway)."""

TAB = "    "
"""What a tab is drawn as in the plain part (a screen line is cut by cells, not tab stops)."""


class HugeNote(Static):
    """The line above the plain part, so nobody takes it for a rendering fault."""

    DEFAULT_CSS = "HugeNote { height: auto; margin: 1 0 0 0; color: $text-muted; }"

    def __init__(self, what: str = "reply") -> None:
        super().__init__(
            f"⋯ The rest of this {what} is shown as plain text: it is very long, and only its "
            f"first {MARKDOWN_CAP // 1024} KB are formatted. Copying the message and exports "
            "keep all of it.", markup=False)


class ReplyCut:
    """Splits a reply's text, as it arrives, into the Markdown part and the plain part.

    The cut depends only on the text, never on how it was split into deltas, so a reply
    opened from the store is cut where it was while it streamed: just after the first ``\\n``
    at or after :data:`MARKDOWN_CAP`; failing one within :data:`CUT_SLACK`, just after the
    first space after that; failing that too, at ``MARKDOWN_CAP + 2 * CUT_SLACK``.
    """

    def __init__(self, cap: int = MARKDOWN_CAP, slack: int = CUT_SLACK) -> None:
        self.cap = cap
        self.slack = slack
        self.seen = 0
        """Characters routed so far."""
        self.cut_at: int | None = None
        """Where the plain part starts, once known."""

    def route(self, fragment: str) -> tuple[str, str]:
        """``fragment`` as (its Markdown part, its plain part); either may be empty."""
        start = self.seen
        self.seen += len(fragment)
        if self.cut_at is not None:
            return "", fragment
        if self.seen <= self.cap:
            return fragment, ""
        cut = self._cut_in(fragment, start)
        if cut is None:
            return fragment, ""
        self.cut_at = start + cut
        return fragment[:cut], fragment[cut:]

    def _cut_in(self, fragment: str, start: int) -> int | None:
        """Where in ``fragment`` (which begins at ``start`` of the reply) the cut falls."""
        newline_from = max(0, self.cap - start)
        space_from = max(0, self.cap + self.slack - start)
        hard = self.cap + 2 * self.slack - start
        newline = fragment.find("\n", newline_from, space_from)
        if newline >= 0:
            return newline + 1
        if space_from < len(fragment):
            space = fragment.find(" ", space_from, max(space_from, hard))
            if space >= 0:
                return space + 1
        if hard <= len(fragment):
            return max(0, hard)
        return None


class HugeText(Widget):
    """Plain text of any size, drawn a screen line at a time (see the module doc)."""

    DEFAULT_CSS = "HugeText { height: auto; width: 1fr; }"

    STEP_SECONDS: ClassVar[float] = 0.05
    """Pause between two bursts of line-finding, so key presses and frames come between."""
    STEP_BUDGET_SECONDS: ClassVar[float] = 0.01
    """Line-finding per burst (ASCII text: about 2 MB in that time here)."""
    SLICE_CHARS: ClassVar[int] = 65_536
    """Characters read between two looks at the clock."""
    LAYOUT_LINES_PER_SECOND: ClassVar[int] = 400_000
    """A new height is published (a layout pass) at most every ``height / this`` seconds.
    Textual's layout pass costs time in proportion to a widget's height (its spatial map has
    a cell per 20 lines, and every line is marked for repaint): about 25 ms at 130,000 lines
    (10 MB) here. Spacing passes this way keeps that under a tenth of the time while lines
    are being placed, whatever the reply's size."""

    def __init__(self, text: str = "", *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._text = ""
        self._pending: list[str] = []
        self._held_cr = ""
        self._complete = False
        self._lines: LineStarts | None = None
        self._widths: dict[int, LineStarts] = {}
        """Line starts at the last widths seen: a scroll bar that comes and goes flips the
        width back and forth, and neither width should start from nothing again."""
        self._caught_up = False
        self._height = 0
        self._published = 0.0
        self._estimate = 0
        """After a width change, the height scaled from the old width, used until the lines
        at the new width are all placed (so the scroll position does not jump meanwhile)."""
        self._timer: Timer | None = None
        self.write(text)

    # ------------------------------------------------------------------ api

    @property
    def text(self) -> str:
        """Everything written so far as drawn (sanitised, tabs as spaces)."""
        self._absorb()
        return self._text

    @property
    def line_count(self) -> int:
        """Screen lines laid out so far (the widget's height)."""
        return self._height

    @property
    def all_placed(self) -> bool:
        """Whether every character written is on a screen line and in the widget's height."""
        return (self._lines is not None and self._caught_up and not self._pending
                and not self._held_cr and self._height == self._placed())

    def write(self, fragment: str) -> None:
        """Queue more text; it is placed and drawn within a few steps. Never blocks."""
        if not fragment:
            return
        raw = self._held_cr + fragment
        self._held_cr = ""
        if raw.endswith("\r"):  # "\r\n" split across two fragments is still one line end
            raw, self._held_cr = raw[:-1], "\r"
        if raw:
            self._pending.append(sanitize_for_display(raw).replace("\t", TAB))
        self._schedule()

    def finish(self) -> None:
        """No more text will come: the last line can be placed."""
        if self._held_cr:
            self._pending.append(sanitize_for_display(self._held_cr))
            self._held_cr = ""
        self._complete = True
        self._schedule()

    # ----------------------------------------------------------- placing lines

    def on_mount(self) -> None:
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is None and self.is_mounted:
            self._timer = self.set_timer(self.STEP_SECONDS, self._step)

    def _absorb(self) -> None:
        """Append what was written since the last step (one copy per step, not per delta)."""
        if self._pending:
            self._text = "".join([self._text, *self._pending])  # one copy, no temporary
            self._pending.clear()
            self._caught_up = False  # the open line may now run past the width

    def _step(self) -> None:
        """Place lines for a few milliseconds, then tell layout the new height."""
        self._timer = None
        lines = self._lines
        if lines is None:
            return  # the width is not known before the first layout, which starts the work
        self._absorb()
        deadline = time.perf_counter() + self.STEP_BUDGET_SECONDS
        text = self._text
        while True:
            done = lines.advance(text, self.SLICE_CHARS, complete=self._complete)
            if done or time.perf_counter() >= deadline:
                break
        self._caught_up = done
        height = self._placed() if done else max(self._placed(), self._estimate)
        now = time.monotonic()
        if height != self._height:
            if now - self._published >= self._height / self.LAYOUT_LINES_PER_SECOND:
                self._height = height
                self._published = now
                self.refresh(layout=True)
        elif done and height:
            self.refresh(Region(0, height - 1, self.size.width, 1))  # the open line grew
        if not done or self._pending or height != self._height:
            self._schedule()

    def _placed(self) -> int:
        """Lines that can be drawn: placed ones, plus the open one once all before it are."""
        lines = self._lines
        if lines is None:
            return 0
        open_line = self._caught_up and lines.open_start < len(self._text)
        return lines.committed + (1 if open_line else 0)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """Lines placed so far at this width; a new width places its lines anew."""
        width = max(1, width)
        old = self._lines
        if old is None or old.width != width:
            lines = self._widths.pop(width, None) or LineStarts(width)
            self._widths[width] = lines
            while len(self._widths) > 2:
                del self._widths[next(iter(self._widths))]
            self._lines = lines
            self._caught_up = False
            self._estimate = 0 if old is None else self._height * old.width // width
            self._height = max(self._placed(), self._estimate)
            self._schedule()
        return self._height

    # ----------------------------------------------------------------- drawing

    def line_span(self, y: int) -> tuple[int, int]:
        """Where screen line ``y`` is in :attr:`text` (without its line end)."""
        assert self._lines is not None
        text = self._text
        start, end = self._lines.line_span(y, len(text))
        if end > start and text[end - 1] == "\n":
            end -= 1
        return start, end

    def render_line(self, y: int) -> Strip:
        """Line ``y`` only: a plain Segment of the text (never markup), selection shown."""
        width = self.size.width
        style = self.rich_style
        if self._lines is None or y >= self._placed():
            return Strip.blank(width, style)  # a line not placed yet at a new width
        start, end = self.line_span(y)
        line = self._text[start:end]
        segments = [Segment(line, style)]
        selection = self.text_selection
        span = None if selection is None else selection.get_span(y)
        if span is not None:
            first, last = span
            last = len(line) if last == -1 else min(last, len(line))
            first = min(first, last)
            selected = style + self.screen.get_component_rich_style("screen--selection")
            segments = [Segment(line[:first], style), Segment(line[first:last], selected),
                        Segment(line[last:], style)]
            segments = [segment for segment in segments if segment.text]
        strip = Strip(segments, cell_len(line)).crop_extend(0, width, style)
        return strip.apply_offsets(0, y)

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The text under a mouse selection, as written (wrapped lines are not split)."""
        text = self.text
        start = 0 if selection.start is None else self._offset(selection.start)
        end = len(text) if selection.end is None else self._offset(selection.end)
        return text[start:end], "\n"

    def _offset(self, point: Offset) -> int:
        """The text offset of a selection point (x: characters into screen line y)."""
        placed = self._placed()
        if self._lines is None or placed == 0:
            return 0
        y = min(max(point.y, 0), placed - 1)
        start, end = self.line_span(y)
        return min(start + max(point.x, 0), end)

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()


class PlainTail:
    """One reply's plain part: where the reply is cut, and the note and widget that show what
    follows (made when the first plain text arrives). The reply's view hands it every piece
    of the reply's text and writes back only the Markdown part (see ``AssistantMessageView``).
    """

    def __init__(self, what: str = "reply") -> None:
        self._cut = ReplyCut()
        self.widget: HugeText | None = None
        self._note: HugeNote | None = None
        self._what = what
        """What the note calls the text: a reply, or a reply's reasoning."""

    def split(self, text: str) -> tuple[str, list[Widget]]:
        """The Markdown part of ``text`` (the rest goes to the plain widget), and the widgets to
        put after the Markdown when this text starts the plain part (else none)."""
        formatted, plain = self._cut.route(text)
        new: list[Widget] = []
        if plain:
            if self.widget is None:
                self._note, self.widget = HugeNote(self._what), HugeText()
                new = [self._note, self.widget]
            self.widget.write(plain)
        return formatted, new

    def widgets(self) -> list[Widget]:
        """The note and the plain widget, when the reply has a plain part."""
        return [] if self._note is None or self.widget is None else [self._note, self.widget]

    def finish(self) -> None:
        """The reply ended (its last line can be placed)."""
        if self.widget is not None:
            self.widget.finish()

    def clear(self) -> list[Widget]:
        """Start again from an empty reply; returns the widgets to remove."""
        old = self.widgets()
        self._cut, self.widget, self._note = ReplyCut(), None, None
        return old
