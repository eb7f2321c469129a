"""The one place the Markdown path touches a private Textual API.

Textual keeps, per widget, the strips it last rendered (``Widget._render_cache``,
private in Textual 8) for the life of the widget. A long reply is hundreds of
frozen pieces, and those strips would hold every rendered line of every piece
until the reply is closed. There is no public call that frees them:
``refresh()`` only marks the widget dirty, so the old strips stay until the
widget is drawn again, which for a piece far above the view is never.

``tests/ui/markdown/test_textual_compat.py`` pins the Textual version this was
checked against and fails, naming what to re-check, when Textual changes.
"""

from __future__ import annotations

from textual.geometry import NULL_SIZE
from textual.widget import Widget

__all__ = ["CHECKED_TEXTUAL_VERSION", "drop_render_cache"]

CHECKED_TEXTUAL_VERSION = "8.2.8"
"""The Textual release whose ``Widget._render_cache`` / ``_RenderCache`` this
module was read against."""


def drop_render_cache(widget: Widget) -> None:
    """Mark ``widget`` for repaint and free the strips Textual keeps for it.

    The next time the widget is visible Textual renders it again (``refresh``
    leaves dirty regions, and ``render_line`` re-renders when it has any), so
    this only costs a re-render if the piece is ever scrolled back into view.
    """
    widget.refresh()
    cache = widget._render_cache
    widget._render_cache = cache._replace(size=NULL_SIZE, lines=[])
