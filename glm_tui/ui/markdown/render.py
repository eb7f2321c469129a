"""Markdown source -> wrapped ``Content`` lines, drawn by ONE widget per segment.

Why not Textual's ``Markdown`` widget for the frozen parts: it mounts one widget
per block and four per list item (Horizontal, bullet, Vertical, paragraph). A
100 KB reply becomes ~1,300 widgets; every layout pass then walks all of them
(measured: 19 ms per reflow at 100 KB, 44 ms at 200 KB) and a one-shot
``Markdown.update`` of 100 KB costs 2.7 s CPU (7.0 s at 200 KB). Streaming
re-lays out ~10 times a second, so the widget count alone makes the cost
quadratic. Here a segment of any size is one widget whose ``Visual`` renders
all its blocks; layout cost stays proportional to the number of segments.

The look follows Textual's Markdown: same bullets, same inline styles (via
component classes on ``StreamingMarkdown``), same heading margins, code
highlighted with ``MarkdownFence.highlight`` (Textual's own highlighter).
HTML is parsed as text (``html=False``): Textual's widget silently drops
``<tag>`` text, and a chat client must show what the model wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token
from textual.content import Content, Span
from textual.css.styles import RulesMap
from textual.strip import Strip
from textual.style import Style
from textual.visual import RenderOptions, Visual

__all__ = [
    "BULLETS",
    "MAX_HIGHLIGHT_LINE",
    "ProseVisual",
    "highlight_code",
    "parse_blocks",
]

BULLETS = ("• ", "▪ ", "‣ ", "⭑ ", "◦ ")
"""Unordered list bullets by depth, as Textual's Markdown draws them."""

MAX_HIGHLIGHT_LINE = 2_000
"""Code with a longer line is shown plain: lexing a 100 KB line on every
streamed flush would make a single line cost quadratic time."""

_WHITESPACE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    """The shared parser: GFM-like (tables, strikethrough, linkify), no HTML."""
    return MarkdownIt("gfm-like", {"html": False})


def last_fenced_block(markdown: str) -> str | None:
    """Raw source of the last fenced code block in ``markdown`` (nested ones count), or None.

    The one definition of "the last code block" for copying, parsed as the reply is drawn.
    """
    fences = [
        token.content
        for token in _parser().parse(markdown.replace("\r\n", "\n"))
        if token.type == "fence"
    ]
    return fences[-1].removesuffix("\n") if fences else None


def highlight_code(code: str, language: str, *, ansi: bool, dark: bool) -> Content:
    """Highlight ``code`` the way Textual's Markdown fences do.

    Falls back to plain text for pathological long lines (see
    ``MAX_HIGHLIGHT_LINE``) and for an empty language, where guessing would
    make each chunk of one block pick a different lexer.
    """
    if not code:
        return Content("")
    if not language or max(map(len, code.split("\n"))) > MAX_HIGHLIGHT_LINE:
        return Content(code)
    # Imported here: textual.widgets.markdown costs ~18 ms, off the first frame (a resumed
    # session's code blocks are highlighted after it).
    from textual.widgets.markdown import MarkdownFence

    return MarkdownFence.highlight(code, language, ansi=ansi, dark=dark)


# --------------------------------------------------------------------- blocks


@dataclass
class _Block:
    """One rendered block: its kind, margins, and what it holds."""

    kind: str
    content: Content = field(default_factory=Content)
    level: int = 0
    children: list[_Block] = field(default_factory=list)
    items: list[tuple[str, list[_Block]]] = field(default_factory=list)
    code: str = ""
    language: str = ""
    rows: list[list[Content]] = field(default_factory=list)


_MARGINS: dict[str, tuple[int, int]] = {
    "paragraph": (0, 1),
    "h1": (2, 1),
    "h2": (2, 1),
    "h3": (1, 1),
    "h4": (1, 1),
    "h5": (1, 1),
    "h6": (1, 1),
    "hr": (1, 1),
    "list": (0, 1),
    "code": (1, 1),
    "quote": (1, 1),
    "table": (0, 1),
}


