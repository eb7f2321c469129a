"""Where each screen line of a huge plain text starts, worked out a bounded amount at a time.

A reply of megabytes cannot be drawn as Markdown (parsing and wrapping cost about 100 KB/s of
CPU, and every widget costs each later layout pass), nor wrapped whole at once (a 10 MB reply is
some 90,000 screen lines: wrapping them in one go holds the event loop, and a key press waits).
:class:`HugeText <glm_tui.ui.widgets.huge_text.HugeText>` draws such text plain, one screen line
at a time, and needs only two things per line: where it starts in the text, and how many lines
there are. This module computes exactly that, as an ``array`` of start offsets (8 bytes a line,
about 0.7 MB for 10 MB of text), a budget of characters per call, so the caller can spread the
work over many turns of the event loop.

Wrapping is greedy, at spaces, as a terminal reader expects: a line takes as many cells as fit
in ``width``; when the next character is not a space it breaks after the last space that fits,
and a word longer than the line is cut at the width. Each ``\\n`` ends a line. ASCII windows
(the common case) are measured by length; any other window by grapheme and cell width, so wide
(CJK) characters and emoji sequences are never split or pushed past the edge.

A line is committed only once the text after it is known well enough to place it: the line at
the end of a text still being written stays open (``open_start``) and is drawn from its start
to the end of the text, so streaming more text never moves a committed line.

Pure Python, no Textual: testable on its own, linear in the text's length.
"""

from __future__ import annotations

from array import array

from rich.cells import get_character_cell_size, split_graphemes

__all__ = ["LineStarts"]


class LineStarts:
    """Start offsets of the screen lines of one text at one width (see the module doc)."""

    def __init__(self, width: int) -> None:
        self.width = max(1, width)
        self.starts = array("q", [0])
        """``starts[i]``: where line ``i`` starts. The last one is the open line's."""

    @property
    def committed(self) -> int:
        """Lines whose end is known (every line but the open one)."""
        return len(self.starts) - 1

    @property
    def open_start(self) -> int:
        """Where the open (last) line starts: everything indexed lies before it."""
        return self.starts[-1]

    def line_span(self, index: int, text_length: int) -> tuple[int, int]:
        """``(start, end)`` of line ``index`` in the text (the open line ends at the text's end).

        The end excludes the line's ``\\n`` but keeps the space a wrap broke at (drawing crops
        it), so a selection that runs to the end of a line copies it."""
        start = self.starts[index]
        end = self.starts[index + 1] if index + 1 < len(self.starts) else text_length
        return start, end

    def advance(self, text: str, budget: int, *, complete: bool) -> bool:
        """Commit lines of ``text`` after the open line's start, reading about ``budget`` chars.

        ``complete``: no more text will come, so the last line can be placed as well.
        Returns True when everything that can be placed has been (call again after more text
        arrives); False when the budget ran out first.
        """
        starts = self.starts
        width = self.width
        length = len(text)
        start = starts[-1]
        stop_at = start + budget
        find = text.find
        rfind = text.rfind
        while start < length:
            if start >= stop_at:
                return False
            window_end = start + width
            newline = find("\n", start, window_end + 1)
            window = text[start:window_end + 1]
            if not window.isascii():
                taken = _fit_cells(text[start:start + 2 * width + 2], width)
                window_end = start + taken
                newline = find("\n", start, window_end + 1)
            if newline >= 0 and newline <= window_end:
                # The line ends within the width (an empty line too).
                start = newline + 1
                starts.append(start)
                continue
            if window_end >= length:
                # What is left fits on one line; it is open until the text is complete.
                if complete and length - start > 0:
                    starts.append(length)
                    start = length
                break
            if text[window_end] == " ":
                start = window_end + 1  # the space the line breaks at stays on it
            else:
                space = rfind(" ", start, window_end)
                start = space + 1 if space > start else window_end
            starts.append(start)
        return True


def _fit_cells(window: str, width: int) -> int:
    """How many characters at the start of ``window`` fit in ``width`` cells.

    At least one character, so one wider than the line still makes progress; when the whole
    window fits, its length. Zero-width characters (combining marks) stay with the character
    before them. Emoji sequences (joiners, variation selectors) are measured by grapheme."""
    if "\u200d" in window or "\ufe0f" in window:
        return _fit_graphemes(window, width)
    sizes = _SIZES
    cells = 0
    for index, character in enumerate(window):
        size = sizes.get(character)
        if size is None:
            size = sizes[character] = get_character_cell_size(character)
        cells += size
        if cells > width:
            return index if index > 0 else 1
    return len(window)


_SIZES: dict[str, int] = {}
"""Cell widths of the characters met so far (a few thousand at most for any real text)."""


def _fit_graphemes(window: str, width: int) -> int:
    """As :func:`_fit_cells`, keeping each grapheme (e.g. a family emoji) whole."""
    spans, _total = split_graphemes(window)
    cells = 0
    for start, end, size in spans:
        if cells + size > width:
            return start if start > 0 else end
        cells += size
    return len(window)
