"""A reply on the conversation screen while it arrives: the screen's side of a chat turn.

:class:`glm_tui.chat.turn.Turn` decides everything about a reply (its status, figures, the
autosave cadence, the connection state); :class:`ReplyDrawer` is the
:class:`~glm_tui.chat.turn.TurnView` that draws those updates into the reply's widget, the status
bar and the store, and finishes drawing when the turn ends. The screen is reached through
:class:`ReplyHost`, not imported, so the two modules do not depend on each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from textual.app import App

from glm_tui.chat.reply_tracker import ReplyStats
from glm_tui.chat.turn import Link, Turn, TurnOutcome
from glm_tui.model.session import MessageStatus
from glm_tui.storage.recorder import SessionRecorder
from glm_tui.ui.widgets.message_view import AssistantMessageView
from glm_tui.ui.widgets.status_bar import ConnectionState, StatusBar


class ReplyHost(Protocol):
    """What drawing a reply needs from the conversation screen."""

    @property
    def app(self) -> App[Any]: ...

    @property
    def is_attached(self) -> bool: ...

    @property
    def status(self) -> StatusBar: ...

    @property
    def recorder(self) -> SessionRecorder: ...

    def record(self, write: Callable[[], object]) -> None:
        """Run one recorder call; a failure is shown, never fatal to the chat."""

    def set_connection(self, state: ConnectionState, detail: str) -> None: ...

    def reply_ended(self, turn: Turn) -> None:
        """The reply is stored: the prompt is free for the next question."""

    def after_reply(self) -> Awaitable[None]:
        """The reply called tools: go on with the tool loop."""


class ReplyDrawer:
    """The conversation screen's :class:`~glm_tui.chat.turn.TurnView`: one reply, drawn."""

    def __init__(self, host: ReplyHost, turn: Turn, view: AssistantMessageView) -> None:
        self.host = host
        self.turn = turn
        self.view = view
        self.text: Callable[[str], None] = view.write  # the hot path: no wrapper
        self.reasoning: Callable[[str], None] = view.write_reasoning  # as hot: no wrapper

    def answer_was_reasoning(self, text: str) -> None:
        self.view.answer_was_reasoning(text)

    def state(self) -> None:
        self.view.refresh_state()

    def link(self, state: Link, detail: str) -> None:
        self.host.set_connection(ConnectionState(state.value), detail)

    def stats(self, stats: ReplyStats) -> None:
        self.host.status.stats = stats
        self.view.show_figures(stats.reasoning_tokens, stats.reasoning_estimated)

    def save(self) -> None:
        recorder = self.host.recorder
        reply = self.turn.reply
        # The turn's cadence is the only throttle: the recorder writes at once when forced.
        self.host.record(lambda: recorder.update_message(reply, force=True))

    def finished(self, outcome: TurnOutcome) -> None:
        """Store the final state and put the status bar in step, before any drawing: nothing
        that happens while drawing can lose the reply, and the prompt is free at once."""
        if outcome.adopted_note:
            self.host.app.notify(outcome.adopted_note, markup=False)
        self.save()
        self.host.reply_ended(self.turn)
        self.link(outcome.link, outcome.link_detail)

    async def draw_end(self) -> None:
        """Finish drawing the reply, then go on with the tool loop if it called tools."""
        host, view, outcome = self.host, self.view, self.turn.outcome
        if outcome is None or not host.is_attached:
            return  # the person moved to another session: the reply is stored, nothing to draw
        reply = outcome.reply
        host.status.stats = outcome.stats
        if outcome.stats is not None and view.is_attached:
            view.show_figures(outcome.stats.reasoning_tokens, outcome.stats.reasoning_estimated)
        if reply.status is MessageStatus.FAILED and not reply.content:
            host.app.notify(
                "The question is kept in the session. Ctrl+R sends it again.",
                title="The reply failed", severity="error", markup=False,
            )
        if view.is_attached:
            view.refresh_state()
            if outcome.tail:
                view.write(outcome.tail)  # a server that buffers hands the text over at the end
            # A new question may cancel this worker now; the end of this reply is drawn anyway.
            await asyncio.shield(view.finish())
        if reply.status is MessageStatus.COMPLETE and reply.tool_calls:
            await host.after_reply()
