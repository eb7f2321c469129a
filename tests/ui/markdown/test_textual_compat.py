"""The private Textual API the Markdown path uses, pinned to the version it was read against."""

from __future__ import annotations

from importlib.metadata import version

from textual.app import App, ComposeResult
from textual.widgets import Static

from glm_tui.ui.markdown.textual_compat import CHECKED_TEXTUAL_VERSION, drop_render_cache
from tests.ui.conftest import wait_for


def test_textual_is_the_version_the_compat_module_was_checked_against() -> None:
    installed = version("textual")
    assert installed == CHECKED_TEXTUAL_VERSION, (
        f"Textual is now {installed}, glm_tui/ui/markdown/textual_compat.py was checked against "
        f"{CHECKED_TEXTUAL_VERSION}. Re-check in textual/widget.py that Widget._render_cache is "
        "still a _RenderCache(size, lines) NamedTuple that render_line() reads and "
        "_render_content() refills when the widget has dirty regions (refresh() adds them), "
        "then run tests/ui/markdown/test_textual_compat.py and bump CHECKED_TEXTUAL_VERSION."
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
