"""What a streaming reply costs the screen in layout passes.

Every layout pass of the conversation walks every widget on the screen and redraws what moved,
so while a reply streams the passes are most of the app's work, and the keys typed meanwhile
wait behind them (issue 10, "Speed": key presses p95 under 50 ms, CPU linear in length). A
flush of the reply may cost one pass; nothing else that changes while it streams (the status
bar's figures, a summary line) should cost one at all. Passes are counted with the screen's
public ``screen_layout_refresh_signal``, published once per pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.screen import Screen

import glm_tui.ui
from glm_tui.chat.reply_tracker import ReplyStats
from glm_tui.model.session import Message, MessageStatus, Role
from glm_tui.ui.widgets.message_view import AssistantMessageView, MessageList
from glm_tui.ui.widgets.status_bar import StatusBar
from tests.support.waiting import wait_for

PARAGRAPH = "A sentence of reasoning that goes on for a while, as models write them. " * 3


class _Conversation(App[None]):
    """The conversation's reply path: the scrolling list and the status bar under it."""

    CSS_PATH = Path(glm_tui.ui.__file__).parent / "styles" / "conversation.tcss"

    def compose(self) -> ComposeResult:
        yield MessageList(id="messages")
        yield StatusBar(id="status")


class _PassCounter:
    def __init__(self, screen: Screen[Any]) -> None:
        self.passes = 0
        screen.screen_layout_refresh_signal.subscribe(screen, self._counted, immediate=True)

    def _counted(self, _: Screen[Any]) -> None:
        self.passes += 1


def _screen_text(app: App[None]) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_each_flush_of_a_streaming_reply_costs_one_layout_pass_not_two() -> None:
    app = _Conversation()
    async with app.run_test(size=(100, 30)) as pilot:
        messages = app.query_one(MessageList)
        reply = Message(Role.ASSISTANT, status=MessageStatus.STREAMING)
        view = await messages.append(reply)
        assert isinstance(view, AssistantMessageView)
        await wait_for(pilot, lambda: "waiting" in _screen_text(app), what="the reply's header")
        counter = _PassCounter(app.screen)
        flushes = view.markdown.flushes
        rounds = 12
        for number in range(rounds):
            view.write(f"Paragraph {number}. {PARAGRAPH}\n\n")
            await wait_for(pilot, lambda n=number: f"Paragraph {n}." in _screen_text(app),
                           what=f"paragraph {number} on screen")
            await pilot.pause()  # the screen settles: every pass it asked for is done
        flushed = view.markdown.flushes - flushes
        assert flushed >= rounds
        # Textual asked for a second pass after each one (the reply's containers changed
        # size, and ``virtual_size`` is a layout reactive): about 2 per flush before.
        assert counter.passes <= flushed + 3, (counter.passes, flushed)


async def test_the_status_bar_figures_change_without_a_layout_pass() -> None:
    app = _Conversation()
    async with app.run_test(size=(100, 30)) as pilot:
        status = app.query_one(StatusBar)
        await wait_for(pilot, lambda: "checking" in _screen_text(app), what="the status bar")
        await pilot.pause()
        counter = _PassCounter(app.screen)
        for tokens in range(100, 110):
            status.stats = ReplyStats(completion_tokens=tokens, prompt_tokens=None,
                                      estimated=True, first_token_s=0.5, tokens_per_s=42.0,
                                      reasoning_tokens=tokens // 2)
            await pilot.pause()  # the screen settles: every pass it asked for is done
            assert f"~{tokens} tok (~{tokens // 2} thinking)" in _screen_text(app)
        assert counter.passes == 0, counter.passes  # 5 times a second while a reply streams
