"""Scrolling the conversation from the prompt, and finding a streaming reply again (issue 12).

PageUp / PageDown and Ctrl+Home / Ctrl+End move the conversation while the prompt keeps the
focus and its text; scrolled up while a reply streams, a line says so, and Ctrl+End or a click on
it goes back to the end and follows the reply again.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from glm_tui.ui.app import GlmTuiApp
from glm_tui.ui.screens.conversation import ConversationScreen
from glm_tui.ui.widgets.message_view import MessageList
from tests.support.waiting import click
from tests.ui.conftest import ask, ready, send, wait_for, wait_reply_done

SIZE = (100, 30)
LONG = "\n\n".join(f"Paragraph {n}: the river runs past the mill." for n in range(1, 41))


def _at_end(messages: MessageList) -> bool:
    return messages.max_scroll_y > 0 and messages.scroll_y >= messages.max_scroll_y - 1


async def _long_conversation(pilot: Pilot[Any]) -> ConversationScreen:
    screen = await ready(pilot)
    await ask(pilot, f"[[demo:say={LONG}]]")
    await ask(pilot, f"[[demo:say={LONG}]]")
    await wait_for(pilot, lambda: _at_end(screen.messages), what="the view at the end")
    return screen


async def test_page_keys_scroll_the_conversation_while_the_prompt_keeps_focus_and_text(
    glm4_app: GlmTuiApp,
) -> None:
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await _long_conversation(pilot)
        messages = screen.messages
        await pilot.press(*"draft")
        bottom = messages.scroll_y

        await pilot.press("pageup")
        await wait_for(pilot, lambda: messages.scroll_y < bottom - 5, what="a page up")
        await pilot.press("pageup")
        await wait_for(pilot, lambda: messages.scroll_y < bottom - 30, what="another page up")
        up = messages.scroll_y
        await pilot.press("pagedown")
        await wait_for(pilot, lambda: messages.scroll_y > up + 5, what="a page down")
        await pilot.press("ctrl+home")
        await wait_for(pilot, lambda: messages.scroll_y == 0, what="the top")
        await pilot.press("ctrl+end")
        await wait_for(pilot, lambda: _at_end(messages), what="the end again")

        assert screen.prompt.has_focus
        assert screen.prompt.text == "draft"
        assert screen.prompt.cursor_location == (0, 5)


async def test_scrolled_up_while_a_reply_streams_a_hint_jumps_back_and_follows_again(
    glm4_app: GlmTuiApp,
) -> None:
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await _long_conversation(pilot)
        messages = screen.messages
        hint = screen.jump_hint
        assert not hint.display

        await send(pilot, "[[demo:rate=100]] [[demo:size=40000]] A long answer, please.")
        await wait_for(pilot, lambda: screen.reply_streaming, what="the reply to start")
        await pilot.press("pageup")
        await wait_for(pilot, lambda: hint.display, what="the jump-to-latest hint")
        # Scrolled up, the view stays where the person put it while the reply grows.
        held = messages.scroll_y
        height = messages.virtual_size.height
        await wait_for(pilot, lambda: messages.virtual_size.height > height + 2,
                       what="the reply to grow")
        assert messages.scroll_y == held

        await click(pilot, "#jump-to-latest")
        await wait_for(pilot, lambda: not hint.display and _at_end(messages),
                       what="the view back at the end")
        height = messages.virtual_size.height
        await wait_for(pilot, lambda: messages.virtual_size.height > height + 2,
                       what="the reply to grow again")
        await wait_for(pilot, lambda: _at_end(messages), what="the view following the reply")

        await pilot.press("pageup")
        await wait_for(pilot, lambda: hint.display, what="the hint again")
        await pilot.press("ctrl+end")
        await wait_for(pilot, lambda: not hint.display and _at_end(messages),
                       what="Ctrl+End to jump back")
        assert screen.reply_streaming
        await pilot.press("pageup")
        await wait_for(pilot, lambda: hint.display, what="the hint once more")
        await pilot.press("escape")  # the reply ends (cancelled): nothing streams below
        await wait_reply_done(pilot)
        await wait_for(pilot, lambda: not hint.display, what="the hint gone with the reply")
