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
from textual.widget import Widget

import glm_tui.ui
from glm_tui.chat.reply_tracker import ReplyStats
from glm_tui.model.session import Message, MessageStatus, Role
from glm_tui.ui.markdown.widget import FrozenPage, ProseBlock
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


def _displayed(widget: Widget) -> int:
    """Widgets under ``widget`` that a layout pass visits (hidden ones and theirs are skipped)."""
    return sum(1 + _displayed(child) for child in widget.children if child.display)


async def test_a_long_reply_keeps_pages_out_of_view_out_of_layout_and_loses_no_word() -> None:
    app = _Conversation()
    async with app.run_test(size=(100, 30)) as pilot:
        messages = app.query_one(MessageList)
        view = await messages.append(Message(Role.ASSISTANT, status=MessageStatus.STREAMING))
        assert isinstance(view, AssistantMessageView)
        paragraphs = [f"Marker{number:03d} {PARAGRAPH}\n\n" for number in range(600)]  # ~140 KB
        early: int | None = None
        for start in range(0, len(paragraphs), 30):  # ~7 KB a flush
            flushes = view.markdown.flushes
            view.write("".join(paragraphs[start : start + 30]))
            await wait_for(pilot, lambda f=flushes: view.markdown.flushes > f, what="a flush")
            await pilot.pause()
            if early is None and len(view.markdown.query(FrozenPage)) >= 3:
                early = _displayed(view.markdown)
        await view.finish()
        await pilot.pause()
        pages = list(view.markdown.query(FrozenPage))
        assert len(pages) >= 5
        assert sum(page.stowed for page in pages) >= len(pages) - 3
        assert early is not None and _displayed(view.markdown) <= early + 10, (
            early, _displayed(view.markdown))  # not ~7 more widgets a page, as before
        pieces = "".join(block.source for block in view.markdown.query(ProseBlock))
        assert pieces == "".join(paragraphs)  # stowed pieces are hidden, never dropped

        messages.scroll_home(animate=False)
        await wait_for(pilot, lambda: "Marker000" in _screen_text(app), what="the first paragraph")
        assert not pages[0].stowed
        await pilot.resize_terminal(80, 30)  # another width: every height is measured again
        await wait_for(pilot, lambda: not any(page.stowed for page in pages), what="pages back")
        messages.scroll_end(animate=False)
        await wait_for(pilot, lambda: "Marker599" in _screen_text(app), what="the last paragraph")
