"""Dialogs show their own keys, and the sampling settings fit the terminal (issue 12 item 11).

Over an open dialog the Footer kept showing the conversation's keys (``^r Regenerate``) although
Ctrl+R there resets a field; and at 120x40 the sampling dialog hid "Save as preset", "Save as my
defaults" and its help line below the fold, with nothing saying there was more. What is checked
here is what is drawn: the screen's own text, as the terminal shows it.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from textual.app import App
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widget import Widget

from glm_tui.ui.dialogs.system_prompt import SystemPromptModal
from glm_tui.ui.screens.sampling import SamplingScreen
from tests.ui.conftest import make_app, ready, wait_for

CONTROLS = ("#field-temperature", "#field-stop", "#presets", "#apply-preset", "#delete-preset",
            "#preset-name", "#save-preset", "#save-defaults", "#keys-help")


def drawn_text(app: App[Any]) -> str:
    """Every character on the screen, as the terminal shows it (from the exported SVG)."""
    svg = app.export_screenshot()
    return unescape(" ".join(re.findall(r">([^<>]*)</text>", svg))).replace("\xa0", " ")


def on_screen(widget: Widget, box: Widget) -> bool:
    """Whether ``widget`` is drawn whole inside ``box``'s visible content (no line or column of
    it cut off: a button's label cut at 80 columns counts as hidden)."""
    visible = box.content_region
    region = widget.region
    return (bool(region) and region.y >= visible.y and region.bottom <= visible.bottom
            and region.x >= visible.x and region.right <= visible.right)


async def open_sampling(pilot: Pilot[Any]) -> SamplingScreen:
    await ready(pilot)
    await pilot.press("ctrl+t")
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, SamplingScreen)
                   and app.screen.query_one("#field-temperature").has_focus,
                   what="the sampling dialog")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, SamplingScreen)
    return screen


async def test_over_the_sampling_dialog_the_footer_shows_its_keys(glm4_server: str) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_sampling(pilot)
        await wait_for(pilot, lambda: "Reset field" in drawn_text(app), what="the dialog's keys")
        shown = drawn_text(app)
        assert "Regenerate" not in shown and "Sessions" not in shown  # the conversation's keys


async def test_over_the_system_prompt_dialog_the_footer_shows_its_keys(glm4_server: str) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, SystemPromptModal))
        await wait_for(pilot, lambda: "Regenerate" not in drawn_text(app),
                       what="the conversation's keys gone from the Footer")


async def test_the_sampling_dialog_shows_every_control_at_120x40(glm4_server: str) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_sampling(pilot)
        box = screen.query_one("#sampling-box", VerticalScroll)
        assert box.max_scroll_y == 0, "the dialog scrolls at 120x40"
        for selector in CONTROLS:
            assert on_screen(screen.query_one(selector), box), selector


@pytest.mark.parametrize("control", ["#save-preset", "#save-defaults", "#keys-help"])
async def test_at_80x24_the_dialog_scrolls_visibly_to_every_control(glm4_server: str,
                                                                    control: str) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_sampling(pilot)
        box = screen.query_one("#sampling-box", VerticalScroll)
        assert box.region.bottom <= 24 - 1  # the box ends above the Footer's line
        if box.max_scroll_y:
            assert box.show_vertical_scrollbar  # there is more, and it shows
        widget = screen.query_one(control)
        box.scroll_to_widget(widget, animate=False)
        await wait_for(pilot, lambda: on_screen(widget, box), what=f"{control} scrolled to")
