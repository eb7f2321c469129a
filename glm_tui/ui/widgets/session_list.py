"""A list of saved sessions drawn line by line, so ten thousand sessions cost what one screen costs.

`SessionList` is a line-API widget (`ScrollView` + `render_line`): it mounts no child per session.
Rows come from a `RowSource` in pages, only when a page is scrolled into view, and are kept in a
small LRU cache; the scroll height is simply ``count * ROW_HEIGHT``. The widget knows nothing about
the store: the sessions screen adapts `SessionStore` listings and search hits to `SessionRow`.

Every title, preview and snippet is model or user text. It is drawn as plain segments (never parsed
as markup) after :func:`glm_tui.model.text.sanitize_for_display` has made control characters
visible, so a title such as ``[@click=app.quit]x[/]`` or one holding an escape sequence shows
exactly what it is and does nothing.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from glm_tui.model.text import sanitize_for_display

ROW_HEIGHT = 2
"""Lines per session: title and facts, then the preview or the search snippet."""

PAGE_SIZE = 100
"""Rows fetched from the source at a time; a screen shows about twenty rows."""

MAX_CACHED_PAGES = 32
"""Pages kept in memory (3,200 rows); older pages are dropped and fetched again if revisited."""

GUTTER = 2
"""Cells left of each row: the marker of the session that is open in the app."""

CURRENT_MARKER = "●"


def one_line(text: str) -> str:
    """Text made safe to draw on one row: control characters shown visibly, whitespace folded."""
    return " ".join(sanitize_for_display(text).split())


def relative_time(timestamp: float, now: float | None = None) -> str:
    """When something happened, the way a person says it: "just now", "3 min ago", "12 Mar".

    Recent times are relative because "when did I last touch this" is the question; older ones
    are dates because "41 days ago" makes the reader do arithmetic.
    """
    now = time.time() if now is None else now
    delta = now - timestamp
    if delta < 0:
        # A clock moved backwards or another machine wrote the row: show the date, not "-3 min".
        return _date_text(timestamp, now)
    if delta < 60:
        return "just now"
    if delta < 3600:
        return f"{int(delta // 60)} min ago"
    if delta < 86400:
        return f"{int(delta // 3600)} h ago"
    if delta < 2 * 86400:
        return "yesterday"
    if delta < 7 * 86400:
        return f"{int(delta // 86400)} days ago"
    return _date_text(timestamp, now)


def _date_text(timestamp: float, now: float) -> str:
    when = datetime.fromtimestamp(timestamp)
    if when.year == datetime.fromtimestamp(now).year:
        return f"{when.day} {when:%b}"
    return f"{when.day} {when:%b %Y}"


@dataclass(frozen=True)
class SessionRow:
    """What one row shows. Text fields hold raw user/model text; the widget sanitizes on drawing.

    ``highlights`` are ``(start, end)`` character ranges of ``detail`` to emphasise (search
    matches), measured in the raw ``detail`` string.
    """

    session_id: str
    title: str
    updated_at: float
    detail: str = ""
    model: str = ""
    message_count: int | None = None
    message_id: int | None = None
    highlights: tuple[tuple[int, int], ...] = ()


class RowSource(Protocol):
    """Where rows come from: a count, and a slice by position (most recent first)."""

    def count(self) -> int:
        """How many rows there are."""

    def fetch(self, offset: int, limit: int) -> Sequence[SessionRow]:
        """Rows ``offset`` to ``offset + limit`` (fewer at the end)."""


class StaticRows:
    """A `RowSource` over rows already in memory (search results, tests)."""

    def __init__(self, rows: Sequence[SessionRow]) -> None:
        self._rows = list(rows)

    def count(self) -> int:
        return len(self._rows)

    def fetch(self, offset: int, limit: int) -> Sequence[SessionRow]:
        return self._rows[offset : offset + limit]


class SessionList(ScrollView, can_focus=True):
    """Saved sessions, two lines each, drawn from a paged `RowSource`.

    Up/Down/PageUp/PageDown/Home/End move the cursor, Enter (or a double click) selects.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "select", "Open", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "session-list--title",
        "session-list--meta",
        "session-list--detail",
        "session-list--match",
        "session-list--current",
        "session-list--cursor",
        "session-list--empty",
    }

    DEFAULT_CSS = """
    SessionList {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        background: $surface;
        color: $foreground;
        & > .session-list--title { text-style: bold; }
        & > .session-list--meta { color: $text-muted; }
        & > .session-list--detail { color: $text-muted; }
        & > .session-list--match { color: $text-warning; text-style: bold; }
        & > .session-list--current { color: $text-accent; text-style: bold; }
        & > .session-list--empty { color: $text-muted; text-style: italic; }
        & > .session-list--cursor {
            background: $block-cursor-blurred-background;
        }
        &:focus > .session-list--cursor {
            background: $block-cursor-background;
        }
    }
    """

    cursor: reactive[int] = reactive(0, always_update=True, init=False)
    """Index of the highlighted row (0 when the list is empty)."""

    class Highlighted(Message):
        """The cursor moved to another row (``row`` is None when the list is empty)."""

        def __init__(self, session_list: SessionList, row: SessionRow | None) -> None:
            super().__init__()
            self.session_list = session_list
            self.row = row

        @property
        def control(self) -> SessionList:
            return self.session_list

    class Selected(Message):
        """The user chose a row (Enter or a double click)."""

        def __init__(self, session_list: SessionList, row: SessionRow) -> None:
            super().__init__()
            self.session_list = session_list
            self.row = row

        @property
        def control(self) -> SessionList:
            return self.session_list

    def __init__(
        self,
        source: RowSource | None = None,
        *,
        current_session_id: str | None = None,
        empty_text: str = "No sessions",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._source: RowSource = source if source is not None else StaticRows([])
        self._count = self._source.count()
        self._pages: OrderedDict[int, Sequence[SessionRow]] = OrderedDict()
        self._current_session_id = current_session_id
        self._empty_text = empty_text
        self._now = time.time()

    # -- data ---------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return self._count

    @property
    def current_session_id(self) -> str | None:
        return self._current_session_id

    def set_source(
        self,
        source: RowSource,
        *,
        empty_text: str | None = None,
        keep_cursor: bool = False,
        count: int | None = None,
    ) -> None:
        """Show other rows (a new filter, search results, or the store after a change).

        ``keep_cursor`` keeps the cursor on the same position (clamped), for refreshes after a
        rename or delete; otherwise the cursor and scroll go back to the top. ``count`` skips the
        source's own count when the caller already knows it.
        """
        self._source = source
        self._count = source.count() if count is None else count
        self._pages.clear()
        if empty_text is not None:
            self._empty_text = empty_text
        self._now = time.time()
        self._update_virtual_size()
        target = min(self.cursor, max(self._count - 1, 0)) if keep_cursor else 0
        if not keep_cursor:
            self.scroll_to(y=0, animate=False, immediate=True)
        self.cursor = target
        self.refresh()

    def row_at(self, index: int) -> SessionRow | None:
        """The row at ``index``, fetching its page from the source if it is not cached."""
        if not 0 <= index < self._count:
            return None
        page_number, position = divmod(index, PAGE_SIZE)
        page = self._pages.get(page_number)
        if page is None:
            page = self._source.fetch(page_number * PAGE_SIZE, PAGE_SIZE)
            self._pages[page_number] = page
            while len(self._pages) > MAX_CACHED_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page_number)
        return page[position] if position < len(page) else None

    @property
    def highlighted_row(self) -> SessionRow | None:
        return self.row_at(self.cursor)

    @property
    def cached_row_count(self) -> int:
        """Rows currently held in memory (the point of paging; benchmarks and tests read it)."""
        return sum(len(page) for page in self._pages.values())

    # -- cursor -------------------------------------------------------------------------------

    def validate_cursor(self, cursor: int) -> int:
        return max(0, min(cursor, self._count - 1)) if self._count else 0

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_lines(old * ROW_HEIGHT, ROW_HEIGHT)
        self.refresh_lines(new * ROW_HEIGHT, ROW_HEIGHT)
        self._scroll_to_cursor()
        self.post_message(self.Highlighted(self, self.highlighted_row))

    def _scroll_to_cursor(self) -> None:
        if not self.is_mounted or not self._count:
            return
        self.scroll_to_region(
            Region(0, self.cursor * ROW_HEIGHT, self.scrollable_content_region.width, ROW_HEIGHT),
            animate=False,
            force=True,
            immediate=True,
        )

    def _page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height // ROW_HEIGHT - 1)

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_page_up(self) -> None:
        self.cursor -= self._page_rows()

    def action_page_down(self) -> None:
        self.cursor += self._page_rows()

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = self._count - 1

    def action_select(self) -> None:
        row = self.highlighted_row
        if row is not None:
            self.post_message(self.Selected(self, row))

    async def _on_click(self, event: events.Click) -> None:
        index = event.style.meta.get("session_row")
        if not isinstance(index, int):
            return
        event.stop()
        self.cursor = index
        if event.chain >= 2:
            self.action_select()

    # -- layout and drawing --------------------------------------------------------------------

    def on_mount(self) -> None:
        self._update_virtual_size()
        # Relative times ("3 min ago") age while the screen is open.
        self.set_interval(30, self._tick)

    def _tick(self) -> None:
        self._now = time.time()
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self._update_virtual_size()

    def _update_virtual_size(self) -> None:
        width = self.scrollable_content_region.width
        self.virtual_size = Size(width, self._count * ROW_HEIGHT)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line_number = self.scroll_offset.y + y
        index, part = divmod(line_number, ROW_HEIGHT)
        if not self._count:
            return self._empty_line(line_number, width)
        row = self.row_at(index)
        if row is None:
            return Strip.blank(width, self.rich_style)
        is_cursor = index == self.cursor
        if part == 0:
            strip = self._title_line(row, width, is_cursor)
        else:
            strip = self._detail_line(row, width, is_cursor)
        return strip.apply_meta({"session_row": index})

    def _style(self, is_cursor: bool, *parts: str) -> Style:
        names = ("session-list--cursor", *parts) if is_cursor else parts
        return self.get_visual_style(*names).rich_style

    def _empty_line(self, line_number: int, width: int) -> Strip:
        if line_number != 1:
            return Strip.blank(width, self.rich_style)
        style = self._style(False, "session-list--empty")
        text = set_cell_size(f"  {self._empty_text}", width)
        return Strip([Segment(text, style)], width)

    def _title_line(self, row: SessionRow, width: int, is_cursor: bool) -> Strip:
        base = self._style(is_cursor)
        is_current = row.session_id == self._current_session_id
        marker = CURRENT_MARKER if is_current else " "
        segments = [
            Segment(set_cell_size(marker, GUTTER), self._style(is_cursor, "session-list--current"))
        ]
        facts = []
        if row.model:
            facts.append(one_line(row.model))
        if row.message_count is not None:
            facts.append(f"{row.message_count} msg" + ("" if row.message_count == 1 else "s"))
        facts.append(relative_time(row.updated_at, self._now))
        meta = " · ".join(facts)
        room = width - GUTTER - 1  # one blank cell at the right edge
        meta = _fit(meta, max(0, min(cell_len(meta), room // 2)))
        title_room = max(0, room - cell_len(meta) - (1 if meta else 0))
        title = _fit(one_line(row.title) or "Untitled", title_room)
        title_parts = (
            ("session-list--title", "session-list--current")
            if is_current
            else ("session-list--title",)
        )
        segments.append(Segment(title, self._style(is_cursor, *title_parts)))
        gap = room - cell_len(title) - cell_len(meta)
        if gap > 0:
            segments.append(Segment(" " * gap, base))
        if meta:
            segments.append(Segment(meta, self._style(is_cursor, "session-list--meta")))
        return Strip(segments).adjust_cell_length(width, base)

    def _detail_line(self, row: SessionRow, width: int, is_cursor: bool) -> Strip:
        base = self._style(is_cursor)
        room = width - GUTTER - 1
        segments = [Segment(" " * (GUTTER + 1), base)]
        detail_style = self._style(is_cursor, "session-list--detail")
        match_style = self._style(is_cursor, "session-list--match")
        pieces = _detail_pieces(row)
        if len(pieces) > 1 and not pieces[0][1] and cell_len(pieces[0][0]) > room // 2:
            # Long text before the first match: keep only its tail so the match is on screen.
            keep = max(0, room // 3 - 1)
            lead = pieces[0][0]
            pieces[0] = ("…" + (lead[-keep:].lstrip() if keep else ""), False)
        used = 0
        for text, is_match in pieces:
            if used >= room:
                break
            piece = _fit(text, room - used)
            segments.append(Segment(piece, match_style if is_match else detail_style))
            used += cell_len(piece)
        return Strip(segments).adjust_cell_length(width, base)


def _fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells, with an ellipsis when something was cut."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1) + "…"


def _detail_pieces(row: SessionRow) -> list[tuple[str, bool]]:
    """The detail line cut into (text, is_match) pieces, each made safe for one row.

    Pieces are sanitized separately so the match ranges, measured in the raw text, stay right.
    """
    detail = row.detail
    pieces: list[tuple[str, bool]] = []
    position = 0
    for start, end in sorted(row.highlights):
        start, end = max(start, position), min(end, len(detail))
        if start >= end:
            continue
        if start > position:
            pieces.append((detail[position:start], False))
        pieces.append((detail[start:end], True))
        position = end
    if position < len(detail):
        pieces.append((detail[position:], False))
    cleaned: list[tuple[str, bool]] = []
    for index, (text, is_match) in enumerate(pieces):
        folded = " ".join(sanitize_for_display(text).split())
        # Keep a single space at piece borders where the raw text had whitespace.
        if index and text[:1].isspace():
            folded = " " + folded
        if index < len(pieces) - 1 and text[-1:].isspace() and not folded.endswith(" "):
            folded += " "
        if folded:
            cleaned.append((folded, is_match))
    return cleaned