def _inline_content(token: Token) -> Content:
    """Inline token -> Content, mirroring ``MarkdownBlock._token_to_content``.

    Text is only ever plain Content: ``[bold]`` or ``[@click=...]`` in model
    text stays literal. The only click actions are the ones built here from
    Markdown links, and they run ``link(...)`` on our own widget.
    """
    if token.children is None:
        return Content("")
    parts: list[str] = []
    spans: list[Span] = []
    stack: list[tuple[Style | str, int]] = []
    position = 0

    def add(text: str) -> None:
        nonlocal position
        parts.append(text)
        position += len(text)

    def close() -> None:
        if stack:
            style, start = stack.pop()
            spans.append(Span(start, position, style))

    for child in token.children:
        kind = child.type
        if kind == "text":
            add(_WHITESPACE.sub(" ", child.content))
        elif kind == "hardbreak":
            add("\n")
        elif kind == "softbreak":
            add(" ")
        elif kind == "code_inline":
            stack.append((".smd--code-inline", position))
            add(child.content)
            close()
        elif kind == "em_open":
            stack.append((".smd--em", position))
        elif kind == "strong_open":
            stack.append((".smd--strong", position))
        elif kind == "s_open":
            stack.append((".smd--s", position))
        elif kind == "link_open":
            href = str(child.attrs.get("href", ""))
            stack.append((Style.from_meta({"@click": f"link({href!r})"}), position))
        elif kind == "image":
            href = str(child.attrs.get("src", ""))
            stack.append((Style.from_meta({"@click": f"link({href!r})"}), position))
            add("🖼  ")
            alt = str(child.attrs.get("alt", "") or "")
            if alt:
                add(f"({alt})")
            for grandchild in child.children or []:
                add(grandchild.content)
            close()
        elif kind.endswith("_close"):
            close()
        elif kind in ("html_inline", "entity"):
            add(child.content)
    return Content("".join(parts), spans=spans)


def _build(tokens: list[Token], start: int, end: int, depth: int) -> list[_Block]:
    """Turn the flat token list ``tokens[start:end]`` into a block tree."""
    blocks: list[_Block] = []
    index = start
    while index < end:
        token = tokens[index]
        kind = token.type
        if kind == "paragraph_open":
            blocks.append(_Block("paragraph", _inline_content(tokens[index + 1])))
            index += 3
        elif kind == "heading_open":
            level = int(token.tag[1:])
            blocks.append(_Block(f"h{level}", _inline_content(tokens[index + 1]), level))
            index += 3
        elif kind == "hr":
            blocks.append(_Block("hr"))
            index += 1
        elif kind in ("fence", "code_block"):
            language = token.info.strip().split(" ")[0] if token.info else ""
            blocks.append(_Block("code", code=token.content.rstrip("\n"), language=language))
            index += 1
        elif kind in ("blockquote_open", "bullet_list_open", "ordered_list_open", "table_open"):
            close = _matching_close(tokens, index)
            if kind == "blockquote_open":
                blocks.append(_Block("quote", children=_build(tokens, index + 1, close, depth)))
            elif kind == "table_open":
                blocks.append(_table(tokens, index, close))
            else:
                blocks.append(_list(tokens, index, close, depth))
            index = close + 1
        else:
            index += 1
    return blocks


def _matching_close(tokens: list[Token], index: int) -> int:
    """Index of the token closing the one at ``index`` (same level, nesting -1)."""
    level = tokens[index].level
    for position in range(index + 1, len(tokens)):
        token = tokens[position]
        if token.level == level and token.nesting == -1:
            return position
    return len(tokens) - 1


