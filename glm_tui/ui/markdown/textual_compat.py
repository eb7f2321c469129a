"""The places the reply's drawing depends on how Textual works inside.

Textual keeps, per widget, the strips it last rendered (``Widget._render_cache``,
private in Textual 8) for the life of the widget. A long reply is hundreds of
frozen pieces, and those strips would hold every rendered line of every piece
until the reply is closed. There is no public call that frees them:
``refresh()`` only marks the widget dirty, so the old strips stay until the
widget is drawn again, which for a piece far above the view is never.

Textual also lays the screen out twice for every change of a container's size:
in a layout pass each widget whose size changed gets ``virtual_size`` set, and
that reactive asks for another layout (``layout=True``). For a streaming reply
the growing tail, its page, the reply, the message and the conversation all
change size at every flush, so each flush cost two full passes, the second one
finding nothing to move. And each new arrangement of a container fills a
spatial map in cells of 20 lines, as many as its children are tall. Both are
avoided on the widgets that hold a reply (:class:`GrowingWidget`). Last, the
screen's frame timer waits needlessly after a pause (:func:`draw_without_delay`).

``tests/ui/markdown/test_textual_compat.py`` pins the Textual version this was
checked against and fails, naming what to re-check, when Textual changes.
"""

from __future__ import annotations

from typing import Any

from textual._spatial_map import SpatialMap
from textual.geometry import NULL_SIZE, Region, Size
from textual.layout import DockArrangeResult, WidgetPlacement
from textual.reactive import Reactive
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

__all__ = ["CHECKED_TEXTUAL_VERSION", "COARSE_GRID", "GrowingWidget", "draw_without_delay",
           "drop_render_cache", "quiet_virtual_size"]

COARSE_GRID = (1_000, 1_000)
"""Cells of the spatial map of a :class:`GrowingWidget`'s arrangement (Textual's: 100 x 20)."""

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


def quiet_virtual_size() -> Reactive[Size]:
    """``Widget.virtual_size`` without the layout (and repaint) its change requests.

    Declared as ``virtual_size = quiet_virtual_size()`` in a widget class. Only a layout
    pass sets a container's virtual size (``Widget._size_updated``), after it has placed
    everything at the new size, so the pass it asked for changed nothing; watchers still
    run. A scroll container keeps what matters: its scrollbars are updated in the same
    call, and one that appears or goes asks for its own layout (``show_vertical_scrollbar``
    is a layout reactive).
    """
    return Reactive(Size(0, 0), layout=False, repaint=False)


class GrowingWidget(Widget):
    """A widget that grows while a reply streams into it: the open tail and its page, the
    reply, its thinking block, its message, the conversation. A plain widget subclasses it;
    a Textual container puts it second: ``class MessageList(VerticalScroll, GrowingWidget)``.

    Two costs of Textual's layout grow with the length of the reply and are paid at every
    flush, which made streaming quadratic (and a third is paid for nothing, see
    :meth:`render_lines`):

    - ``virtual_size`` asks for a second, empty layout pass (see :func:`quiet_virtual_size`);
    - every new arrangement builds a spatial map (``DockArrangeResult.spatial_map``, also
      what its ``total_region``, so a container's height, is read from) in cells of 100 x 20:
      each child goes into every cell it covers, so a message 7,000 lines tall fills 700
      cells, at every level of nesting and at each size it is arranged at. The map only
      narrows down which children a region may show (``get_visible_placements`` filters
      them again), so coarser cells give the same answers: these widgets have few children,
      and in cells of ``COARSE_GRID`` a child covers one or two.
    """

    virtual_size = quiet_virtual_size()

    def arrange(self, size: Size, optimal: bool = False) -> DockArrangeResult:
        """Textual's arrangement, with a coarse spatial map (built once per arrangement)."""
        arrangement = super().arrange(size, optimal)
        if arrangement._spatial_map is None:
            arrangement._spatial_map = _coarse_map(arrangement.placements)
        return arrangement

    def render_lines(self, crop: Region) -> list[Strip]:
        """A container whose lines are all alike (its background, a left or right border)
        draws one with Textual's own code and repeats it.

        The reply's containers grow at every flush, a new size clears Textual's line cache,
        and each visible line was rendered, cached and filtered again at every layout pass:
        a fifth of the strips a streaming pass made, for lines that differ in nothing.
        """
        if not crop.height or not self._lines_alike():
            return super().render_lines(crop)
        line = super().render_lines(Region(crop.x, crop.y, crop.width, 1))
        return line * crop.height

    def _lines_alike(self) -> bool:
        """No top or bottom edge (border, outline, padding), keyline or hatch: a container
        draws every line the same (a child-less Textual container renders a blank)."""
        styles = self.styles
        (top, _), _, (bottom, _), _ = styles.border
        (outline_top, _), _, (outline_bottom, _), _ = styles.outline
        return (
            self.is_container
            and not (top or bottom or outline_top or outline_bottom)
            and not (styles.padding.top or styles.padding.bottom)
            and not styles.has_rule("keyline")
            and (not styles.has_rule("hatch") or styles.hatch == "none")
        )


def _coarse_map(placements: list[WidgetPlacement]) -> SpatialMap[WidgetPlacement]:
    """What ``DockArrangeResult.spatial_map`` builds, in cells of ``COARSE_GRID``."""
    spatial_map: SpatialMap[WidgetPlacement] = SpatialMap(*COARSE_GRID)
    spatial_map.insert(
        (placement.region.grow(placement.margin), placement.offset, placement.fixed,
         placement.overlay, placement)
        for placement in placements
    )
    return spatial_map


def draw_without_delay(screen: Screen[Any]) -> None:
    """Let ``screen`` draw the next frame as soon as something changed, also after a pause.

    Textual draws a screen from an interval timer (60 a second) that pauses while nothing
    changes. Resumed, it draws at once, but then, having skipped the intervals it slept
    through, it waits one to two whole intervals before the next frame (``Timer._run``:
    ``count = int((now - start) / interval + 1)`` is one slot past the next). While a reply
    streams the screen pauses between flushes, so a key typed just after a frame showed
    17-50 ms later, however idle the app (issue 10: key p95 under 50 ms). Without the skip
    the timer does not wait after a pause; changes made while a frame is drawn still share
    the next one.
    """
    screen._update_timer._skip = False
