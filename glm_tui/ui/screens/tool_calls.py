"""The tool-call loop of the conversation screen: answer each call, then let the model go on.

After a reply that calls tools, each call waits for a result: the prompt turns into the result
editor for the first waiting call (Enter sends it as a ``role: "tool"`` message), or, when the
tool names a local handler, the person is asked first (the exact command and arguments) and only
then does it run. Once every call of the turn is answered the next request goes by itself.
Which calls wait is derived from the session each time (:func:`pending_calls`), so a resumed
session continues exactly where it stopped.

The conversation screen owns one :class:`ToolLoop`; keeping it apart keeps the screen module
about chatting and this one about tools.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from textual.content import Content

from glm_tui.chat.tool_runner import describe_command, run_handler
from glm_tui.chat.tool_turns import answer, pending_calls, recognise_calls
from glm_tui.chat.tools import (
    handler_of,
    is_enabled,
    pretty_arguments,
    tool_name,
    tool_settings,
    with_settings,
)
from glm_tui.model.session import Message, MessageStatus, ToolCall
from glm_tui.ui.dialogs.confirm import ConfirmModal
from glm_tui.ui.dialogs.handler import HandlerChoice, HandlerConfirmModal
from glm_tui.ui.literal import literal_line

if TYPE_CHECKING:
    from glm_tui.ui.screens.conversation import ConversationScreen

DECLINED = "The user declined to run {name}."


def literal_title(*parts: str) -> Content:
    """A border title from text that may come from the model (a tool name): never markup.

    A plain ``str`` border title is parsed as markup, so a tool named ``[/]`` would raise.
    """
    return literal_line("".join(parts))


class ToolLoop:
    """Answering one conversation's tool calls, by hand or with a confirmed local handler."""

    def __init__(self, screen: ConversationScreen) -> None:
        self.screen = screen
        self._answering: ToolCall | None = None
        self._question_placeholder: str | Content | None = None

    @property
    def answering(self) -> ToolCall | None:
        """The call whose result the prompt is editing now, if any."""
        return self._answering

    def adopt_raw_tool_call(self, reply: Message) -> bool:
        """GLM-4's raw ``name\\n{json}`` text for an enabled tool becomes the call it is."""
        if reply.status is not MessageStatus.COMPLETE or reply.tool_calls or not reply.content:
            return False
        calls = recognise_calls(reply.content, self.screen.session)
        if not calls:
            return False
        reply.tool_calls = calls
        self.screen.app.notify(
            f"The server sent the model's raw call to {calls[0].name} as text; it is offered "
            "as a tool call.", markup=False,
        )
        return True

    def _entry_for(self, call: ToolCall) -> dict[str, Any] | None:
        for entry in self.screen.session.tools:
            if tool_name(entry) == call.name and is_enabled(entry):
                return entry
        return None

    async def continue_tool_loop(self) -> None:
        """Ask for the next waiting call's result; with none left, let the model continue."""
        if self.screen.reply_running:
            return
        pending = pending_calls(self.screen.session)
        if not pending:
            self.end_answering()
            return
        call = pending[0]
        entry = self._entry_for(call)
        handler = handler_of(entry) if entry is not None else None
        if handler is None:
            self.begin_answering(call)
            return
        if tool_settings(entry or {}).get("always_allow"):
            self.run_tool_handler(call, handler)
            return
        arguments, _ = pretty_arguments(call.arguments)

        async def chosen(choice: HandlerChoice | None) -> None:
            if choice is HandlerChoice.ALWAYS:
                self._always_allow(call.name)
            if choice in (HandlerChoice.RUN_ONCE, HandlerChoice.ALWAYS):
                self.run_tool_handler(call, handler)
            else:
                self.begin_answering(call)

        self.screen.app.push_screen(
            HandlerConfirmModal(call.name, describe_command(handler), arguments), chosen
        )

    def _always_allow(self, name: str) -> None:
        self.screen.session.tools = [
            with_settings(entry, always_allow=True) if tool_name(entry) == name else entry
            for entry in self.screen.session.tools
        ]
        self.screen._record(self.screen.recorder.save_session)

    def begin_answering(self, call: ToolCall, problem: str = "") -> None:
        """Turn the prompt into the result editor for ``call``."""
        self._answering = call
        prompt = self.screen.prompt
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
        prompt = self.screen.prompt
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
        answer_text = DECLINED.format(name=call.name)

        async def answered(decline: bool | None) -> None:
            if decline and await self.submit_tool_result(call, answer_text):
                self.screen.prompt.clear()

        self.screen.app.push_screen(ConfirmModal(
            f"Decline the call to {call.name}?",
            f"The model is told: {answer_text}\nThen it goes on without the result.",
            confirm="Decline", cancel="Keep answering",
        ), answered)

    async def submit_tool_result(self, call: ToolCall, text: str) -> bool:
        """Store and show the result of ``call``; then go on with the loop."""
        if self.screen.reply_running or call not in pending_calls(self.screen.session):
            return False  # the conversation moved on (regenerated, edited) meanwhile
        try:
            result = answer(call, text)
        except ValueError as exc:
            self.screen.app.notify(str(exc), title="Not sent", severity="error", markup=False)
            return False
        self.screen._record(lambda: self.screen.recorder.add_message(result))
        await self.screen.messages.append(result)
        self.end_answering()
        if pending_calls(self.screen.session):
            await self.continue_tool_loop()
        else:
            await self.screen._start_reply()
        return True

    def run_tool_handler(self, call: ToolCall, handler: list[str]) -> None:
        self.screen.run_worker(self._run_handler(call, handler), group="tool-handler",
                               exclusive=True, exit_on_error=False)

    async def _run_handler(self, call: ToolCall, handler: list[str]) -> None:
        """Run a confirmed handler; its output is the result, a failure is shown and the call
        stays open for an answer by hand."""
        self.screen.prompt.border_title = literal_title("Running the handler of ", call.name, "…")
        result = await run_handler(handler, call.arguments)
        if result.ok and result.output.strip():
            # Esc from here on must not cut the result half-way into the conversation.
            await asyncio.shield(self.submit_tool_result(call, result.output))
            return
        problem = result.error or "the handler printed nothing"
        details = [f"The handler of {call.name} failed: {problem}."]
        if result.exit_status is not None and not result.ok:
            details.append(f"Exit status: {result.exit_status}.")
        if result.stderr:
            details.append(f"stderr:\n{result.stderr[-2000:]}")
        details.append("Write the result by hand in the prompt.")
        self.screen.app.notify("\n".join(details), title="Handler failed",
                               severity="error", timeout=20, markup=False)
        self.begin_answering(call, problem=f"handler failed: {problem}")
