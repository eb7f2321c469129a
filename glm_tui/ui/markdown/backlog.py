"""Text written to a reply but not drawn yet, handed out in slices of bounded size.

Why slices: drawing costs about as much per character as Markdown parsing and wrapping do
(about 100 KB/s of CPU here), and a flush runs on the event loop, so a flush that took
everything waiting would hold key presses for as long as the whole backlog takes to draw: a
server that sends a 10 MB reply in one chunk blocked the app for minutes (issue 13 item 10).
Taking at most a slice per flush bounds every flush; the rest waits for the next one.

Pure Python (no Textual). A slice never copies the backlog: fragments are kept as written and a
big one is read from an offset, so draining a 10 MB fragment slice by slice is linear.
"""

from __future__ import annotations

from collections import deque

from glm_tui.ui.markdown.scanner import Frozen, FrozenProse, Joins

__all__ = ["Backlog", "estimated_height", "merge_unseen"]


class Backlog:
    """Fragments in order; :meth:`take` returns up to ``limit`` characters of them."""

    def __init__(self) -> None:
        self._fragments: deque[str] = deque()
        self._offset = 0  # characters of the first fragment already taken
        self._size = 0

    def __len__(self) -> int:
        """Characters waiting."""
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0

    def append(self, fragment: str) -> None:
        """Queue ``fragment`` (empty ones are ignored)."""
        if fragment:
            self._fragments.append(fragment)
            self._size += len(fragment)

    def clear(self) -> None:
        """Forget everything waiting."""
        self._fragments.clear()
        self._offset = 0
        self._size = 0

    def take(self, limit: int | None = None) -> str:
        """Remove and return the next ``limit`` characters (all of them when ``None``)."""
        if limit is None or limit >= self._size:
            limit = self._size
        parts: list[str] = []
        wanted = limit
        while wanted > 0:
            head = self._fragments[0]
            rest = len(head) - self._offset
            if rest <= wanted:
                parts.append(head[self._offset :] if self._offset else head)
                self._fragments.popleft()
                self._offset = 0
                wanted -= rest
            else:
                parts.append(head[self._offset : self._offset + wanted])
                self._offset += wanted
                wanted = 0
        self._size -= limit
        return "".join(parts)


def estimated_height(source: str, width: int) -> int:
    """About how many lines Markdown ``source`` takes at ``width`` cells, without parsing it.

    Layout needs a height for every piece, and the real one costs a parse and a wrap. A piece
    that scrolls past unseen while a big backlog is drawn (see ``ProseBlock``) uses this instead
    until it is first on screen: each source line wraps to ``ceil(len / width)`` lines (a little
    narrower, for words that do not fit) and a run of blank lines is one gap. Linear and cheap;
    off by a line or two per piece, which only moves the scroll bar.
    """
    room = max(1, width - 4) if width > 8 else max(1, width)
    lines = 0
    gap = False
    for line in source.strip("\n").split("\n"):
        if not line.strip():
            gap = True
            continue
        if gap:
            lines += 1
            gap = False
        lines += -(-len(line) // room)
    return max(lines, 1)


def merge_unseen(pieces: list[Frozen], limit: int) -> list[Frozen]:
    """Join runs of pieces that will scroll past unseen into pieces of about ``limit`` chars.

    Every widget costs the layout pass that follows each flush (Textual places every widget
    of the screen each time), so a backlog of megabytes in 4 KB pieces makes each later flush
    slower. Consecutive prose pieces become one Markdown source; each cut the scanner made is a
    safe block boundary, so joining them only undoes the cut, and the joined piece draws
    exactly as the pieces would. Code stays in its own pieces (``CodeChunk``), drawn as ever.
    """
    out: list[Frozen] = []
    run: list[str] = []
    size = 0
    joins: Joins = ""

    def close() -> None:
        nonlocal size
        if run:
            out.append(FrozenProse("".join(run), joins))
            run.clear()
            size = 0

    for piece in pieces:
        if not isinstance(piece, FrozenProse):
            close()
            out.append(piece)
            continue
        run.append(piece.source)
        size += len(piece.source)
        joins = piece.joins
        if size >= limit:
            close()
    close()
    return out
