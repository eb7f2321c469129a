"""The thinking block on its own, in a real (headless) app: what a person sees of the reasoning.

The conversation's flows (a thinking reply from a real server, resume, the key) are in
``test_thinking.py``; here the block's own promises: it streams, folds to one line when the answer
starts, opens and folds on a click, draws hostile text literally, and keeps a reply that was all
thinking readable.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult

from glm_tui.settings.config import ThinkingDisplay
from glm_tui.ui.widgets.thinking_block import (
    ThinkingBlock,
    ThinkingEnd,
    figures_text,
    summary_text,
)
from tests.support.waiting import click, wait_for


class _App(App[None]):
    def __init__(self, block: ThinkingBlock) -> None:
        super().__init__()
        self.block = block

    def compose(self) -> ComposeResult:
        yield self.block


def screen_text(app: App[Any]) -> str:
    return "\n".join(strip.text.rstrip() for strip in app.screen._compositor.render_strips())


def test_the_one_line_says_how_long_and_how_many_tokens() -> None:
    assert summary_text(ThinkingEnd.ANSWERED, 12.44, 830, True) == \
        "Thought for 12.4 s · ~830 tokens"
    assert summary_text(ThinkingEnd.ANSWERED, 3.0, 1, False) == "Thought for 3.0 s · 1 token"
    assert summary_text(ThinkingEnd.LIVE, 2.5, None, True) == "Thinking… 2.5 s"
    assert summary_text(ThinkingEnd.ALL_THINKING, 4.0, 10, True).endswith(
        "the reply was all thinking: no answer came")
    assert summary_text(ThinkingEnd.STOPPED, 1.0, 5, True, stopped_as="cancelled") == \
        "Thinking stopped (cancelled) after 1.0 s · ~5 tokens"
    assert summary_text(ThinkingEnd.ANSWERED, None, 12_345, False) == "Thought · 12,345 tokens"
    assert figures_text(None, None, True) == ""


async def test_streams_live_then_folds_to_one_line_when_the_answer_starts() -> None:
    block = ThinkingBlock(display=ThinkingDisplay.COLLAPSE, live=True)
    app = _App(block)
    async with app.run_test(size=(80, 24)) as pilot:
        block.write("Let me weigh ")
        block.write("the first option.")
        await wait_for(pilot, lambda: "the first option." in screen_text(app),
                       what="the reasoning on screen while it streams")
        assert "Thinking…" in screen_text(app)
        block.set_figures(42, estimated=True)
        block.answer_started()
        await wait_for(pilot, lambda: "the first option." not in screen_text(app),
                       what="the block to fold")
        text = screen_text(app)
        assert "▸ Thought for" in text and "~42 tokens" in text
        assert block.text == "Let me weigh the first option."


async def test_a_click_on_the_line_opens_and_folds_it() -> None:
    block = ThinkingBlock("Stored reasoning, never opened.", display=ThinkingDisplay.COLLAPSE,
                          live=False, seconds=12.4, tokens=830, estimated=False)
    app = _App(block)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "Thought for 12.4 s · 830 tokens" in screen_text(app),
                       what="the one line")
        assert block.body is None  # nothing is built for a block nobody opened
        await click(pilot, "ThinkingSummary")
        await wait_for(pilot, lambda: "Stored reasoning, never opened." in screen_text(app),
                       what="the reasoning after a click")
        assert "▾ Thought" in screen_text(app)
        await click(pilot, "ThinkingSummary")
        await wait_for(pilot, lambda: "Stored reasoning" not in screen_text(app),
                       what="the block folded again")


async def test_show_keeps_it_open_and_hide_never_draws_it_unasked() -> None:
    shown = ThinkingBlock(display=ThinkingDisplay.SHOW, live=True)
    app = _App(shown)
    async with app.run_test(size=(80, 24)) as pilot:
        shown.write("visible thought")
        shown.answer_started()
        await wait_for(pilot, lambda: "visible thought" in screen_text(app),
                       what="show: the reasoning stays after the answer started")
        assert shown.expanded
    hidden = ThinkingBlock(display=ThinkingDisplay.HIDE, live=True)
    app = _App(hidden)
    async with app.run_test(size=(80, 24)) as pilot:
        hidden.write("secret thought")
        await wait_for(pilot, lambda: "▸ Thinking…" in screen_text(app), what="the one line")
        await pilot.pause()
        assert "secret thought" not in screen_text(app)
        assert hidden.body is None
        hidden.toggle()
        await wait_for(pilot, lambda: "secret thought" in screen_text(app),
                       what="hide: the reasoning once asked for")
        hidden.write(" and more")  # still streaming into the opened block
        await wait_for(pilot, lambda: "secret thought and more" in screen_text(app),
                       what="later reasoning in the opened block")


@pytest.mark.parametrize("end, words", [
    (ThinkingEnd.ALL_THINKING, "the reply was all thinking"),
    (ThinkingEnd.STOPPED, "Thinking stopped (cancelled)"),
])
async def test_a_reply_without_an_answer_keeps_its_reasoning_open(end: ThinkingEnd,
                                                                  words: str) -> None:
    block = ThinkingBlock(display=ThinkingDisplay.COLLAPSE, live=True)
    app = _App(block)
    async with app.run_test(size=(100, 24)) as pilot:
        block.write("half a thought")
        block.ended(end, seconds=2.0, stopped_as="cancelled")
        await block.finish()
        await wait_for(pilot, lambda: words in screen_text(app)
                       and "half a thought" in screen_text(app), what=words)
        assert block.expanded


async def test_markup_and_escape_sequences_in_reasoning_are_drawn_literally() -> None:
    hostile = "[bold red]not bold[/] [@click=app.quit]quit[/] \x1b]52;c;aGk=\x07 \x1b[31mred"
    block = ThinkingBlock(display=ThinkingDisplay.SHOW, live=True)
    app = _App(block)
    async with app.run_test(size=(120, 24)) as pilot:
        block.write(hostile)
        await block.finish()
        await wait_for(pilot, lambda: "[bold red]not bold[/]" in screen_text(app),
                       what="the markup as typed")
        text = screen_text(app)
        assert "[@click=app.quit]quit[/]" in text
        assert "\x1b" not in text
        assert app.is_running  # nothing ran app.quit


async def test_the_one_line_stays_one_line_on_a_narrow_screen() -> None:
    block = ThinkingBlock("x", display=ThinkingDisplay.COLLAPSE, live=False, seconds=12.4,
                          tokens=830)
    block.ended(ThinkingEnd.ALL_THINKING)
    block.set_expanded(False)
    app = _App(block)
    async with app.run_test(size=(30, 6)) as pilot:
        await wait_for(pilot, lambda: "Thought for" in screen_text(app), what="the line")
        first, second = screen_text(app).split("\n")[:2]
        assert first.startswith("▸ Thought for 12.4 s") and first.endswith("…")
        assert second.strip() == ""
