"""The private Textual API the Markdown path uses, pinned to the version it was read against."""

from __future__ import annotations

import asyncio
from importlib.metadata import version
from types import SimpleNamespace

import pytest
import textual.timer
from textual._context import active_app
from textual.app import App, ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Region, Size
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from glm_tui.ui.markdown.textual_compat import (
    CHECKED_TEXTUAL_VERSION,
    GrowingWidget,
    draw_without_delay,
    drop_render_cache,
)
from tests.ui.conftest import wait_for


def test_textual_is_the_version_the_compat_module_was_checked_against() -> None:
    installed = version("textual")
    assert installed == CHECKED_TEXTUAL_VERSION, (
        f"Textual is now {installed}, glm_tui/ui/markdown/textual_compat.py was checked against "
        f"{CHECKED_TEXTUAL_VERSION}. Re-check in textual/widget.py that Widget._render_cache is "
        "still a _RenderCache(size, lines) NamedTuple that render_line() reads and "
        "_render_content() refills when the widget has dirty regions (refresh() adds them), "
        "Also that Widget.virtual_size is a Reactive set only by Widget._size_updated during a "
        "layout pass, and that DockArrangeResult still builds its spatial map lazily into "
        "_spatial_map from SpatialMap(grid_width, grid_height).insert(...) (GrowingWidget). "
        "Then run tests/ui/markdown/test_textual_compat.py and bump CHECKED_TEXTUAL_VERSION."
    )


