"""Message views removed while they are still mounting (a session switched, or Ctrl+N pressed,
while a session's messages were being drawn) go quietly: Textual removes their children first
and their Mount comes after, which raised NoMatches and stopped the app."""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

from glm_tui.model.session import Message, MessageStatus, Role, ToolCall
from glm_tui.ui.widgets.message_view import view_for


def every_kind() -> list[Message]:
    return [
        Message(Role.USER, "a question"),
        Message(Role.ASSISTANT, "an answer", reasoning="a thought"),
        Message(Role.ASSISTANT, "", tool_calls=[ToolCall("c1", "weather", '{"city": "Oslo"}')]),
        Message(Role.TOOL, '{"temp": 3}', tool_call_id="c1", name="weather"),
        Message(Role.ASSISTANT, "half", status=MessageStatus.FAILED, error="HTTP 500"),
    ] * 4


class Conversation(App[None]):
    def compose(self) -> ComposeResult:
        yield VerticalScroll(id="messages")


@pytest.mark.parametrize("turns", range(6))
async def test_views_removed_while_mounting_go_quietly(turns: int) -> None:
    """Removed after ``turns`` turns of the event loop, each at another step of mounting (turns,
    not time: a busy machine changes nothing). Before the fix, removal at once failed every
    time; in the app it showed as a crash when sessions were switched quickly."""
    app = Conversation()
    async with app.run_test() as pilot:
        messages = app.query_one("#messages")
        messages.mount_all([view_for(message) for message in every_kind()])
        for _ in range(turns):
            await asyncio.sleep(0)
        await messages.remove_children()
        await pilot.pause()
        assert not messages.children
    assert app.return_code in (None, 0)  # run_test re-raises what stopped the app
