"""A page of frozen pieces of a streamed reply, and how a page far above the view costs nothing.

Textual caches a container's arrangement until its own children change, so once a page is full
its layout is never computed again; the reply's own layout then only arranges pages, not every
piece. Pages more than one page behind the newest are released (their pieces drop parses,
highlights and cached strips, rebuilt only if scrolled back into view).

A layout pass still visits every widget on the screen (Textual's compositor places them all,
seen or not), and while a reply streams there is a pass at every flush: a reply of 400 KB is
about 120 pieces and pages, and each pass cost twice what it cost at the start. So a full page
out of view is also *stowed*: its pieces are hidden (``display: none``, which layout skips) and
the page keeps their height as a fixed one, so nothing moves and the scroll bar stays true. The
first time any of it is drawn again (scrolled back to) the pieces come back, drawn on the next
frame; a change of width brings them back too (their height depends on it). Stowing changes
nothing in the text: the pieces stay in the page, only hidden.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from textual import events
from textual.errors import NoWidget
from textual.geometry import Region, Size
from textual.strip import Strip

from glm_tui.ui.markdown.textual_compat import GrowingWidget

__all__ = ["FrozenPage"]


@runtime_checkable
class _Releasable(Protocol):
    def release(self) -> None: ...


class FrozenPage(GrowingWidget):
    """A fixed group of frozen pieces (see the module docstring)."""

    DEFAULT_CSS = "FrozenPage { height: auto; width: 1fr; layout: vertical; }"

    def __init__(self) -> None:
        super().__init__()
        self._stowed_width = 0
        """The width the page was stowed at (0: not stowed)."""

    @property
    def stowed(self) -> bool:
        """Whether the pieces are hidden, the page keeping their height."""
        return self._stowed_width > 0

    def release(self) -> None:
        """Release every piece on this page."""
        for child in self.children:
            if isinstance(child, _Releasable):
                child.release()

    def stow(self) -> None:
        """Hide the pieces and keep their height, unless the page is on screen (or not laid
        out yet: its height is not known)."""
        if self.stowed or not self.children or not self.size.height:
            return
        try:
            geometry = self.screen.find_widget(self)
        except NoWidget:
            return
        if geometry.clip.overlaps(geometry.region):
            return
        self._stowed_width = self.size.width
        self.styles.height = self.size.height
        for child in self.children:
            child.display = False

    def unstow(self) -> None:
        """Show the pieces again (the page's height follows them again)."""
        if not self.stowed:
            return
        self._stowed_width = 0
        for child in self.children:
            child.display = True
        self.styles.height = None  # back to the stylesheet's ``auto``

    def render_lines(self, crop: Region) -> list[Strip]:
        """Drawn while stowed: it has come into view, so the pieces come back."""
        if self.stowed:
            self.call_later(self.unstow)
        return super().render_lines(crop)

    def on_resize(self, event: events.Resize) -> None:
        """A stowed page's height was measured at its width: at another, show the pieces."""
        if self.stowed and event.size.width != self._stowed_width:
            self.unstow()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """Height from the cached arrangement: Textual arranges ``height: auto`` children at
        the height of the page's container (the growing reply), so every page was arranged
        again on every layout pass. The pieces do not depend on it; at height 0 the cache key
        stays, and a piece that changes still clears it (``refresh(layout=True)``)."""
        return super().get_content_height(Size(container.width, 0), viewport, width)
