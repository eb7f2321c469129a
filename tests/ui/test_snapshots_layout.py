"""The conversation at small and usual sizes (issue 12, item 12): Footer and status bar.

At 80 columns Textual's Footer cut off Sessions, Request and Quit, and its compact palette key left
the cell at the screen's right edge to whatever key was scrolled under it (``▏^p palettei``); at
120 columns the status bar was cut in the middle of a figure (``TTFT 0.31…``). The Footer now
leaves out its least important keys first, and the status bar its least important figures.

The pictures (pytest-textual-snapshot, same fixed place as ``test_snapshots.py``) show both at
120x40 and 80x24; the other tests read the drawn rows as text, across resizes.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from glm_tui.chat.reply_tracker import ReplyStats
from glm_tui.model.sampling import SamplingParams
from glm_tui.ui.app import GlmTuiApp
from glm_tui.ui.screens.conversation import ConversationScreen
from tests.ui.conftest import ask, ready
from tests.ui.test_snapshots import (
    SIZES,
    _conversation_ready,
    _settle,
    _snap,
    fixed_place,
)

__all__ = ["fixed_place"]  # the fixture, shared with test_snapshots.py

FIGURES = ReplyStats(completion_tokens=412, prompt_tokens=1187, estimated=True,
                     first_token_s=0.31, tokens_per_s=58.4)
"""Fixed figures, so the picture does not depend on how fast the machine streamed."""


def _rows(pilot: Pilot[Any]) -> list[str]:
    """The rows the screen draws now, as text."""
    return [strip.text for strip in pilot.app.screen._compositor.render_strips()]


@SIZES
def test_conversation_footer_and_status_bar(snap_compare: Any, fixed_place: str,
                                            size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await _conversation_ready(pilot)
        assert isinstance(screen, ConversationScreen)
        screen.status.stats = FIGURES
        await _settle(pilot)

    _snap(snap_compare, fixed_place, size, run_before)


async def test_the_footer_keeps_sessions_request_and_quit_and_no_stray_character(
    glm4_app: GlmTuiApp,
) -> None:
    async with glm4_app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        for width, height in [(120, 40), (80, 24), (120, 40), (80, 24)]:
            await pilot.resize_terminal(width, height)
            await pilot.pause()
            await pilot.wait_for_scheduled_animations()
            footer = _rows(pilot)[-1]
            assert len(footer) == width
            for entry in ("^o Sessions", "f2 Request", "^q Quit", "^p palette"):
                assert entry in footer, f"{entry!r} is not in the Footer at {width}: {footer!r}"
            assert footer.rstrip().endswith("▏^p palette"), (
                f"the Footer's right edge at {width} columns: {footer[-14:]!r}")


@pytest.mark.parametrize(("width", "sampling"), [
    (120, SamplingParams(temperature=0.4, top_p=0.8, max_tokens=256, presence_penalty=0.5,
                         frequency_penalty=0.3, seed=42)),
    (80, SamplingParams(temperature=0.4, top_p=0.8, max_tokens=256, presence_penalty=0.5)),
], ids=["120", "80"])
async def test_the_status_bar_leaves_out_figures_instead_of_cutting_one(
    glm4_app: GlmTuiApp, width: int, sampling: SamplingParams,
) -> None:
    async with glm4_app.run_test(size=(width, 30)) as pilot:
        screen = await ready(pilot)
        screen.apply_sampling(sampling)
        await ask(pilot, "[[demo:rate=400]] Tell me about the layout of a status bar, please.")
        await pilot.pause()
        bar = _rows(pilot)[-2]
        assert "…" not in bar, f"the status bar is cut at {width} columns: {bar!r}"
        assert sampling.summary() in bar
        full = screen.status.plain  # without a width, nothing is left out
        assert "TTFT" in full and "tok/s" in full
        if width == 120:
            # Time to first token is the first figure to go, the token counts the last.
            assert " tok · " in bar and "TTFT" not in bar, bar
