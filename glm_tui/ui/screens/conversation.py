"""The conversation screen: messages above, the prompt below, the status bar and the keys.

This module is what a key press does to the conversation: send, cancel, regenerate, edit and
resend, the system prompt, and the screens that change what the session is sent with. A reply is
one :class:`~glm_tui.chat.turn.Turn` (its rules live there, shared with ``glm-tui ask``), drawn by
:class:`~glm_tui.ui.screens.reply_drawer.ReplyDrawer`; the tool-call loop's decisions are
:class:`~glm_tui.chat.tool_loop.ToolLoop`, performed by
:class:`~glm_tui.ui.screens.tool_calls.ToolCallPrompt`. What every part shares (the session, its
recorder, the widgets, the actions on a message already shown) is
:class:`~glm_tui.ui.screens.conversation_base.ConversationBase`.

The session object is the single source of truth: the screen never keeps a second list of
messages, so what is shown, what is stored and what is sent cannot disagree.
"""

from __future__ import annotations

from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from glm_tui.chat.request import requestable
from glm_tui.chat.tool_turns import pending_calls
from glm_tui.chat.turn import Turn
from glm_tui.model.server_kind import send_warnings
from glm_tui.model.session import Message, MessageStatus, Role, Session
from glm_tui.model.text import title_from_question
from glm_tui.storage.recorder import SessionRecorder
from glm_tui.ui.dialogs.confirm import ConfirmModal
from glm_tui.ui.literal import one_line_text, safe_text
from glm_tui.ui.markdown.textual_compat import draw_without_delay
from glm_tui.ui.messages import NewSession, OpenSession, SwitchServer
from glm_tui.ui.screens.continue_reply import ContinueReply
from glm_tui.ui.screens.conversation_everyday import EverydayConversation
from glm_tui.ui.screens.reply_drawer import ReplyDrawer
from glm_tui.ui.screens.tool_calls import ToolCallPrompt
from glm_tui.ui.services import Services
from glm_tui.ui.widgets.jump_to_latest import JumpToLatest
from glm_tui.ui.widgets.key_footer import FittingFooter
from glm_tui.ui.widgets.message_view import (
    AssistantMessageView,
    MessageList,
)
from glm_tui.ui.widgets.prompt_input import PromptInput
from glm_tui.ui.widgets.status_bar import ConnectionState, StatusBar

if TYPE_CHECKING:
    from glm_tui.model.sampling import SamplingParams

# The screens and dialogs a key opens (settings, sessions, tools, pickers, the request view, the
# system prompt) are imported by the action that opens them: none is needed for the first frame,
# and start-up time is a feature (tests/benchmarks/bench_startup.py).

FOOTER_DROP_ORDER = ("copy_message", "system_prompt", "open_tools", "cancel_reply", "edit_last",
                     "open_settings", "regenerate", "show_request")
"""The Footer's keys a narrow screen leaves out, first to last: at 80 columns Sessions, Request
and Quit are still shown; Sessions and Quit always are."""

SAVE_RETRY_S = 2.0
"""How often unsaved writes are retried while the disk refuses them (and nothing else writes)."""


