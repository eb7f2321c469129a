"""Pieces of a backlog that scroll past unseen, drawn only if they come into view.

A reply that arrives all at once (megabytes in one chunk) is drawn a slice per flush, and the
view follows its end, so most of its pieces are never on screen while it streams. Drawing
them anyway costs a Markdown parse, a wrap and a highlight of every character (about 100 KB/s
here) and a widget each in every later layout pass (Textual places every widget of the screen
on each one). A :class:`DeferredRun` stands for a run of such pieces: one widget with an
estimated height, and the moment any of it is drawn it puts the real widgets (exactly the ones
the pieces would have had) in its place. Scrolling back through a huge reply therefore draws
each run once, and the scroll bar is only as exact as the estimate until then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.content import Content
from textual.geometry import Size
from textual.visual import VisualType
from textual.widget import Widget

from glm_tui.ui.markdown.backlog import estimated_height

__all__ = ["DeferredRun"]


class DeferredRun(Widget):
    """A run of frozen pieces, built into real widgets when first on screen."""

    DEFAULT_CSS = """
    DeferredRun {
        height: auto;
        width: 1fr;
        margin: 0 0 1 0;
    }
    """

    def __init__(self, source: str, build: Callable[[], list[Widget]], lock: asyncio.Lock) -> None:
        super().__init__()
        self.source = source
        """The Markdown the run covers (for the estimate, and what it will show); empty once
        the real pieces have taken its place."""
        self._build = build
        self._lock = lock  # the reply's flush lock: never expand in the middle of a flush
        self._estimate = (-1, 0)
        self._expanding = False

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """An estimate from the source; nothing is parsed."""
        if self._estimate[0] != width:
            self._estimate = (width, estimated_height(self.source, width))
        return self._estimate[1]

    def render(self) -> VisualType:
        """Blank for this frame; the real pieces replace the run right after."""
        if not self._expanding and self.is_mounted:
            self._expanding = True
            self.call_later(self._expand)
        return Content("")

    async def _expand(self) -> None:
        async with self._lock:
            parent = self.parent
            if not isinstance(parent, Widget) or not self.is_attached:
                return
            widgets = self._build()
            self.source = ""  # the text is the real pieces' now (what is drawn stays exact)
            self.display = False
            await parent.mount_all(widgets, before=self)
            await self.remove()
