"""Incremental top-level block scanner: decides what can be frozen, cheaply.

Pure Python (no Textual): it only looks at complete new lines, once each, so
scanning a whole reply is linear. It keeps ``open_text``, the not-yet-frozen
tail, and emits pieces that will never change again:

- ``FrozenProse``: Markdown source ending at a SAFE boundary, i.e. a place where
  markdown-it on the whole document would also end a block (after blank lines
  when the next line cannot continue the block; before a top-level fence; between
  top-level items of one list). Merging too much is harmless (a piece simply
  holds several blocks); cutting inside a block would not be, so every rule
  errs toward merging.
- ``FrozenCode``: a chunk of ``CODE_CHUNK_LINES`` lines of a fenced block, so a
  long block is highlighted chunk by chunk instead of from the top on every flush.

The open tail is therefore bounded: completed prose is cut once it reaches
``SEGMENT_CHARS``; a long list is cut every ``LIST_GROUP_ITEMS`` items
(``joins="list"``: drawn without the gap under the list); a paragraph larger
than ``PARAGRAPH_CAP`` is cut at a line end or before a word, never inside a
link, code span or emphasis (``joins="paragraph"``; see paragraph_cut.py).
What stays unbounded (a huge table or block quote, a long code block nested in
a list item, a paragraph with no safe cut) is handled by the widget's adaptive
flush interval. While the open tail holds a reference-style link definition
it is drawn as one piece, so the definition reaches uses above and below it.
Known differences from parsing the whole document at once: a definition does
not reach text frozen before it or after ``SEGMENT_CHARS`` more prose (or a
fence), and the number column of a long ordered list is sized per group.

Every piece carries the raw text it covers (``source``), so the pieces of a
reply join back to exactly what was fed (tests/ui/markdown/test_scanner.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from glm_tui.ui.markdown.paragraph_cut import safe_cut

__all__ = [
    "CODE_CHUNK_LINES",
    "LIST_GROUP_ITEMS",
    "PARAGRAPH_CAP",
    "SEGMENT_CHARS",
    "BlockScanner",
    "FrozenCode",
    "FrozenProse",
    "LiveCode",
    "LiveProse",
]

CODE_CHUNK_LINES = 40
LIST_GROUP_ITEMS = 60
SEGMENT_CHARS = 4_000
PARAGRAPH_CAP = 6_000

_FENCE_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_DEFINITION = re.compile(r" {0,3}\[(?:[^\]\\]|\\.)+\]:")
_ITEM = re.compile(r"^( {0,3})([-+*]|\d{1,9}[.)])([ \t]+|$)")

Joins = Literal["", "list", "paragraph"]


@dataclass(frozen=True)
class FrozenProse:
    """Markdown source that is complete; ``joins`` says what continues after it."""

    source: str
    joins: Joins = ""


@dataclass(frozen=True)
class FrozenCode:
    """A finished chunk of fenced code (``first``/``last`` chunk of its block).

    ``source`` is the raw text the chunk covers (the opening fence line on the
    first chunk, the closing one on the last), so the pieces of a reply always
    join back to exactly what was fed.
    """

    fence: int
    language: str
    code: str
    first: bool
    last: bool
    source: str = ""


@dataclass(frozen=True)
class LiveProse:
    """The open prose tail as it stands (may end mid-line).

    ``source[:settled]`` are finished blocks not yet frozen (they change only
    when another block finishes); the rest is the block still being written.
    """

    source: str
    settled: int = 0


@dataclass(frozen=True)
class LiveCode:
    """The open chunk of a fenced block that has not closed yet."""

    fence: int
    language: str
    code: str
    first: bool


Frozen = FrozenProse | FrozenCode


@dataclass
class _Fence:
    char: str
    length: int
    indent: int
    language: str
    number: int
    opener: str
    """Raw text before the code: blank lines and the opening fence line."""
    first: bool = True
    lines: int = 0


def _dedent(code: str, indent: int) -> str:
    """Remove up to ``indent`` leading spaces from each line (the opening fence's own)."""
    if not indent:
        return code
    lines = code.split("\n")
    for index, line in enumerate(lines):
        spaces = len(line) - len(line.lstrip(" "))
        lines[index] = line[min(indent, spaces) :]
    return "\n".join(lines)


def _indent(line: str) -> int:
    """Leading indentation in columns (a tab advances to the next multiple of 4)."""
    column = 0
    for character in line:
        if character == " ":
            column += 1
        elif character == "\t":
            column += 4 - column % 4
        else:
            break
    return column


class BlockScanner:
    """Feed display text in; take frozen pieces out; ask for the live tail."""

    def __init__(self) -> None:
        self.open_text = ""
        self._scan = 0
        self._kind = "none"
        self._prev_blank = True
        self._list_offset = 0
        self._items: list[int] = []
        self._cut = 0
        self._block_start = 0
        self._fence: _Fence | None = None
        self._fences = 0
        self._retry_cut_at = 0
        self._definition_at = -1

    # ------------------------------------------------------------------ api

    def feed(self, text: str) -> list[Frozen]:
        """Append ``text`` and return every piece that became final."""
        self.open_text += text
        out: list[Frozen] = []
        while True:
            end = self.open_text.find("\n", self._scan)
            if end < 0:
                break
            line = self.open_text[self._scan : end]
            start = self._scan
            self._scan = end + 1
            if self._fence is not None:
                self._code_line(line, start, out)
            else:
                self._prose_line(line, start, out)
                if self._fence is None:
                    self._maybe_cut(out, paragraphs=False)
        if self._fence is None:
            self._maybe_cut(out, paragraphs=True)
        return out

    def live(self) -> LiveProse | LiveCode:
        """What the open tail shows right now."""
        fence = self._fence
        if fence is None:
            # A reference definition applies to the whole document: keep the tail in one piece.
            return LiveProse(self.open_text, 0 if self._definition_at >= 0 else self._cut)
        code = self.open_text
        partial = code[self._scan :]
        if partial.strip() and set(partial.strip()) <= {fence.char}:
            code = code[: self._scan]  # maybe the closing fence arriving: don't flash it
        code = _dedent(code.removesuffix("\n"), fence.indent)
        return LiveCode(fence.number, fence.language, code, fence.first)

    @property
    def in_code(self) -> bool:
        """True while inside an unclosed fenced code block."""
        return self._fence is not None

    @property
    def open_source(self) -> str:
        """The raw text fed but not yet frozen: frozen ``source``s + this == all input."""
        fence = self._fence
        if fence is not None and fence.first:
            return fence.opener + self.open_text
        return self.open_text

    # -------------------------------------------------------------- helpers

    def _drop(self, upto: int) -> None:
        """Forget ``open_text[:upto]`` (it has been frozen); rebase offsets."""
        self.open_text = self.open_text[upto:]
        self._scan = max(self._scan - upto, 0)
        self._items = [item - upto for item in self._items if item >= upto]
        self._cut = max(self._cut - upto, 0)
        self._block_start = max(self._block_start - upto, 0)
        self._retry_cut_at -= upto
        self._definition_at -= upto  # below 0: the last definition (so every one) is frozen

    def _reset_prose(self, rest: str) -> None:
        self.open_text = rest
        self._scan = 0
        self._kind = "none"
        self._prev_blank = True
        self._items = []
        self._cut = 0
        self._block_start = 0
        self._retry_cut_at = 0
        self._definition_at = -1

    def _code_line(self, line: str, start: int, out: list[Frozen]) -> None:
        fence = self._fence
        assert fence is not None
        stripped = line.strip()
        if _indent(line) <= 3 and len(stripped) >= fence.length and set(stripped) == {fence.char}:
            self._freeze_code(start, last=True, out=out)
            self._fence = None
            self._reset_prose(self.open_text)
            return
        fence.lines += 1
        if fence.lines >= CODE_CHUNK_LINES:
            self._freeze_code(self._scan, last=False, out=out)
            fence.first = False
            fence.lines = 0

    def _freeze_code(self, end: int, *, last: bool, out: list[Frozen]) -> None:
        """Emit ``open_text[:end]`` as a chunk and drop everything scanned so far."""
        fence = self._fence
        assert fence is not None
        code = _dedent(self.open_text[:end].removesuffix("\n"), fence.indent)
        source = self.open_text[: self._scan]
        if fence.first:
            source = fence.opener + source
        out.append(FrozenCode(fence.number, fence.language, code, fence.first, last, source))
        self._drop(self._scan)

    def _prose_line(self, line: str, start: int, out: list[Frozen]) -> None:
        if not line.strip():
            self._prev_blank = True
            return
        indent = _indent(line)
        if indent < 4 and line.lstrip(" ")[:1] == "[" and _DEFINITION.match(line):
            self._definition_at = start
        opener = _FENCE_OPEN.match(line)
        nested = self._kind == "list" and indent >= self._list_offset
        if (
            opener is not None
            and not nested
            and not (opener.group(2)[0] == "`" and "`" in opener.group(3))
        ):
            before = self.open_text[:start]
            if before.strip():
                out.append(FrozenProse(before))
                before = ""
            self._fences += 1
            self._fence = _Fence(
                char=opener.group(2)[0],
                length=len(opener.group(2)),
                indent=len(opener.group(1)),
                language=opener.group(3).strip().split(" ")[0],
                number=self._fences,
                opener=before + self.open_text[start : self._scan],
            )
            rest = self.open_text[self._scan :]
            self._reset_prose(rest)
            return
        item = _ITEM.match(line)
        if self._prev_blank:
            if self._kind == "list" and (indent > 0 or item is not None):
                if item is not None and indent < self._list_offset:
                    self._new_item(item, start)
            elif self._kind == "indented" and indent >= 4:
                pass
            else:
                if self.open_text[:start].strip():
                    self._cut = start
                self._block_start = start
                if item is not None:
                    self._kind = "list"
                    self._items = []
                    self._new_item(item, start)
                elif indent >= 4:
                    self._kind = "indented"
                else:
                    self._kind = "other"
        elif self._kind == "list":
            if item is not None and indent < self._list_offset:
                self._new_item(item, start)
        elif (
            item is not None
            and (not item.group(2)[0].isdigit() or item.group(2)[:-1] == "1")
            and line[item.end() :].strip()
        ):
            self._kind = "list"
            self._items = []
            self._new_item(item, start)
        elif self._kind in ("none", "indented"):
            self._kind = "other"
            self._block_start = start
        self._prev_blank = False

    def _new_item(self, item: re.Match[str], start: int) -> None:
        spaces = len(item.group(3).expandtabs(4))
        if spaces > 4 or spaces == 0:
            spaces = 1
        self._list_offset = len(item.group(1)) + len(item.group(2)) + spaces
        self._items.append(start)

    def _maybe_cut(self, out: list[Frozen], *, paragraphs: bool) -> None:
        """Freeze what the open tail no longer needs to re-render.

        Paragraph cuts look at unscanned text too, so they only run once all
        complete lines of a feed have been classified.
        """
        if self._kind == "list" and len(self._items) > LIST_GROUP_ITEMS:
            cut = self._items[-1]
            out.append(FrozenProse(self.open_text[:cut], "list"))
            self._drop(cut)
            self._items = [0]
            self._block_start = 0
            return
        if self._cut >= SEGMENT_CHARS:
            cut = self._cut
            out.append(FrozenProse(self.open_text[:cut]))
            self._drop(cut)
            self._cut = 0
            return
        if self._kind == "none" and self.open_text[self._scan : self._scan + 1].isalpha():
            # A paragraph whose first line has not ended yet (a reply that is one huge line):
            # a letter cannot open a list, fence, heading, quote, table or indented code.
            self._kind = "other"
            self._block_start = self._scan
        text = self.open_text
        block = len(text) - self._block_start
        if (
            paragraphs
            and self._kind == "other"
            and block > PARAGRAPH_CAP
            and len(text) >= self._retry_cut_at
        ):
            if text[self._block_start : self._block_start + 1] in ("|", ">"):
                return
            cut = safe_cut(text, self._block_start, self._block_start + PARAGRAPH_CAP // 2)
            if cut > self._block_start:
                out.append(FrozenProse(text[:cut], "paragraph"))
                self._drop(cut)
                self._block_start = 0
            else:  # nothing safe yet: look again once the block has grown by half
                self._retry_cut_at = len(text) + max(block // 2, PARAGRAPH_CAP // 2)
