"""What everyday use asked of the conversation screen (issue 12): scrolling from the prompt and
finding a streaming reply again.

:class:`EverydayConversation` sits between :class:`ConversationBase` (the session, its store and
widgets) and :class:`~glm_tui.ui.screens.conversation.ConversationScreen` (sending, replies,
editing). Its keys are declared here, once, with their ids (the README's Conversation table
lists them with the screen's own).

Scrolling: PageUp / PageDown and Ctrl+Home / Ctrl+End move the conversation while the prompt
keeps the focus and what is typed in it. The list follows a streaming reply until the person
scrolls up; then :class:`~glm_tui.ui.widgets.jump_to_latest.JumpToLatest` says the reply goes on
below, and Ctrl+End or a click on it goes back to the end and follows again.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events, on
from textual.binding import Binding, BindingType
from textual.worker import Worker

from glm_tui.ui.screens.conversation_base import ConversationBase
from glm_tui.ui.widgets.jump_to_latest import JumpToLatest

FOLLOW_SLACK = 1.0
"""Rows the view may be above its end and still count as following the reply."""


class EverydayConversation(ConversationBase):
    """Scrolling from the prompt and the jump to the latest text (see the module docstring)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("pageup", "messages_page_up", "Page up", show=False,
                id="conversation.page_up",
                tooltip="Scroll the conversation up a page (the prompt keeps what you type)"),
        Binding("pagedown", "messages_page_down", "Page down", show=False,
                id="conversation.page_down", tooltip="Scroll the conversation down a page"),
        Binding("ctrl+home", "messages_top", "Top", show=False, id="conversation.scroll_top",
                tooltip="Scroll to the start of the conversation (older messages load there)"),
        Binding("ctrl+end", "messages_latest", "Latest", show=False,
                id="conversation.scroll_latest",
                tooltip="Scroll to the latest message and follow a streaming reply again"),
    ]

    @property
    def jump_hint(self) -> JumpToLatest:
        return self.query_one(JumpToLatest)

    @on(events.Mount)
    def _follow_scrolling(self) -> None:
        # The view moved, or the text grew under a view that stays (scrolled up before the
        # reply filled a page). While the list follows the reply, Textual moves it to the end
        # during layout, before either watcher runs: the hint does not flicker.
        self.watch(self.messages, "scroll_y", self.refresh_jump_hint, init=False)
        self.watch(self.messages, "virtual_size", self.refresh_jump_hint, init=False)

    # -- scrolling from the prompt ------------------------------------------------------------

    def action_messages_page_up(self) -> None:
        self.messages.scroll_page_up()

    def action_messages_page_down(self) -> None:
        self.messages.scroll_page_down()

    def action_messages_top(self) -> None:
        self.messages.scroll_home()

    def action_messages_latest(self) -> None:
        """To the end, following a streaming reply again (the list's anchor takes hold)."""
        self.messages.scroll_end(animate=False)  # animated, the way down would show the hint
        self.jump_hint.display = False

    @on(JumpToLatest.Pressed)
    def _jump_pressed(self) -> None:
        self.action_messages_latest()

    # -- the hint ------------------------------------------------------------------------------

    @property
    def reply_streaming(self) -> bool:
        """A reply's worker is still running (drawing included)."""
        return any(w.group == "reply" and not w.is_finished for w in self.workers)

    def refresh_jump_hint(self) -> None:
        """Show the hint while a reply streams and the view is above the end, else hide it."""
        messages = self.messages
        away = messages.max_scroll_y - messages.scroll_y > FOLLOW_SLACK
        self.jump_hint.display = away and self.reply_streaming

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "reply":
            self.refresh_jump_hint()
