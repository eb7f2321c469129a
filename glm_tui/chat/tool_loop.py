"""The tool-call loop's decisions, apart from any screen: ask, confirm, run, continue, done.

After a reply that calls tools, each call waits for a result. For the first waiting call the loop
decides one :data:`Step`: the person answers it by hand, or is asked whether its local handler
may run, or (with "always allow") the handler runs; with every call answered the model is asked
to go on. A front end performs the step (a prompt mode, a dialog, a subprocess) and reports back
(:meth:`ToolLoop.choose`, :meth:`ToolLoop.handler_done`, :meth:`ToolLoop.answer`), and the loop
gives the next step. Which calls wait is derived from the session each time
(:func:`~glm_tui.chat.tool_turns.pending_calls`), so a resumed session continues exactly where it
stopped.

One rule is the loop's own, not the front end's: a call found waiting when a session is opened
(resumed, or picked on the sessions screen) never runs its handler unasked, even with "always
allow". "Always" was given for calls made while the person watches; a session opened later may
hold a call they never saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from glm_tui.chat.tool_runner import HandlerResult, describe_command
from glm_tui.chat.tool_turns import answer, pending_calls
from glm_tui.chat.tools import (
    handler_of,
    is_enabled,
    pretty_arguments,
    tool_name,
    tool_settings,
    with_settings,
)
from glm_tui.model.session import Message, Session, ToolCall

DECLINED = "The user declined to run {name}."


class Choice(Enum):
    """The person's answer to "may this handler run?"."""

    RUN_ONCE = "run-once"
    ALWAYS = "always"
    BY_HAND = "by-hand"


@dataclass(frozen=True)
class AnswerByHand:
    """The prompt becomes the result editor for ``call``; ``problem`` says why, if a handler
    failed, and ``report`` is the full account for a notification."""

    call: ToolCall
    problem: str = ""
    report: str = ""


@dataclass(frozen=True)
class ConfirmHandler:
    """Ask the person before running ``handler`` for ``call`` (the exact command and arguments)."""

    call: ToolCall
    handler: list[str]
    command: str
    arguments: str


@dataclass(frozen=True)
class RunHandler:
    """Run ``handler`` for ``call`` now (the person allowed it)."""

    call: ToolCall
    handler: list[str]


@dataclass(frozen=True)
class SendResult:
    """A handler printed ``text``: it is the result of ``call``."""

    call: ToolCall
    text: str


@dataclass(frozen=True)
class AskModel:
    """Every call of the turn is answered: request the model's next reply."""


@dataclass(frozen=True)
class Done:
    """Nothing waits for a result."""


Step = AnswerByHand | ConfirmHandler | RunHandler | SendResult | AskModel | Done


class StaleCall(Exception):
    """The call no longer waits (the conversation was regenerated or edited meanwhile)."""


class ToolLoop:
    """The decisions of one session's tool-call loop (no drawing, no subprocess)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def entry_for(self, call: ToolCall) -> dict[str, Any] | None:
        """The enabled tool entry ``call`` names, if the session has one."""
        for entry in self.session.tools:
            if tool_name(entry) == call.name and is_enabled(entry):
                return entry
        return None

    def next_step(
        self, *, opened: bool = False
    ) -> AnswerByHand | ConfirmHandler | RunHandler | Done:
        """What the first waiting call needs; ``opened``: the session was just opened."""
        pending = pending_calls(self.session)
        if not pending:
            return Done()
        call = pending[0]
        entry = self.entry_for(call)
        handler = handler_of(entry) if entry is not None else None
        if entry is None or handler is None:
            return AnswerByHand(call)
        if tool_settings(entry).get("always_allow") and not opened:
            return RunHandler(call, handler)
        arguments, _ = pretty_arguments(call.arguments)
        return ConfirmHandler(call, handler, describe_command(handler), arguments)

    def choose(self, asked: ConfirmHandler, choice: Choice | None) -> RunHandler | AnswerByHand:
        """The person answered the handler question (``None``: dismissed, as by hand).

        "Always" is written into the session's tool settings; the caller saves the session.
        """
        if choice is Choice.ALWAYS:
            self.always_allow(asked.call.name)
        if choice in (Choice.RUN_ONCE, Choice.ALWAYS):
            return RunHandler(asked.call, asked.handler)
        return AnswerByHand(asked.call)

    def always_allow(self, name: str) -> None:
        self.session.tools = [
            with_settings(entry, always_allow=True) if tool_name(entry) == name else entry
            for entry in self.session.tools
        ]

    def is_waiting(self, call: ToolCall) -> bool:
        return call in pending_calls(self.session)

    def answer(self, call: ToolCall, text: str) -> Message:
        """The tool message answering ``call`` (the caller stores it, then asks :meth:`after`).

        Raises :class:`StaleCall` when the call no longer waits, ``ValueError`` for an empty
        result (its message is for the person).
        """
        if not self.is_waiting(call):
            raise StaleCall(call.id)
        return answer(call, text)

    def after(self) -> AnswerByHand | ConfirmHandler | RunHandler | AskModel:
        """After a result was stored: the next waiting call, or the model's turn."""
        step = self.next_step()
        return AskModel() if isinstance(step, Done) else step

    def handler_done(self, call: ToolCall, result: HandlerResult) -> SendResult | AnswerByHand:
        """A handler ended: its output is the result, or the call is answered by hand."""
        if result.ok and result.output.strip():
            return SendResult(call, result.output)
        problem = result.error or "the handler printed nothing"
        details = [f"The handler of {call.name} failed: {problem}."]
        if result.exit_status is not None and not result.ok:
            details.append(f"Exit status: {result.exit_status}.")
        if result.stderr:
            details.append(f"stderr:\n{result.stderr[-2000:]}")
        details.append("Write the result by hand in the prompt.")
        return AnswerByHand(call, problem=f"handler failed: {problem}", report="\n".join(details))

    @staticmethod
    def declined(call: ToolCall) -> str:
        """The result sent when the person declines a call."""
        return DECLINED.format(name=call.name)