def _list(tokens: list[Token], start: int, end: int, depth: int) -> _Block:
    """Build a bullet or ordered list; numbering starts where the source does."""
    ordered = tokens[start].type == "ordered_list_open"
    items: list[tuple[str, list[_Block]]] = []
    index = start + 1
    number = int(tokens[start].attrs.get("start", 1) or 1) if ordered else 0
    while index < end:
        if tokens[index].type == "list_item_open":
            close = _matching_close(tokens, index)
            children = _build(tokens, index + 1, close, depth + 1)
            bullet = f"{number}. " if ordered else BULLETS[depth % len(BULLETS)]
            items.append((bullet, children))
            number += 1
            index = close + 1
        else:
            index += 1
    if ordered and items:
        width = max(len(bullet) for bullet, _ in items)
        items = [(bullet.rjust(width + 1), children) for bullet, children in items]
    return _Block("list", items=items)


def _table(tokens: list[Token], start: int, end: int) -> _Block:
    """Collect header and body cells (header row first)."""
    rows: list[list[Content]] = []
    for token in tokens[start:end]:
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and rows:
            rows[-1].append(_inline_content(token))
    return _Block("table", rows=rows)


def parse_blocks(source: str) -> list[_Block]:
    """Parse Markdown source into the block tree the visual draws."""
    tokens = _parser().parse(source)
    return _build(tokens, 0, len(tokens), 0)


# -------------------------------------------------------------------- drawing


@dataclass(frozen=True)
class _Theme:
    """What highlighting needs to know about the app's theme."""

    ansi: bool
    dark: bool


def _wrap(content: Content, width: int) -> list[Content]:
    """Wrap to ``width`` cells; an empty paragraph still takes one line."""
    if not content.plain:
        return [Content("")]
    return content.wrap(max(width, 1))


def _render_blocks(
    blocks: list[_Block], width: int, theme: _Theme, top_level: bool
) -> list[Content]:
    """Draw blocks one under another; top-level gaps collapse like CSS margins."""
    lines: list[Content] = []
    previous_bottom = 0
    for position, block in enumerate(blocks):
        top, bottom = _MARGINS.get(block.kind, (0, 0))
        if top_level and position:
            lines.extend(Content("") for _ in range(max(previous_bottom, top)))
        lines.extend(_render_block(block, width, theme))
        previous_bottom = bottom
    return lines


def _render_block(block: _Block, width: int, theme: _Theme) -> list[Content]:
    """Draw one block at ``width`` cells."""
    kind = block.kind
    if kind == "paragraph":
        return _wrap(block.content, width)
    if kind.startswith("h") and kind[1:].isdigit():
        style = f".smd--{kind}"
        lines = _wrap(block.content, width)
        if block.level == 1:
            lines = [line.center(width) for line in lines]
        return [line.stylize_before(style) for line in lines]
    if kind == "hr":
        return [Content.styled("─" * max(width, 1), ".smd--rule")]
    if kind == "code":
        return _render_code(block, width, theme)
    if kind == "quote":
        inner = _render_blocks(block.children, width - 2, theme, top_level=True)
        bar = Content.styled("▌ ", ".smd--quote-bar")
        return [bar + line for line in inner] or [bar]
    if kind == "list":
        rows: list[Content] = []
        for bullet, children in block.items:
            gutter = len(bullet)
            inner = _render_blocks(children, width - gutter, theme, top_level=False)
            lead = Content.styled(bullet, ".smd--bullet")
            pad = Content(" " * gutter)
            for number, line in enumerate(inner or [Content("")]):
                rows.append((lead if number == 0 else pad) + line)
        return rows
    if kind == "table":
        return _render_table(block, width)
    return []


def _render_code(block: _Block, width: int, theme: _Theme) -> list[Content]:
    """A code block nested in a list or quote: padded, on the code background."""
    code = highlight_code(block.code, block.language, ansi=theme.ansi, dark=theme.dark)
    inner = max(width - 4, 1)
    lines = [Content("")]
    for source_line in code.split("\n", allow_blank=True):
        lines.extend(source_line.fold(inner) if source_line.cell_length > inner else [source_line])
    lines.append(Content(""))
    return [
        (Content("  ") + line)
        .extend_right(max(width - 2 - line.cell_length, 0))
        .stylize_before(".smd--code-block")
        for line in lines
    ]


