"""The tool-call loop on screen: the prompt's result-editor mode and the dialogs.

What happens next after a reply that calls tools is decided by
:class:`glm_tui.chat.tool_loop.ToolLoop` (answer by hand, ask before a handler runs, run it, let
the model go on); this module only performs those steps: the prompt turns into the result editor
for a waiting call (Enter sends it as a ``role: "tool"`` message), the handler question and the
"decline?" question are dialogs, and a confirmed handler, or a confirmed call to a tool of an MCP
server (:mod:`glm_tui.ui.screens.server_calls`), runs in a worker of the host screen so that Esc
and leaving the screen stop it.

The host is the conversation screen, reached through :class:`ToolHost` rather than imported, so
the two modules do not depend on each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Protocol

from textual.app import App
from textual.content import Content

from glm_tui.chat.mcp_tools import mcp_origin
from glm_tui.chat.tool_loop import (
    AnswerByHand,
    AskModel,
    Choice,
    ConfirmHandler,
    ConfirmServerCall,
    Done,
    RunHandler,
    RunServerCall,
    SendResult,
    StaleCall,
    Step,
    ToolLoop,
)
from glm_tui.chat.tool_runner import run_handler
from glm_tui.chat.tool_turns import pending_calls
from glm_tui.model.session import Message, Session, ToolCall
from glm_tui.storage.recorder import SessionRecorder
from glm_tui.tool_servers.results import ResultImage
from glm_tui.ui.dialogs.confirm import ConfirmModal
from glm_tui.ui.dialogs.handler import HandlerChoice, HandlerConfirmModal
from glm_tui.ui.literal import literal_line
from glm_tui.ui.screens.server_calls import (
    ask_server_call,
    keep_result_images,
    run_server_call,
    server_call_label,
)
from glm_tui.ui.services import Services
from glm_tui.ui.widgets.prompt_input import PromptInput


def literal_title(*parts: str) -> Content:
    """A border title from text that may come from the model (a tool name): never markup.

    A plain ``str`` border title is parsed as markup, so a tool named ``[/]`` would raise.
    """
    return literal_line("".join(parts))


class ToolHost(Protocol):
    """What the tool prompt needs from the screen it lives on."""

    @property
    def app(self) -> App[Any]: ...

    @property
    def session(self) -> Session: ...

    @property
    def prompt(self) -> PromptInput: ...

    @property
    def reply_running(self) -> bool: ...

    @property
    def services(self) -> Services: ...

    @property
    def recorder(self) -> SessionRecorder: ...

    def save_session(self) -> None:
        """Store the session's settings (a tool was set to "always allow")."""

    async def add_message(self, message: Message) -> None:
        """Store and show a new message."""

    async def start_reply(self) -> None:
        """Request the model's next reply."""

    def run_handler_worker(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the screen's handler worker group (Esc and leaving stop it)."""


class ToolCallPrompt:
    """Answering one conversation's tool calls, by hand or with a confirmed local handler."""

    def __init__(self, host: ToolHost) -> None:
        self.host = host
        self.loop = ToolLoop(host.session)
        self._answering: ToolCall | None = None
        self._question_placeholder: str | Content | None = None
        self._running = "the handler"  # what Esc stops: a handler, or an MCP call

    @property
    def answering(self) -> ToolCall | None:
        """The call whose result the prompt is editing now, if any."""
        return self._answering

    async def continue_tool_loop(self, *, opened: bool = False) -> None:
        """Ask for the next waiting call's result; with none left, stop answering.

        ``opened``: the session was just opened, so no handler runs unasked.
        """
        if self.host.reply_running:
            return
        self.loop.session = self.host.session
        await self._perform(self.loop.next_step(opened=opened))

    async def _perform(self, step: Step) -> None:
        if isinstance(step, Done):
            self.end_answering()
        elif isinstance(step, AnswerByHand):
            if step.report:
                server_call = self._origin(step.call) is not None
                self.host.app.notify(step.report, severity="error", timeout=20, markup=False,
                                     title="MCP call failed" if server_call else "Handler failed")
            self.begin_answering(step.call, problem=step.problem)
        elif isinstance(step, RunHandler):
            self.host.run_handler_worker(self._run_handler(step))
        elif isinstance(step, RunServerCall):
            self.host.run_handler_worker(self._run_server_call(step))
        elif isinstance(step, ConfirmHandler | ConfirmServerCall):
            self._ask_to_run(step)
        elif isinstance(step, SendResult):
            # Esc from here on must not cut the result half-way into the conversation.
            await asyncio.shield(self.submit_tool_result(step.call, step.text, step.images))
        elif isinstance(step, AskModel):
            await self.host.start_reply()

    def _origin(self, call: ToolCall) -> tuple[str, str] | None:
        entry = self.loop.entry_for(call)
        return None if entry is None else mcp_origin(entry)

    def _ask_to_run(self, step: ConfirmHandler | ConfirmServerCall) -> None:
        async def chosen(choice: HandlerChoice | None) -> None:
            decided = None if choice is None else Choice(choice.value)
            next_step = self.loop.choose(step, decided)
            if decided is Choice.ALWAYS:
                self.host.save_session()
            await self._perform(next_step)

        if isinstance(step, ConfirmServerCall):
            ask_server_call(self.host.app, step, chosen)
            return
        self.host.app.push_screen(
            HandlerConfirmModal(step.call.name, step.command, step.arguments), chosen
        )

    def begin_answering(self, call: ToolCall, problem: str = "") -> None:
        """Turn the prompt into the result editor for ``call``."""
        self._answering = call
        prompt = self.host.prompt
        if self._question_placeholder is None:
            self._question_placeholder = prompt.placeholder
        prompt.placeholder = literal_title("The result of ", call.name,
                                           " (text or JSON) · Enter sends · Esc declines the call")
        prompt.add_class("-answering")
        prompt.border_title = literal_title("Result of ", call.name,
                                            " · Enter sends · Ctrl+J new line")
        prompt.border_subtitle = literal_title(problem[:200]) if problem else None
        prompt.focus()

    def end_answering(self) -> None:
        self._answering = None
        prompt = self.host.prompt
        if self._question_placeholder is not None:
            prompt.placeholder = self._question_placeholder
            self._question_placeholder = None
        prompt.remove_class("-answering")
        prompt.border_subtitle = None
        if not prompt.has_class("-editing"):
            prompt.border_title = None

    def offer_decline(self) -> None:
        """Esc while a call waits: ask, then tell the model the user declined to run it."""
        call = self._answering
        if call is None:
            return
        answer_text = self.loop.declined(call)

        async def answered(decline: bool | None) -> None:
            if decline and await self.submit_tool_result(call, answer_text):
                self.host.prompt.clear()

        self.host.app.push_screen(ConfirmModal(
            f"Decline the call to {call.name}?",
            f"The model is told: {answer_text}\nThen it goes on without the result.",
            confirm="Decline", cancel="Keep answering",
        ), answered)

    async def submit_tool_result(self, call: ToolCall, text: str,
                                 images: tuple[ResultImage, ...] = ()) -> bool:
        """Store and show the result of ``call`` (with the pictures an MCP tool returned);
        then go on with the loop."""
        if self.host.reply_running:
            return False
        self.loop.session = self.host.session
        kept = await keep_result_images(self.host.recorder.store, images, call.name,
                                        self.host.app.notify) if images else []
        try:
            result = self.loop.answer(call, text, kept)
        except StaleCall:
            return False  # the conversation moved on (regenerated, edited) meanwhile
        except ValueError as exc:
            self.host.app.notify(str(exc), title="Not sent", severity="error", markup=False)
            return False
        await self.host.add_message(result)
        self.end_answering()
        await self._perform(self.loop.after())
        return True

    async def _run_handler(self, step: RunHandler) -> None:
        """Run a confirmed handler; its output is the result, a failure is shown and the call
        stays open for an answer by hand."""
        self._running = "the handler"
        self.host.prompt.border_title = literal_title("Running the handler of ",
                                                      step.call.name, "…")
        result = await run_handler(step.handler, step.call.arguments)
        await self._perform(self.loop.handler_done(step.call, result))

    async def _run_server_call(self, step: RunServerCall) -> None:
        """Call a tool of an MCP server (confirmed); its result goes back to the model, a
        failure is said and the call stays open for an answer by hand."""
        label = server_call_label(step.server, step.tool)
        self._running = f"the call to {label}"
        self.host.prompt.border_title = literal_title("Running ", label, "… · Esc cancels")
        result = await run_server_call(self.host.services.tool_servers, step,
                                       self.host.app.notify)
        await self._perform(self.loop.server_call_done(step.call, result))

    def stopped_by_escape(self) -> None:
        """Esc stopped a running handler or MCP call (the server is told): the call waits for
        an answer by hand."""
        pending = pending_calls(self.host.session)
        if pending:
            self.begin_answering(pending[0], problem=f"{self._running} stopped by Esc")
        self.host.app.notify(f"Stopped {self._running}; write the result by hand.",
                             markup=False)
