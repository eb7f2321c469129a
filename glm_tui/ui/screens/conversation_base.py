"""What every part of the conversation screen shares: the session, its store, the widgets.

:class:`ConversationBase` holds the session and its recorder (writes shown, never fatal; retried
while the disk refuses; older messages of a huge session fetched from the store on demand), the
widgets by name, the title line (with the system prompt F5 edits) and status bar, and the actions
on a message that is already on screen (copy it or a mouse selection, copy its code, open a link;
typing on it goes to the prompt). :class:`~glm_tui.ui.screens.conversation_everyday.
EverydayConversation` adds drafts, a reply's answers and scrolling from the prompt;
:class:`~glm_tui.ui.screens.conversation.ConversationScreen` what changes the conversation:
sending, replies, editing, tool calls.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, ClassVar

from textual import events, on
from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static, TextArea
from textual.worker import WorkerCancelled, WorkerFailed

from glm_tui.chat.tools import request_tools, tool_choice_label
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import Role, Session
from glm_tui.storage.recorder import SessionRecorder
from glm_tui.storage.store import SessionStore, StoreError
from glm_tui.ui.dialogs.confirm import confirm_link
from glm_tui.ui.literal import one_line_text
from glm_tui.ui.markdown.widget import StreamingMarkdown
from glm_tui.ui.services import Services
from glm_tui.ui.store_damage import can_carry_over, carry_over
from glm_tui.ui.widgets.message_view import AssistantMessageView, MessageList, MessageView
from glm_tui.ui.widgets.prompt_input import PromptInput
from glm_tui.ui.widgets.status_bar import ConnectionState, StatusBar


class ConversationBase(Screen[None]):
    """The session, its store and its widgets; subclassed by the conversation screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Merged with the conversation screen's own (its table in the README lists both).
        Binding("ctrl+l", "toggle_thinking", "Thinking", show=False,
                id="conversation.toggle_thinking",
                tooltip="Open or fold the reasoning of the focused message, or of the newest "
                "reply that has some"),
    ]

    def __init__(self, session: Session, recorder: SessionRecorder, services: Services, *,
                 older_in_store: int = 0) -> None:
        super().__init__()
        self.services = services
        self._unsubscribe: Callable[[], None] = lambda: None
        self._unwatch_tool_servers: Callable[[], None] = lambda: None
        self.session = session
        self.recorder = recorder
        self._older_in_store = older_in_store  # messages at positions 0..older-1 not loaded
        self._save_problem_shown = False

    @property
    def messages(self) -> MessageList:
        return self.query_one("#messages", MessageList)

    @property
    def prompt(self) -> PromptInput:
        return self.query_one("#prompt", PromptInput)

    @property
    def status(self) -> StatusBar:
        return self.query_one("#status", StatusBar)

    def follow_connection(self) -> None:
        """Show the connection state now and on every change (until unmounted)."""
        self._connection_changed(self.services.connection_state,
                                 self.services.connection_detail)
        self._unsubscribe = self.services.connection.subscribe(self._connection_changed)
        if self.services.settings.mcp_servers:
            self._unwatch_tool_servers = self.services.tool_servers.watch(
                self._tool_server_changed)

    def on_unmount(self) -> None:
        self._unsubscribe()
        self._unwatch_tool_servers()

    def apply_tools(self, tools: list[dict[str, Any]], choice: str | dict[str, Any] | None) -> None:
        """Live change from the tools screen: the next request uses it; stored at once."""
        self.session.tools = tools
        self.session.tool_choice = choice
        self.messages.set_tools(tools)
        self.record(self.recorder.save_session)
        self._refresh_status()

    def _tool_server_changed(self, name: str) -> None:
        """A running MCP server changed its tools, F6 open or not: the session's tools of that
        server follow (a dropped one is no longer offered to the model); said in a toast
        unless the tools screen is open (it says it)."""
        from glm_tui.chat.mcp_tools import follow_server_tools

        listed = self.services.tool_servers.listed(name)
        if listed is None:
            return
        tools, changes = follow_server_tools(self.session.tools, name, listed)
        if changes:
            self.apply_tools(tools, self.session.tool_choice)
            if self.is_current:
                self.app.notify(f"MCP server {name}: " + "; ".join(changes), markup=False)

    def _connection_changed(self, state: ConnectionState, detail: str) -> None:
        self.status.state = state
        self.status.detail = detail

    def _refresh_header(self) -> None:
        """The title line: the session's title, and its system prompt's start when it has one."""
        header = self.query_one("#conversation-header", Static)
        parts: list[str | tuple[str, str]] = [
            (one_line_text(self.session.title or "New chat"), "bold"),
        ]
        system = one_line_text(self.session.system_prompt, limit=300)
        if system:
            parts.extend(["  ·  ", ("System: ", "$text-secondary"), (system, "$text-muted")])
        header.update(Content.assemble(*parts))

    def action_system_prompt(self) -> None:
        """F5: edit the session's system prompt (the title line shows its start)."""
        from glm_tui.ui.dialogs.system_prompt import SystemPromptModal

        note = ""
        if self.services.kind_for(self.session.model) is ServerKind.GLM4V:
            note = "GLM-4V refuses system messages: glm-tui puts it before your first question."
        self.app.push_screen(SystemPromptModal(self.session.system_prompt, note=note),
                             self._system_prompt_edited)

    def _system_prompt_edited(self, text: str | None) -> None:
        if text is None or text == self.session.system_prompt:
            return
        self.session.system_prompt = text
        self.record(self.recorder.save_session)
        self._refresh_header()
        self.app.notify("System prompt saved for this session." if text.strip()
                        else "System prompt removed.")

    def _refresh_status(self) -> None:
        app = self.services
        self.status.server = app.active_server
        self.status.model = self.session.model
        self.status.sampling = session_summary(self.session)

    def _scroll_to_message(self, message_id: int | None) -> None:
        for message in self.session.messages:
            if message.id == message_id:
                view = self.messages.get_view(message)
                if view is not None:
                    self.messages.release_anchor()
                    self.call_after_refresh(self.messages.scroll_to_widget, view, top=True,
                                            animate=False)
                return

    def _reload_metadata(self) -> None:
        """The sessions screen may have renamed or deleted this session: follow the store."""
        store = self.recorder.store
        if store is None or not any(m.id is not None for m in self.session.messages):
            return
        try:
            stored = store.load_session(self.session.id, last=0)
        except StoreError:
            self.app.notify("This session was deleted from the store; it is still here "
                            "until you leave it, but no longer saved.", severity="warning")
            self.recorder.store = None
            return
        self.session.title = stored.title
        self._refresh_header()

    # -- saving -----------------------------------------------------------------------------

    def record(self, write: Callable[[], object]) -> None:
        """Run one recorder call; a write that fails is shown, never fatal to the chat."""
        try:
            write()
        except StoreError as exc:
            self.app.notify(str(exc), title="Not saved", severity="error", markup=False)
        self._show_save_state()

    def _show_save_state(self) -> None:
        problem = self.recorder.last_error or ""
        self.status.save_problem = problem
        if problem and not self._save_problem_shown:
            self._save_problem_shown = True
            self.app.notify(
                f"{problem}\nThe conversation goes on in memory and is saved when writing "
                "works again.",
                title="Cannot save", severity="error", timeout=10, markup=False,
            )
        elif not problem:
            self._save_problem_shown = False

    def _fetch_older(self, count: int) -> int:
        """Prepend up to ``count`` messages a huge session left in the store; -1 on failure."""
        store = self.recorder.store
        if self._older_in_store <= 0:
            return 0
        if store is None:
            return -1
        try:
            batch = store.load_messages_before(self.session.id, self._older_in_store, count)
        except StoreError as exc:
            self.app.notify(f"Cannot read the earlier messages of this session: {exc}",
                            severity="error", markup=False)
            return -1
        self.session.messages[0:0] = batch
        self._older_in_store -= len(batch)
        return len(batch)

    async def _load_older(self, count: int) -> int:
        """Scroll-back: the message list asks for older messages than those in memory."""
        return max(0, self._fetch_older(count))

    def _ensure_full_history(self) -> bool:
        """A request needs every message; load the ones a huge session left in the store."""
        self._fetch_older(self._older_in_store)
        return self._older_in_store <= 0

    # -- workers -------------------------------------------------------------------------

    async def stop_activity(self, timeout: float | None = None) -> None:
        """Stop the reply in flight and any running tool handler, and wait until they have
        stored what they had (before this screen is left or the conversation is rewritten)."""
        workers = [*self.workers.cancel_group(self, "reply"),
                   *self.workers.cancel_group(self, "tool-handler")]
        for worker in workers:
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                try:
                    await asyncio.wait_for(worker.wait(), timeout)
                except TimeoutError:
                    self.log.warning("a worker did not stop within the time allowed")

    async def suspend(self, *, final: bool = False) -> None:
        """Stop and store: the app awaits this before it replaces or closes this screen.

        The reply in flight stops (its text kept, marked cancelled), a running handler stops,
        and what is pending is written. ``final`` (the app is closing the store): wait at most a
        few seconds, and let go of the store so nothing writes into it once it is closed.
        """
        await self.stop_activity(timeout=5 if final else None)
        try:
            self.recorder.flush()
        except StoreError as exc:
            if final:
                self.log.error(f"could not save on exit: {exc}")
            else:
                self.app.notify(str(exc), title="Not saved", severity="error", markup=False)
        if final:
            self.recorder.store = None

    def release_damaged_store(self) -> bool:
        """The store was found damaged and is about to close: stop writing into it. True when
        this whole session is in memory and :meth:`carry_into` can save it in a new store."""
        store = self.recorder.store
        return store is not None and can_carry_over(self.recorder, store)

    def carry_into(self, store: SessionStore) -> str:
        """Save this session whole into ``store`` (the new database); says how that went."""
        return carry_over(self.recorder, store)

    # -- a message on screen ----------------------------------------------------------------

    def _target_view(self) -> MessageView | None:
        """The message the user means: the focused one, else the newest reply with text."""
        focused = self.focused
        if isinstance(focused, MessageView):
            return focused
        for message in reversed(self.session.messages):
            if message.role is Role.ASSISTANT and message.content:
                view = self.messages.get_view(message)
                if view is not None:
                    return view
        return None

    def action_copy_message(self) -> None:
        view = self._target_view()
        if view is None:
            self.app.notify("There is no reply to copy yet.")
            return
        self._copy(view.copy_text(), "the message")

    def action_copy_code(self) -> None:
        view = self._target_view()
        code = None if view is None else view.last_code_block()
        if code is None:
            self.app.notify("That message has no code block.")
            return
        self._copy(code, "the last code block")

    def action_toggle_thinking(self) -> None:
        """Open or fold a reply's reasoning: the focused message's, else the newest reply's
        that has some."""
        focused = self.focused
        views = [focused] if isinstance(focused, MessageView) else [
            self.messages.get_view(m) for m in reversed(self.session.messages)
            if m.role is Role.ASSISTANT]
        for view in views:
            if isinstance(view, AssistantMessageView) and view.thinking is not None:
                view.thinking.toggle()
                return
        self.app.notify("No reply here has any thinking to show.")

    def apply_preserve_thinking(self, preserve: bool) -> None:
        """"Preserved thinking" changed on the settings screen: stored with the session."""
        self.session.preserve_thinking = preserve
        self.record(self.recorder.save_session)

    def redirect_typing(self, event: events.Key) -> None:
        """Typing on a focused message (or a picture in one) goes to the prompt, every key of it
        and in order.

        The app calls this with each key before it delivers it to the focused widget, so the
        focus is on the prompt before the key is: a burst of keys (fast typing, a paste,
        ``tmux send-keys``) cannot reach the message after the first one moved the focus. A key
        a binding uses (a remapped ``[keys]`` entry) is left to the binding.
        """
        focused = self.focused
        if (focused is None or not event.is_printable or isinstance(focused, TextArea)
                or not any(isinstance(node, MessageList) for node in focused.ancestors)):
            return  # the usual case, decided without a query: typing in the prompt
        if event.key not in self.active_bindings:  # a message, or a picture in one
            self.set_focus(self.prompt)

    def action_copy_text(self) -> None:
        """Ctrl+C with text selected by the mouse (and none in the prompt): copy it, and say so.
        With nothing selected Ctrl+C goes on to its next meaning (how to quit)."""
        selection = self.get_selected_text()
        if not selection:
            raise SkipAction()
        self._copy(selection, "the selection")

    @on(MessageView.CopyRequested)
    def _copy_requested(self, event: MessageView.CopyRequested) -> None:
        if event.code:
            code = event.view.last_code_block()
            if code is None:
                self.app.notify("That message has no code block.")
                return
            self._copy(code, "the last code block")
        else:
            self._copy(event.view.copy_text(), "the message")

    def _copy(self, text: str, what: str) -> None:
        self.app.copy_to_clipboard(text)
        lines = text.count("\n") + 1 if text else 0
        self.app.notify(f"Copied {what} ({len(text):,} characters, {lines:,} "
                        f"line{'' if lines == 1 else 's'}).", markup=False)

    @on(StreamingMarkdown.LinkClicked)
    def _link_clicked(self, event: StreamingMarkdown.LinkClicked) -> None:
        event.stop()
        url = event.href

        def answered(open_it: bool | None) -> None:
            if open_it:
                self.app.open_url(url)

        self.app.push_screen(confirm_link(url), answered)


def session_summary(session: Session) -> str:
    """The status bar's settings part: sampling, then tools and streaming when they matter."""
    parts = [session.sampling.summary()]
    tools = request_tools(session.tools)
    if tools:
        parts.append(f"tools {len(tools)} ({tool_choice_label(session.tool_choice)})")
    if not session.stream:
        parts.append("no stream")
    return " · ".join(parts)