class _App(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("first line\nsecond line", id="piece")


def _screen_text(app: App[None]) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_dropping_the_render_cache_frees_strips_and_the_widget_draws_again() -> None:
    app = _App()
    async with app.run_test(size=(40, 6)) as pilot:
        piece = app.query_one("#piece", Static)
        await wait_for(pilot, lambda: "second line" in _screen_text(app), what="first draw")
        assert len(piece._render_cache.lines) == 2  # what Textual keeps per widget

        drop_render_cache(piece)

        assert piece._render_cache.lines == []
        app.screen.refresh()
        await wait_for(pilot, lambda: len(piece._render_cache.lines) == 2, what="redraw")
        assert "second line" in _screen_text(app)


class _Growing(Vertical, GrowingWidget):
    DEFAULT_CSS = "_Growing { height: auto; }"


class _Plain(Vertical):
    DEFAULT_CSS = "_Plain { height: auto; }"


class _GrowingScroll(VerticalScroll, GrowingWidget):
    pass


class _GrowingStatic(Static, GrowingWidget):
    pass


class _TallApp(App[None]):
    """A reply 5,000 lines tall between two short ones, in a growing and a plain container
    (in the app: the reply's pieces, its pages, the reply, its message, the conversation)."""

    def compose(self) -> ComposeResult:
        with _GrowingScroll():
            for container in (_Growing(id="growing"), _Plain(id="plain")):
                with container:
                    yield _GrowingStatic("above", id=f"{container.id}-above")
                    yield Static("\n".join(f"line {n}" for n in range(5_000)),
                                 id=f"{container.id}-tall")
                    yield Static("below", id=f"{container.id}-below")


async def test_a_growing_container_maps_a_tall_child_into_a_few_cells_not_one_per_20_lines(
) -> None:
    app = _TallApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        growing, plain = app.query_one("#growing"), app.query_one("#plain")
        size = Size(118, 0)
        cells = {name: len(widget.arrange(size).spatial_map._map)
                 for name, widget in (("growing", growing), ("plain", plain))}
        assert cells["plain"] >= 5_000 // 20  # Textual's own: what every flush paid
        assert cells["growing"] <= 6, cells

        arrangement = growing.arrange(size)
        assert arrangement.total_region == plain.arrange(size).total_region
        for region, expected in ((Region(0, 0, 118, 3), {"growing-above", "growing-tall"}),
                                 (Region(0, 2_500, 118, 40), {"growing-tall"}),
                                 (Region(0, 5_000, 118, 5), {"growing-tall", "growing-below"})):
            shown = {placement.widget.id for placement in
                     arrangement.get_visible_placements(region)}
            assert shown == expected, (region, shown)


async def test_a_growing_widget_changing_size_asks_for_no_second_layout_pass() -> None:
    app = _TallApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        passes = 0

        def counted(_: object) -> None:
            nonlocal passes
            passes += 1

        app.screen.screen_layout_refresh_signal.subscribe(app.screen, counted, immediate=True)
        app.query_one("#growing-above", Static).update("above\nand a second line")
        await wait_for(pilot, lambda: passes >= 1, what="the layout pass of the new line")
        await pilot.pause()  # the screen settles: every pass it asked for is done
        assert app.query_one("#growing").size.height == 5_003
        assert passes == 1


class _Bordered(Vertical, GrowingWidget):
    DEFAULT_CSS = "_Bordered { height: auto; border-left: vkey $foreground 20%; padding: 0 1; }"


class _Boxed(Vertical, GrowingWidget):
    DEFAULT_CSS = "_Boxed { height: auto; border: round $accent; padding: 1 1; }"


class _BackgroundsApp(App[None]):
    def compose(self) -> ComposeResult:
        with _GrowingScroll(id="scroll"):
            with _Growing(id="plain"):
                yield Static("in a plain container\n" * 30)  # the scroll bar shows
            with _Bordered(id="bordered"):
                yield Static("in a bordered one")
            with _Boxed(id="boxed"):  # top and bottom edges: Textual draws it all
                yield Static("in a box\nof three\nlines")


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light", "ansi-dark", "nord"])
async def test_a_growing_container_draws_exactly_what_textual_draws_for_it(theme: str) -> None:
    app = _BackgroundsApp()
    async with app.run_test(size=(60, 10)) as pilot:
        app.theme = theme
        await pilot.pause()
        for name in ("scroll", "plain", "bordered", "boxed"):
            widget = app.query_one(f"#{name}", GrowingWidget)
            crop = Region(0, 1, widget.size.width, min(widget.size.height - 1, 6))
            ours = widget.render_lines(crop)
            widget.refresh()  # Textual's own path renders the lines again
            textuals = Widget.render_lines(widget, crop)
            assert [list(strip) for strip in ours] == [list(strip) for strip in textuals], name
        assert app.query_one("#scroll").show_vertical_scrollbar


class _Target:
    """What a timer is attached to (only referred to weakly)."""


async def _frame_gap_after_a_pause(monkeypatch: pytest.MonkeyPatch, skip: bool) -> float:
    """How long Textual's frame timer (as ``Screen`` makes it: 60 a second, paused while idle)
    waits between two frames, changes arriving right after a pause and right after a frame.
    A fake clock: nothing here depends on how busy the machine is."""
    clock = [1_000.0]
    frames: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        clock[0] += seconds
        await asyncio.sleep(0)

    monkeypatch.setattr(textual.timer, "sleep", fake_sleep)
    monkeypatch.setattr(textual.timer, "_time", SimpleNamespace(get_time=lambda: clock[0]))
    errors: list[BaseException] = []
    app = SimpleNamespace(_exit=False, features=frozenset(), _handle_exception=errors.append)
    token = active_app.set(app)  # type: ignore[arg-type]  # what a timer's tick reads

    def draw() -> None:  # Screen._on_timer_update: pause, then draw (10 ms)
        timer.pause()
        frames.append(clock[0])
        clock[0] += 0.010

    target = _Target()
    timer = Timer(target, 1 / 60, name="screen_update", callback=draw, pause=True, skip=skip)
    timer._start()
    try:
        for count, idle in enumerate((0.0, 1.0, 0.0), start=1):
            clock[0] += idle  # 1: the first change; 2: one after a second of nothing
            timer.resume()  # 3: a key, right after that frame
            await wait_for(None, lambda n=count: len(frames) == n, what=f"frame {count}")
    finally:
        timer.stop()
        active_app.reset(token)
    assert not errors
    return frames[2] - (frames[1] + 0.010)


async def test_textuals_frame_timer_waits_an_extra_interval_after_a_pause_unless_told_not_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Screen's own timer (skip=True): the frame after a pause holds the next one back
    # between one and two intervals (17-33 ms at 60 a second), with nothing else to do.
    assert await _frame_gap_after_a_pause(monkeypatch, skip=True) >= 1 / 60
    # What draw_without_delay sets: the next frame is drawn when the loop is free.
    assert await _frame_gap_after_a_pause(monkeypatch, skip=False) == 0


async def test_draw_without_delay_is_what_the_screen_timer_reads() -> None:
    app = _BackgroundsApp()
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        assert app.screen._update_timer._skip  # Textual's default
        draw_without_delay(app.screen)
        assert not app.screen._update_timer._skip
        app.query_one("#plain Static", Static).update("still drawn")
        await wait_for(pilot, lambda: "still drawn" in _screen_text(app), what="a frame")