class ConversationScreen(ContinueReply, EverydayConversation):
    """One session, live: everything a person does while chatting."""

    AUTO_FOCUS = "#prompt"
    CSS_PATH = Path(__file__).parent.parent / "styles" / "conversation.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        # Shown in the Footer (it must fit 120 columns); every action is also in the palette,
        # where the tooltip is the help line. The README's key table is generated from these.
        Binding("escape", "cancel_reply", "Cancel", id="conversation.cancel_reply",
                tooltip="Cancel the reply in flight (its text is kept, marked cancelled), "
                "stop a running tool handler or MCP call, or leave editing"),
        Binding("ctrl+r", "regenerate", "Regenerate", id="conversation.regenerate",
                tooltip="Ask for the last reply again; the previous answer is kept "
                "(Alt+Left / Alt+Right move between the answers)"),
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
                tooltip="Tools for this session: function tools, GLM All Tools, MCP servers' "
                "tools"),
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
        Binding("ctrl+f", "attach_image", "Attach", show=False, id="conversation.attach_image",
                tooltip="Attach an image to the question: choose a file (pasting or dropping a "
                "picture's path into the prompt attaches it too)"),
    ]

    def __init__(self, session: Session, recorder: SessionRecorder, services: Services, *,
                 older_in_store: int = 0, focus_message_id: int | None = None) -> None:
        super().__init__(session, recorder, services, older_in_store=older_in_store)
        self._focus_message_id = focus_message_id
        self._turn: Turn | None = None
        self._editing: Message | None = None
        self.tool_loop = ToolCallPrompt(self)
        self._refusal_accepted_for: SamplingParams | None = None

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("", id="conversation-header", markup=False)
        yield MessageList(id="messages", thinking=self.services.settings.thinking_display)
        yield JumpToLatest(id="jump-to-latest")
        yield from self.compose_attachments()
        yield PromptInput(
            id="prompt", placeholder=one_line_text("Ask something · Enter sends · Ctrl+J new line"))
        yield StatusBar(id="status")
        yield FittingFooter(FOOTER_DROP_ORDER)

    async def on_mount(self) -> None:
        draw_without_delay(self)  # a key typed while a reply streams shows at once
        self._refresh_header()
        self._refresh_status()
        self.follow_connection()
        self.messages.tools = self.session.tools
        self.messages.images = self.image_source()
        older = self._load_older if self._older_in_store else None
        window = len(self.session.messages) if self._focus_message_id else None
        if window is None:
            await self.messages.show(self.session.messages, older)
        else:
            await self.messages.show(self.session.messages, older, window=window)
            self._scroll_to_message(self._focus_message_id)
        self.set_interval(SAVE_RETRY_S, self._retry_saving)
        self.prompt.focus()
        await self.tool_loop.continue_tool_loop(opened=True)  # asks before any handler runs

    def _retry_saving(self) -> None:
        if self.recorder.pending and self._turn is None:
            self.record(self.recorder.flush)

    # -- sending ----------------------------------------------------------------------------

    @property
    def reply_running(self) -> bool:
        return self._turn is not None

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
        question = self.question_with_images(text)  # None: a picture not ready, or refused
        if question is None:
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
        warnings = send_warnings(self.services.kind_for(self.session.model), self.session.sampling)
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
            self.record(self.recorder.save_session)
            self._refresh_header()
        self.record(lambda: self.recorder.add_message(question))
        self.give_back_draft()  # empty, or the draft typed before editing the last question
        await self.attachments.clear()
        await self.messages.append(question)
        await self.start_reply()

    async def start_reply(self) -> None:
        """Request the next reply of the session (the question or tool results are stored)."""
        if self.reply_running:
            return  # one reply at a time: the tool loop or a key may race a reply in flight
        app = self.services
        prepared = self.prepare_next_turn()  # None: refused, and said why
        if prepared is None:
            return
        reply = Message(Role.ASSISTANT, status=MessageStatus.STREAMING)
        self.begin_reply(reply)  # what it is made with, and the answers Ctrl+R kept
        turn = Turn(prepared, reply, save_interval=self.recorder.interval,
                    base_url=app.profile_url)
        self._turn = turn
        self.record(lambda: self.recorder.add_message(reply))
        view = await self.messages.append(reply)
        assert isinstance(view, AssistantMessageView)
        self.status.stats = None
        self._stream_reply(turn, view)

    @work(exclusive=True, exit_on_error=False, group="reply")
    async def _stream_reply(self, turn: Turn, view: AssistantMessageView) -> None:
        """Stream one reply into its widget and the store; always leaves a final status."""
        drawer = ReplyDrawer(self, turn, view)
        try:
            await turn.run(self.services.get_client, drawer)
        finally:
            await drawer.draw_end()

    # -- what drawing a reply needs (reply_drawer.ReplyHost) --------------------------------

    def set_connection(self, state: ConnectionState, detail: str) -> None:
        self.services.set_connection(state, detail)

    def reply_ended(self, turn: Turn) -> None:
        self.remember_outcome(turn.outcome)
        if self._turn is turn:
            self._turn = None

    async def after_reply(self) -> None:
        await self.tool_loop.continue_tool_loop()

    # -- what the tool prompt needs (tool_calls.ToolHost) ------------------------------------

    def save_session(self) -> None:
        self.record(self.recorder.save_session)

    async def add_message(self, message: Message) -> None:
        self.record(lambda: self.recorder.add_message(message))
        await self.messages.append(message)

    def run_handler_worker(self, work: Coroutine[Any, Any, None]) -> None:
        self.run_worker(work, group="tool-handler", exclusive=True, exit_on_error=False)

    # -- actions ----------------------------------------------------------------------------

    def action_cancel_reply(self) -> None:
        """Esc: stop the reply in flight (its text is kept, marked cancelled), a handler or an
        MCP call."""
        if self.reply_running:
            self.workers.cancel_group(self, "reply")
        elif self.workers.cancel_group(self, "tool-handler"):
            self.tool_loop.stopped_by_escape()
        elif self._editing is not None:
            self._end_editing()
            self.give_back_draft()
            self.call_later(self.restore_question_images, None)
            if self.tool_loop.answering is None and pending_calls(self.session):
                self.call_later(self.tool_loop.continue_tool_loop)
        elif not self.prompt.has_focus:
            self.prompt.focus()  # Esc on a focused message goes back to typing
        elif self.tool_loop.answering is not None:
            self.tool_loop.offer_decline()

    async def action_regenerate(self) -> None:
        """Ask again for the last reply (the previous answer is kept as an alternative)."""
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
            self.keep_as_alternative(last)  # its answers go to the next reply (‹ 1/2 ›)
            await self._drop_from(last)
        if not requestable(self.session.messages):
            self.app.notify("Nothing to regenerate yet: ask a question first.")
            return
        await self.start_reply()

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
        self.stash_draft()
        self.prompt.set_prompt(safe_text(last.content))  # an editor draws text as it is
        await self.restore_question_images(last)
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
        self.record(lambda: self.recorder.remove_from(message))

    # -- other screens ----------------------------------------------------------------------

    def action_open_settings(self) -> None:
        from glm_tui.ui.screens.sampling import SamplingScreen

        app = self.services
        self.app.push_screen(SamplingScreen(
            self.session.sampling,
            kind=app.kind_for(self.session.model),
            presets=app.settings.presets,
            config_path=app.settings.config_path,
            streaming=self.reply_running,
            on_change=self.apply_sampling,
            focus_field="temperature",
            defaults=app.settings.sampling,
            on_presets_change=lambda presets: app.update_settings(presets=presets),
            on_defaults_saved=lambda params: app.update_settings(sampling=params),
            preserve=self.session.preserve_thinking, on_preserve=self.apply_preserve_thinking,
        ))

    def apply_sampling(self, params: SamplingParams) -> None:
        """Live change from the settings screen: the next request uses it; stored at once."""
        self.session.sampling = params
        self.record(self.recorder.save_session)
        self._refresh_status()

    def action_open_sessions(self) -> None:
        from glm_tui.ui.screens.sessions import SessionsScreen

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

    def action_new_session(self) -> None:
        self.post_message(NewSession())

    def action_show_request(self) -> None:
        from glm_tui.chat.preview import preview_body
        from glm_tui.ui.screens.request_view import RequestViewScreen

        if not self._ensure_full_history():
            return
        app = self.services
        request = preview_body(self.session, app.kind_for(self.session.model),
                               draft=self.prompt.text)
        self.app.push_screen(RequestViewScreen(request, app.profile_url, app.profile.api_key,
                                               api_key_env=app.profile.api_key_env))

    def action_pick_model(self) -> None:
        self._pick_model()

    @work(exclusive=True, exit_on_error=False, group="picker")
    async def _pick_model(self) -> None:
        from glm_tui.ui.screens.model_picker import ModelPickerScreen

        client = await self.services.get_client()
        model = await self.app.push_screen_wait(ModelPickerScreen(client, self.session.model))
        if isinstance(model, str) and model and model != self.session.model:
            self.set_model(model)

    def set_model(self, model: str) -> None:
        self.session.model = model
        self.record(self.recorder.save_session)
        self._refresh_status()
        self.services.remember_choice(server=self.services.active_server, model=model)

    def action_switch_server(self) -> None:
        from glm_tui.ui.screens.model_picker import ServerPickerScreen

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
        self.record(self.recorder.save_session)
        self._refresh_status()
        self.services.remember_choice(server=name)

    # -- tools and streaming -----------------------------------------------------------------

    def action_open_tools(self) -> None:
        from glm_tui.chat.tool_library import ToolLibrary
        from glm_tui.ui.screens.tools import ToolsScreen

        settings = self.services.settings
        self.app.push_screen(ToolsScreen(
            self.session.tools, self.session.tool_choice,
            library=ToolLibrary(settings.data_dir), on_change=self.apply_tools,
            servers=self.services.tool_servers if settings.mcp_servers else None))

    def action_toggle_stream(self) -> None:
        self.session.stream = not self.session.stream
        self.record(self.recorder.save_session)
        self._refresh_status()
        self.app.notify("Replies stream as they are written." if self.session.stream
                        else "Replies come whole (streaming off) from the next request on.")
