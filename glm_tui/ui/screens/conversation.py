"""The conversation screen: messages above, the prompt below, the status bar and the keys.

This module is the orchestration of one chat: what a key press does to the session (send,
cancel, regenerate, edit and resend, copy, system prompt) and the streaming worker that turns the
client's events into widget updates and autosaves. The drawing lives in
:mod:`glm_tui.ui.widgets.message_view`; the rules for a reply's status and figures in
:mod:`glm_tui.chat.reply_tracker`; the writing in
:class:`~glm_tui.storage.recorder.SessionRecorder`.

The session object is the single source of truth: the screen never keeps a second list of
messages, so what is shown, what is stored and what is sent cannot disagree.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import WorkerCancelled, WorkerFailed

from glm_tui.chat.reply_tracker import ReplyTracker
from glm_tui.chat.request import build_request, requestable
from glm_tui.chat.tool_library import ToolLibrary
from glm_tui.chat.tool_turns import pending_calls, stream_for_request
from glm_tui.chat.tools import request_tools, tool_choice_label
from glm_tui.client.events import ErrorKind, TextDelta, ToolCallDelta
from glm_tui.model.server_kind import ServerKind, send_warnings
from glm_tui.model.session import Message, MessageStatus, Role, Session
from glm_tui.model.text import title_from_question
from glm_tui.storage.recorder import SessionRecorder
from glm_tui.storage.store import StoreError
from glm_tui.ui.dialogs.confirm import ConfirmModal, confirm_link
from glm_tui.ui.dialogs.system_prompt import SystemPromptModal
from glm_tui.ui.literal import one_line_text, safe_text
from glm_tui.ui.markdown.widget import StreamingMarkdown
from glm_tui.ui.messages import NewSession, OpenSession, SwitchServer
from glm_tui.ui.screens.model_picker import ModelPickerScreen, ServerPickerScreen
from glm_tui.ui.screens.request_view import RequestViewScreen
from glm_tui.ui.screens.sampling import SamplingScreen
from glm_tui.ui.screens.sessions import SessionsScreen
from glm_tui.ui.screens.tool_calls import ToolLoop
from glm_tui.ui.screens.tools import ToolsScreen
from glm_tui.ui.services import Services
from glm_tui.ui.widgets.message_view import (
    AssistantMessageView,
    MessageList,
    MessageView,
)
from glm_tui.ui.widgets.prompt_input import PromptInput
from glm_tui.ui.widgets.status_bar import ConnectionState, StatusBar

if TYPE_CHECKING:
    from glm_tui.model.sampling import SamplingParams

STATS_INTERVAL_S = 0.2
"""How often the status bar's live figures are redrawn while a reply streams."""

SAVE_RETRY_S = 2.0
"""How often unsaved writes are retried while the disk refuses them (and nothing else writes)."""