def _render_table(block: _Block, width: int) -> list[Content]:
    """A plain grid: columns sized to content, folded when the view is narrow."""
    if not block.rows:
        return []
    columns = max(len(row) for row in block.rows)
    rows = [row + [Content("")] * (columns - len(row)) for row in block.rows]
    widths = [max(row[column].cell_length for row in rows) for column in range(columns)]
    available = max(width - 3 * (columns - 1), columns)
    while sum(widths) > available and max(widths) > 1:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    separator = Content.styled(" │ ", ".smd--rule")
    lines: list[Content] = []
    for row_number, row in enumerate(rows):
        cells = [_wrap(cell, widths[column]) for column, cell in enumerate(row)]
        height = max(len(cell) for cell in cells)
        for line_number in range(height):
            parts = [
                (cell[line_number] if line_number < len(cell) else Content("")).extend_right(
                    widths[column]
                    - (cell[line_number].cell_length if line_number < len(cell) else 0)
                )
                for column, cell in enumerate(cells)
            ]
            line = separator.join(parts)
            lines.append(line.stylize_before(".smd--table-header") if row_number == 0 else line)
        if row_number == 0:
            lines.append(Content.styled("─┼─".join("─" * w for w in widths), ".smd--rule"))
    return lines


_AS_WRAPPED: RulesMap = {"text_wrap": "nowrap", "text_overflow": "clip"}
"""How ``ProseVisual`` lines are drawn: they are wrapped already (``lines``), so not a second
time (the wrap, per line and per flush of the open tail, was a fifth of drawing it)."""


class ProseVisual(Visual):
    """All blocks of one segment as a single Visual, wrapped per width (cached).

    ``release`` drops the parse and the wrapped lines (keeping only the
    source) for pieces far above the view: a long reply otherwise keeps tens of
    thousands of small objects alive, and every full garbage collection scans
    them all, which makes streaming cost grow faster than the reply.
    """

    def __init__(self, source: str, theme: _Theme) -> None:
        self._source = source
        self._theme = theme
        self._blocks: list[_Block] | None = parse_blocks(source)
        self._width = -1
        self._lines: list[Content] = []
        self._heights: dict[int, int] = {}
        first = self._blocks[0].kind if self._blocks else ""
        last = self._blocks[-1].kind if self._blocks else ""
        self.margins = (_MARGINS.get(first, (0, 0))[0], _MARGINS.get(last, (0, 0))[1])
        """Top margin of the first block and bottom margin of the last."""

    @classmethod
    def from_source(cls, source: str, *, ansi: bool, dark: bool) -> ProseVisual:
        """Parse ``source`` once; drawing at any width reuses the parse."""
        return cls(source, _Theme(ansi, dark))

    def release(self) -> None:
        """Forget everything derived from the source; rebuilt on next use."""
        self._blocks = None
        self._lines = []
        self._width = -1

    def lines(self, width: int) -> list[Content]:
        """Wrapped lines at ``width`` cells (computed once per width)."""
        if width != self._width:
            if self._blocks is None:
                self._blocks = parse_blocks(self._source)
            self._lines = _render_blocks(self._blocks, width, self._theme, top_level=True)
            self._width = width
            self._heights[width] = len(self._lines)
        return self._lines

    def render_strips(
        self, width: int, height: int | None, style: Style, options: RenderOptions
    ) -> list[Strip]:
        """Part of the Visual protocol: one strip per wrapped line."""
        lines = self.lines(width)
        if height is not None:
            lines = lines[:height]
        if not lines:
            return []
        drawn = replace(options, rules=_AS_WRAPPED)
        return Content("\n").join(lines).render_strips(width, None, style, drawn)

    def get_optimal_width(self, rules: object, container_width: int) -> int:
        """Prose fills the width it is given."""
        return container_width

    def get_height(self, rules: object, width: int) -> int:
        """Number of wrapped lines at ``width`` (known heights survive ``release``)."""
        height = self._heights.get(width)
        return len(self.lines(width)) if height is None else height
