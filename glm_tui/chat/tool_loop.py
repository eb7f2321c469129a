"""The tool-call loop's decisions, apart from any screen: ask, confirm, run, continue, done.

After a reply that calls tools, each call waits for a result. For the first waiting call the loop
decides one :data:`Step`: the person answers it by hand, or is asked whether its local handler
may run, or (with "always allow") the handler runs; with every call answered the model is asked
to go on. A front end performs the step (a prompt mode, a dialog, a subprocess) and reports back
(:meth:`ToolLoop.choose`, :meth:`ToolLoop.handler_done`, :meth:`ToolLoop.answer`), and the loop
gives the next step. Which calls wait is derived from the session each time
(:func:`~glm_tui.chat.tool_turns.pending_calls`), so a resumed session continues exactly where it
stopped.

A call to an MCP tool (an entry with an ``mcp`` origin, :mod:`glm_tui.chat.mcp_tools`) follows
the same rules with its own steps: :class:`ConfirmServerCall` shows the exact server, tool and
arguments, :class:`RunServerCall` is the person's yes, and :meth:`ToolLoop.server_call_done`
turns the server's result into the result to send (or the call answered by hand when the call
itself failed). No MCP call runs without one of those yeses: the loop never returns
:class:`RunServerCall` except from :meth:`ToolLoop.choose` or for a tool the person always
allowed in this session.

One rule is the loop's own, not the front end's: a call found waiting when a session is opened
(resumed, or picked on the sessions screen) never runs its handler (or MCP tool) unasked, even
with "always allow". "Always" was given for calls made while the person watches; a session
opened later may hold a call they never saw.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from glm_tui.chat.mcp_tools import mcp_origin
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
from glm_tui.model.session import ImageAttachment, Message, Session, ToolCall
from glm_tui.tool_servers.results import ResultImage, ToolServerResult

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
class ConfirmServerCall:
    """Ask the person before calling ``tool`` on the MCP server ``server`` for ``call``."""

    call: ToolCall
    server: str
    tool: str
    arguments: str  # pretty JSON, exactly what will be sent


@dataclass(frozen=True)
class RunServerCall:
    """Call the MCP tool now (the person allowed it, once or always for this session)."""

    call: ToolCall
    server: str
    tool: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class SendResult:
    """A handler printed ``text`` (or an MCP tool gave it): it is the result of ``call``."""

    call: ToolCall
    text: str
    images: tuple[ResultImage, ...] = ()  # pictures an MCP tool returned with its text


@dataclass(frozen=True)
class AskModel:
    """Every call of the turn is answered: request the model's next reply."""


@dataclass(frozen=True)
class Done:
    """Nothing waits for a result."""


Step = (AnswerByHand | ConfirmHandler | RunHandler | ConfirmServerCall | RunServerCall
        | SendResult | AskModel | Done)
Asked = ConfirmHandler | ConfirmServerCall
Run = RunHandler | RunServerCall
TOOL_ERROR_PREFIX = "The tool reported an error:\n"


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
    ) -> AnswerByHand | Asked | Run | Done:
        """What the first waiting call needs; ``opened``: the session was just opened."""
        pending = pending_calls(self.session)
        if not pending:
            return Done()
        call = pending[0]
        entry = self.entry_for(call)
        origin = mcp_origin(entry) if entry is not None else None
        if entry is not None and origin is not None:
            return self._server_step(call, entry, origin, opened=opened)
        handler = handler_of(entry) if entry is not None else None
        if entry is None or handler is None:
            return AnswerByHand(call)
        if tool_settings(entry).get("always_allow") and not opened:
            return RunHandler(call, handler)
        arguments, _ = pretty_arguments(call.arguments)
        return ConfirmHandler(call, handler, describe_command(handler), arguments)

    def _server_step(self, call: ToolCall, entry: dict[str, Any], origin: tuple[str, str], *,
                     opened: bool) -> AnswerByHand | ConfirmServerCall | RunServerCall:
        server, tool = origin
        arguments = _object_arguments(call.arguments)
        if arguments is None:
            return AnswerByHand(call, problem="the arguments are not a JSON object, so the MCP "
                                f'tool "{tool}" cannot be called with them')
        if tool_settings(entry).get("always_allow") and not opened:
            return RunServerCall(call, server, tool, arguments)
        pretty = json.dumps(arguments, indent=2, ensure_ascii=False)
        return ConfirmServerCall(call, server, tool, pretty)

    def choose(self, asked: Asked, choice: Choice | None) -> Run | AnswerByHand:
        """The person answered the run question (``None``: dismissed, as by hand).

        "Always" is written into the session's tool settings; the caller saves the session.
        """
        if choice is Choice.ALWAYS:
            self.always_allow(asked.call.name)
        if choice not in (Choice.RUN_ONCE, Choice.ALWAYS):
            return AnswerByHand(asked.call)
        if isinstance(asked, ConfirmServerCall):
            arguments = _object_arguments(asked.call.arguments)
            if arguments is None:  # cannot happen for a step next_step made; never run it
                return AnswerByHand(asked.call)
            return RunServerCall(asked.call, asked.server, asked.tool, arguments)
        return RunHandler(asked.call, asked.handler)

    def always_allow(self, name: str) -> None:
        self.session.tools = [
            with_settings(entry, always_allow=True) if tool_name(entry) == name else entry
            for entry in self.session.tools
        ]

    def is_waiting(self, call: ToolCall) -> bool:
        return call in pending_calls(self.session)

    def answer(self, call: ToolCall, text: str,
               images: Sequence[ImageAttachment] = ()) -> Message:
        """The tool message answering ``call`` (the caller stores it, then asks :meth:`after`);
        ``images``: an MCP result's pictures, already put in the image store.

        Raises :class:`StaleCall` when the call no longer waits, ``ValueError`` for an empty
        result (its message is for the person).
        """
        if not self.is_waiting(call):
            raise StaleCall(call.id)
        return answer(call, text, images)

    def after(self) -> AnswerByHand | Asked | Run | AskModel:
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

    def server_call_done(self, call: ToolCall,
                         result: ToolServerResult) -> SendResult | AnswerByHand:
        """An MCP call ended: its result is sent (a tool-level error too, flagged, as MCP
        intends: the model can react to it); a call that failed is answered by hand."""
        if result.error is not None:
            return AnswerByHand(call, problem=f"MCP call failed: {result.error}",
                                report=f"The call to {call.name} failed: {result.error}.\n"
                                "Write the result by hand in the prompt.")
        text = result.text if result.text.strip() or result.images else "(no output)"
        if not result.ok:
            text = TOOL_ERROR_PREFIX + text
        return SendResult(call, text, result.images)

    @staticmethod
    def declined(call: ToolCall) -> str:
        """The result sent when the person declines a call."""
        return DECLINED.format(name=call.name)


def _object_arguments(arguments: str) -> dict[str, Any] | None:
    """The call's arguments as a JSON object (empty text counts as ``{}``), else ``None``."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