class ConversationScreen(Screen[None]):
    """One session, live: everything a person does while chatting."""

    AUTO_FOCUS = "#prompt"
    CSS_PATH = Path(__file__).parent.parent / "styles" / "conversation.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        # Shown in the Footer (it must fit 120 columns); every action is also in the palette,
        # where the tooltip is the help line. The README's key table is generated from these.
        Binding("escape", "cancel_reply", "Cancel", id="conversation.cancel_reply",
                tooltip="Cancel the reply in flight (its text is kept, marked cancelled), "
                "stop a running tool handler, or leave editing"),
        Binding("ctrl+r", "regenerate", "Regenerate", id="conversation.regenerate",
                tooltip="Regenerate the last reply; the previous answer is replaced"),
        Binding("ctrl+g", "edit_last", "Edit", id="conversation.edit_last",
                tooltip="Edit the last question (Up in an empty prompt too); Enter resends it "
                "and replaces what followed"),
        Binding("f3", "copy_message", "Copy", id="conversation.copy_message",
                tooltip="Copy the focused message, or the newest reply"),
        Binding("f4", "copy_code", "Code", show=False, id="conversation.copy_code",
                tooltip="Copy the last code block of the focused message, or of the newest reply"),
        Binding("f5", "system_prompt", "System", id="conversation.system_prompt",
                tooltip="Edit this session's system prompt, saved at once"),
        Binding("ctrl+t", "open_settings", "Settings", id="conversation.open_settings",
                tooltip="Sampling settings, focused on temperature (Up/Down nudge it)"),
        Binding("f6", "open_tools", "Tools", id="conversation.open_tools",
                tooltip="Tools for this session: function tools and GLM All Tools"),
        Binding("ctrl+o", "open_sessions", "Sessions", id="conversation.open_sessions",
                tooltip="Sessions: browse, search, open, rename, duplicate, delete, export"),
        Binding("f2", "show_request", "Request", id="conversation.show_request",
                tooltip="The exact JSON of the next request (key redacted), and a curl command"),
        Binding("f7", "toggle_stream", "Stream on/off", show=False,
                id="conversation.toggle_stream",
                tooltip="Streaming on/off for this session"),
        Binding("ctrl+n", "new_session", "New", show=False, id="conversation.new_session",
                tooltip="Start a new, empty session"),
        Binding("f8", "pick_model", "Model", show=False, id="conversation.pick_model",
                tooltip="Choose the model, from the server's /models list or typed"),
        Binding("f9", "switch_server", "Server", show=False, id="conversation.switch_server",
                tooltip="Switch to another configured server profile"),
    ]

    def __init__(self, session: Session, recorder: SessionRecorder, services: Services, *,
                 older_in_store: int = 0, focus_message_id: int | None = None) -> None:
        super().__init__()
        self.services = services
        self._unsubscribe: Callable[[], None] = lambda: None
        self.session = session
        self.recorder = recorder
        self._older_in_store = older_in_store  # messages at positions 0..older-1 not loaded
        self._focus_message_id = focus_message_id
        self._tracker: ReplyTracker | None = None
        self._editing: Message | None = None
        self._save_problem_shown = False
        self._internal_error = False
        self.tool_loop = ToolLoop(self)
        self._refusal_accepted_for: SamplingParams | None = None

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("", id="conversation-header", markup=False)
        yield MessageList(id="messages")
        yield PromptInput(
            id="prompt", placeholder=one_line_text("Ask something · Enter sends · Ctrl+J new line"))
        yield StatusBar(id="status")
        yield Footer(compact=True)

    @property
    def messages(self) -> MessageList:
        return self.query_one("#messages", MessageList)

    @property
    def prompt(self) -> PromptInput:
        return self.query_one("#prompt", PromptInput)

    @property
    def status(self) -> StatusBar:
        return self.query_one("#status", StatusBar)

    async def on_mount(self) -> None:
        self._refresh_header()
        self._refresh_status()
        self._connection_changed(self.services.connection_state,
                                 self.services.connection_detail)
        self._unsubscribe = self.services.connection.subscribe(self._connection_changed)
        self.messages.tools = self.session.tools
        older = self._load_older if self._older_in_store else None
        window = len(self.session.messages) if self._focus_message_id else None
        if window is None:
            await self.messages.show(self.session.messages, older)
        else:
            await self.messages.show(self.session.messages, older, window=window)
            self._scroll_to_message(self._focus_message_id)
        self.set_interval(SAVE_RETRY_S, self._retry_saving)
        self.prompt.focus()
        await self.tool_loop.continue_tool_loop()

    def on_unmount(self) -> None:
        self._unsubscribe()

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

    # -- saving -----------------------------------------------------------------------------

    def _record(self, write: Callable[[], object]) -> None:
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

    def _retry_saving(self) -> None:
        if self.recorder.pending and self._tracker is None:
            self._record(self.recorder.flush)

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

    # -- sending ----------------------------------------------------------------------------

    @property
    def reply_running(self) -> bool:
        return self._tracker is not None

    @property
    def _handler_running(self) -> bool:
        return any(w.group == "tool-handler" and not w.is_finished for w in self.workers)

    @on(PromptInput.Submitted)
    async def _prompt_submitted(self, event: PromptInput.Submitted) -> None:
        call = self.tool_loop.answering
        if call is not None and self._editing is None:
            if await self.tool_loop.submit_tool_result(call, event.text):
                self.prompt.clear()
            return
        await self.send(event.text)

    async def send(self, text: str, *, refusal_accepted: bool = False) -> None:
        """Send a question. Empty or whitespace-only text sends nothing.

        When the settings hold a value this server is known to reject, the person is asked
        first (send anyway, or change the settings); the typed text stays in the prompt.
        """
        if not text.strip():
            return
        if self.reply_running:
            self.app.notify("A reply is still arriving: Esc cancels it.", severity="warning")
            return
        if not self._ensure_full_history():
            return
        if self._editing is None and pending_calls(self.session):
            self.app.notify("The model is waiting for a tool result; Ctrl+R asks it again "
                            "instead.", severity="warning")
            return
        warnings = send_warnings(self.services.server_kind, self.session.sampling)
        accepted = refusal_accepted or self._refusal_accepted_for == self.session.sampling
        if warnings and not accepted:
            async def answered(send_anyway: bool | None) -> None:
                if send_anyway:
                    self._refusal_accepted_for = self.session.sampling  # asked once per values
                    await self.send(text, refusal_accepted=True)
                else:
                    self.action_open_settings()

            body = "\n".join(str(w) for w in warnings)
            self.app.push_screen(ConfirmModal(
                "This server will likely refuse the request",
                f"{body}\n\nSend it anyway, or change the settings first?",
                confirm="Send anyway", cancel="Change settings",
            ), answered)
            return
        if self._editing is not None:
            await self._drop_from(self._editing)
            self._end_editing()
            self.tool_loop.end_answering()
        if not self.session.title:
            self.session.title = title_from_question(text)
            self._record(self.recorder.save_session)
            self._refresh_header()
        question = Message(Role.USER, content=text)
        self._record(lambda: self.recorder.add_message(question))
        self.prompt.clear()
        await self.messages.append(question)
        await self._start_reply()

    async def _start_reply(self) -> None:
        if self.reply_running:
            return  # one reply at a time: the tool loop or a key may race a reply in flight
        app = self.services
        kind = app.server_kind
        stream, why = stream_for_request(self.session, kind)
        if why:
            self.app.notify(why, markup=False)
        request = build_request(self.session, kind, stream=stream)
        reply = Message(Role.ASSISTANT, status=MessageStatus.STREAMING)
        self._tracker = ReplyTracker(reply)
        self._record(lambda: self.recorder.add_message(reply))
        view = await self.messages.append(reply)
        assert isinstance(view, AssistantMessageView)
        self.status.stats = None
        self._stream_reply(request, self._tracker, view)

    @work(exclusive=True, exit_on_error=False, group="reply")
    async def _stream_reply(self, request: dict[str, Any], tracker: ReplyTracker,
                            view: AssistantMessageView) -> None:
        """Stream one reply into its widget and the store; always leaves a final status."""
        app = self.services
        reply = tracker.message
        app.set_connection(ConnectionState.WAITING, "")
        written = 0
        calls_changed = False
        saved_at = stats_at = time.monotonic()
        try:
            client = await app.get_client()
            async for event in client.chat(request):
                tracker.apply(event)
                if isinstance(event, TextDelta) and event.text:
                    view.write(event.text)
                    if not written:
                        tracker.sync()
                        view.refresh_state()  # "waiting…" becomes "streaming…"
                    written += len(event.text)
                    if app.connection_state is not ConnectionState.STREAMING:
                        app.set_connection(ConnectionState.STREAMING, "")
                elif not isinstance(event, ToolCallDelta):
                    view.refresh_state()
                else:
                    calls_changed = True  # drawn with the figures below, not per fragment
                now = time.monotonic()
                if now - stats_at >= STATS_INTERVAL_S:
                    stats_at = now
                    self.status.stats = tracker.stats()
                    if calls_changed:
                        calls_changed = False
                        view.refresh_state()
                if now - saved_at >= self.recorder.interval:
                    # This gate is the only throttle: the recorder writes at once when forced.
                    saved_at = now
                    tracker.sync()
                    self._record(lambda: self.recorder.update_message(reply, force=True))
            tracker.end_of_stream()
        except asyncio.CancelledError:
            tracker.cancel()
            raise
        except Exception as exc:
            # A bug of glm-tui's, not the server's: say so on the message, then let the worker
            # report it (exit_on_error=False keeps the app and the conversation alive).
            tracker.end_of_stream()
            reply.status = MessageStatus.FAILED
            reply.error = f"glm-tui failed while reading the reply: {exc!r}"
            self._internal_error = True
            raise
        finally:
            await self._finish_reply(tracker, view, written)

    async def _finish_reply(self, tracker: ReplyTracker, view: AssistantMessageView,
                            written: int) -> None:
        """Store the final state, put the status bar in step, then finish drawing.

        Storing comes first: nothing that happens while drawing can lose the reply, and the
        prompt is free for the next question as soon as the reply has ended.
        """
        reply = tracker.sync()
        self.tool_loop.adopt_raw_tool_call(reply)
        self._record(lambda: self.recorder.update_message(reply, force=True))
        self._tracker = None
        app = self.services
        error = tracker.error
        if self._internal_error:
            self._internal_error = False
            app.set_connection(ConnectionState.ERROR, "glm-tui error")
        elif error is None:
            app.set_connection(ConnectionState.READY, "")
        elif error.kind in (ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT) and not tracker.connected:
            app.set_connection(ConnectionState.UNREACHABLE, app.profile_url)
        else:
            detail = f"HTTP {error.status}" if error.status else error.kind.value
            app.set_connection(ConnectionState.ERROR, detail)
        if not self.is_attached:
            return  # the person moved to another session: the reply is stored, nothing to draw
        self.status.stats = tracker.stats()
        if reply.status is MessageStatus.FAILED and not reply.content:
            self.app.notify(
                "The question is kept in the session. Ctrl+R sends it again.",
                title="The reply failed", severity="error", markup=False,
            )
        if view.is_attached:
            view.refresh_state()
            if len(reply.content) > written:
                # A server that buffers (tools passed) may hand the whole text over at the end.
                view.write(reply.content[written:])
            # A new question may cancel this worker now; the end of this reply is drawn anyway.
            await asyncio.shield(view.finish())
        if reply.status is MessageStatus.COMPLETE and reply.tool_calls:
            await self.tool_loop.continue_tool_loop()

    # -- actions ----------------------------------------------------------------------------

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

    def action_cancel_reply(self) -> None:
        """Esc: stop the reply in flight (its text is kept, marked cancelled) or a handler."""
        if self.reply_running:
            self.workers.cancel_group(self, "reply")
        elif self.workers.cancel_group(self, "tool-handler"):
            pending = pending_calls(self.session)
            if pending:
                self.tool_loop.begin_answering(pending[0], problem="handler stopped by Esc")
            self.app.notify("The handler was stopped; write the result by hand.")
        elif self._editing is not None:
            self._end_editing()
            self.prompt.clear()
            if self.tool_loop.answering is None and pending_calls(self.session):
                self.call_later(self.tool_loop.continue_tool_loop)
        elif not self.prompt.has_focus:
            self.prompt.focus()  # Esc on a focused message goes back to typing
        elif self.tool_loop.answering is not None:
            self.tool_loop.offer_decline()

    async def action_regenerate(self) -> None:
        """Ask again for the last reply (the previous answer is replaced)."""
        if self.reply_running:
            self.app.notify("A reply is still arriving: Esc cancels it first.",
                            severity="warning")
            return
        await self.stop_activity()
        if not self._ensure_full_history():
            return
        last = self.session.last_message()
        if pending_calls(self.session):
            # Calls still wait for results: ask again from before the reply that made them.
            last = self.session.last_message(Role.ASSISTANT)
            self.tool_loop.end_answering()
        if last is not None and last.role is Role.ASSISTANT:
            await self._drop_from(last)
        if not requestable(self.session.messages):
            self.app.notify("Nothing to regenerate yet: ask a question first.")
            return
        await self._start_reply()

    @on(PromptInput.EditLastRequested)
    async def _up_in_empty_prompt(self) -> None:
        await self.action_edit_last()

    async def action_edit_last(self) -> None:
        """Put the last question back in the prompt; sending it replaces it and what followed."""
        if self.reply_running:
            self.app.notify("A reply is still arriving: Esc cancels it first.",
                            severity="warning")
            return
        last = self.session.last_message(Role.USER)
        if last is None:
            self.app.notify("There is no question to edit yet.")
            return
        if self._handler_running:
            self.app.notify("A tool handler is running: Esc stops it first.", severity="warning")
            return
        self._editing = last
        self.prompt.set_prompt(safe_text(last.content))  # an editor draws text as it is
        self.prompt.add_class("-editing")
        self.prompt.border_title = "Editing your last question · Enter resends · Esc keeps it"
        view = self.messages.get_view(last)
        if view is not None:
            view.add_class("-being-edited")
        self.prompt.focus()

    def _end_editing(self) -> None:
        if self._editing is not None:
            view = self.messages.get_view(self._editing)
            if view is not None:
                view.remove_class("-being-edited")
        self._editing = None
        self.prompt.remove_class("-editing")
        self.prompt.border_title = None
        call = self.tool_loop.answering
        if call is not None:
            self.tool_loop.begin_answering(call)  # back to the result editor it was

    async def _drop_from(self, message: Message) -> None:
        """Remove a message and everything after it, from the screen, session and store."""
        await self.messages.remove_from(message)
        self._record(lambda: self.recorder.remove_from(message))

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

    @on(MessageView.TypedAway)
    def _typed_on_a_message(self, event: MessageView.TypedAway) -> None:
        self.prompt.focus()
        self.prompt.insert(event.character)

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
        self.app.notify(f"Copied {what} ({len(text):,} characters, {lines:,} lines).",
                        markup=False)

    def action_system_prompt(self) -> None:
        note = ""
        if self.services.server_kind is ServerKind.GLM4V:
            note = "GLM-4V refuses system messages: glm-tui puts it before your first question."
        self.app.push_screen(SystemPromptModal(self.session.system_prompt, note=note),
                             self._system_prompt_edited)

    def _system_prompt_edited(self, text: str | None) -> None:
        if text is None or text == self.session.system_prompt:
            return
        self.session.system_prompt = text
        self._record(self.recorder.save_session)
        self._refresh_header()
        self.app.notify("System prompt saved for this session." if text.strip()
                        else "System prompt removed.")

    @on(StreamingMarkdown.LinkClicked)
    def _link_clicked(self, event: StreamingMarkdown.LinkClicked) -> None:
        event.stop()
        url = event.href

        def answered(open_it: bool | None) -> None:
            if open_it:
                self.app.open_url(url)

        self.app.push_screen(confirm_link(url), answered)

    # -- other screens ----------------------------------------------------------------------

    def action_open_settings(self) -> None:
        app = self.services
        self.app.push_screen(SamplingScreen(
            self.session.sampling,
            kind=app.server_kind,
            presets=app.settings.presets,
            config_path=app.settings.config_path,
            streaming=self.reply_running,
            on_change=self.apply_sampling,
            focus_field="temperature",
            defaults=app.settings.sampling,
            on_presets_change=lambda presets: app.update_settings(presets=presets),
            on_defaults_saved=lambda params: app.update_settings(sampling=params),
        ))

    def apply_sampling(self, params: SamplingParams) -> None:
        """Live change from the settings screen: the next request uses it; stored at once."""
        self.session.sampling = params
        self._record(self.recorder.save_session)
        self._refresh_status()

    def action_open_sessions(self) -> None:
        store = self.recorder.store
        if store is None:
            self.app.notify("Sessions are not being saved (the database is not available), "
                            "so there is nothing to browse.", severity="warning")
            return
        self.app.push_screen(SessionsScreen(store, self.session.id), self._sessions_closed)

    def _sessions_closed(self, result: OpenSession | NewSession | None) -> None:
        """The sessions screen's choice goes up to the app, which opens it."""
        if isinstance(result, OpenSession) and result.session_id != self.session.id:
            self.post_message(result)
            return
        if isinstance(result, NewSession):
            self.post_message(result)
            return
        self._reload_metadata()

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

    def action_new_session(self) -> None:
        self.post_message(NewSession())

    def action_show_request(self) -> None:
        if not self._ensure_full_history():
            return
        draft = replace(self.session, messages=list(self.session.messages))
        typed = self.prompt.text
        if typed.strip():
            draft.messages.append(Message(Role.USER, content=typed))
        app = self.services
        request = build_request(draft, app.server_kind)
        self.app.push_screen(RequestViewScreen(request, app.profile_url, app.profile.api_key,
                                               api_key_env=app.profile.api_key_env))

    def action_pick_model(self) -> None:
        self._pick_model()

    @work(exclusive=True, exit_on_error=False, group="picker")
    async def _pick_model(self) -> None:
        client = await self.services.get_client()
        model = await self.app.push_screen_wait(ModelPickerScreen(client, self.session.model))
        if isinstance(model, str) and model and model != self.session.model:
            self.set_model(model)

    def set_model(self, model: str) -> None:
        self.session.model = model
        self._record(self.recorder.save_session)
        self._refresh_status()
        self.services.remember_choice(server=self.services.active_server, model=model)

    def action_switch_server(self) -> None:
        app = self.services
        self.app.push_screen(ServerPickerScreen(app.settings.servers, app.active_server),
                             self._server_picked)

    def _server_picked(self, name: str | None) -> None:
        if name and name != self.services.active_server:
            self.post_message(SwitchServer(name))

    def server_switched(self) -> None:
        """The app made another server active (after :meth:`suspend`): this session goes on
        there, with that server's model."""
        name = self.services.active_server
        self.session.server_profile = name
        self.session.model = self.services.profile.model
        self._record(self.recorder.save_session)
        self._refresh_status()
        self.services.remember_choice(server=name)

    # -- tools and streaming -----------------------------------------------------------------

    def action_open_tools(self) -> None:
        library = ToolLibrary(self.services.settings.data_dir)
        self.app.push_screen(ToolsScreen(self.session.tools, self.session.tool_choice,
                                         library=library, on_change=self.apply_tools))

    def apply_tools(self, tools: list[dict[str, Any]], choice: str | dict[str, Any] | None) -> None:
        """Live change from the tools screen: the next request uses it; stored at once."""
        self.session.tools = tools
        self.session.tool_choice = choice
        self.messages.set_tools(tools)
        self._record(self.recorder.save_session)
        self._refresh_status()

    def action_toggle_stream(self) -> None:
        self.session.stream = not self.session.stream
        self._record(self.recorder.save_session)
        self._refresh_status()
        self.app.notify("Replies stream as they are written." if self.session.stream
                        else "Replies come whole (streaming off) from the next request on.")



def session_summary(session: Session) -> str:
    """The status bar's settings part: sampling, then tools and streaming when they matter."""
    parts = [session.sampling.summary()]
    tools = request_tools(session.tools)
    if tools:
        parts.append(f"tools {len(tools)} ({tool_choice_label(session.tool_choice)})")
    if not session.stream:
        parts.append("no stream")
    return " · ".join(parts)
