"""How ``ask`` runs its conversation and says how it ended.

One question is usually one turn; with ``--mcp`` it is the question, then rounds of allowed MCP
calls and the model's replies to their results (:mod:`glm_tui.cli.ask_mcp` decides and runs the
calls). Each turn is the app's :class:`~glm_tui.chat.turn.Turn`, drawn by :class:`AskView`: the
reply text to stdout as it arrives, the reasoning to stderr. The last reply is reported by
:func:`report` (its JSON with ``--json``, tool calls, errors) and gives the exit status.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from glm_tui.cli.ask_args import (
    EXIT_CUT,
    EXIT_NOT_ALLOWED,
    EXIT_OK,
    EXIT_SERVER,
    EXIT_USAGE,
    MAX_TOOL_ROUNDS,
)
from glm_tui.cli.output import StreamWriter, emit, error

if TYPE_CHECKING:
    from glm_tui.chat.reply_tracker import ReplyStats
    from glm_tui.chat.request import ImageLoader
    from glm_tui.chat.turn import Link, PreparedTurn, TurnOutcome
    from glm_tui.cli.ask_mcp import AskTools, NotAllowed
    from glm_tui.client.client import ChatClient
    from glm_tui.model.server_kind import ServerKind
    from glm_tui.model.session import Session, ToolCall
    from glm_tui.settings.config import Settings


class Shown:
    """What ``ask`` prints besides the answer (the JSON message, the reasoning), and the MCP
    servers whose tools it offers."""

    def __init__(self, *, json_mode: bool, thinking: bool, tools: AskTools | None) -> None:
        self.json_mode = json_mode
        self.thinking = thinking
        self.tools = tools


async def converse(settings: Settings, base_url: str, api_key: str, session: Session,
                    kind: ServerKind, loader: ImageLoader | None, view: AskView,
                    shown: Shown) -> int:
    """The question, and with ``--mcp`` the rounds of allowed tool calls, until a final reply.

    The MCP servers start before anything is sent and are stopped on every way out.
    """
    from glm_tui.client.client import ChatClient

    tools = shown.tools
    client = ChatClient(base_url, api_key, connect_timeout=settings.connect_timeout,
                        read_timeout=settings.read_timeout)
    try:
        if tools is not None:
            status = await tools.offer(session)
            if status is not None:
                return status
        return await _rounds(client, base_url, session, kind, loader, view, shown)
    finally:
        try:
            await client.aclose()
        finally:
            if tools is not None:
                await tools.stop()


async def _rounds(client: ChatClient, base_url: str, session: Session, kind: ServerKind,
                  loader: ImageLoader | None, view: AskView, shown: Shown) -> int:
    """Turn after turn until a reply that is not a round of allowed MCP calls; its status.

    Without ``--mcp`` that is the first reply. Notes are said once (each round prepares the
    request anew). The last reply is reported as ``ask`` always did; a reply whose calls are not
    allowed ends with exit status 4, a round past :data:`MAX_TOOL_ROUNDS` with 1.
    """
    from glm_tui.chat.model_list import note_after_refusal
    from glm_tui.chat.turn import prepare_turn
    from glm_tui.cli.ask_mcp import Next, NotAllowed
    from glm_tui.model.server_kind import ServerKind

    said: set[str] = set()  # a note is said once, not at every round
    rounds = 0
    images_refused = False
    if shown.tools is not None:
        shown.tools.image_loader = loader
    while True:
        if shown.tools is not None:  # a result's pictures join the question's
            loader = shown.tools.image_loader
        prepared = prepare_turn(session, kind, image_loader=loader, images_refused=images_refused)
        if prepared.refusal:
            return usage_error(prepared.refusal)
        for note in [*prepared.notes, *(f"warning: {w.message}" for w in prepared.warnings)]:
            if note not in said:
                said.add(note)
                error(note)
        outcome = await _turn(client, base_url, prepared, view)
        if outcome.images_refused and rounds and not images_refused:
            # A tool's pictures, not the person's: the app would remember this and leave them
            # out from now on; ask does the same at once and asks again.
            error(f"the server cannot read images with the model {session.model}: the pictures "
                  "of the tool results are left out, and the model is asked again")
            images_refused = True
            view.next_reply()
            continue
        if shown.tools is not None and _calls_tools(outcome):
            if rounds == MAX_TOOL_ROUNDS:
                if shown.json_mode:
                    print_json(outcome.reply.content, outcome.reply.tool_calls,
                               outcome.reply.reasoning)
                error(f"error: the model still calls tools after {MAX_TOOL_ROUNDS} rounds of "
                      "calls; stopped without running these")
                return EXIT_SERVER
            session.messages.append(outcome.reply)
            step = await shown.tools.answer(session)
            if step is Next.ASK_MODEL:
                rounds += 1
                view.next_reply()
                continue
            if isinstance(step, NotAllowed):
                return _not_allowed(outcome, step, shown.json_mode)
            if isinstance(step, int):
                return step
        model_note = await note_after_refusal(
            client, prepared.session.model, outcome.error,
            glm_local=prepared.kind in (ServerKind.GLM4, ServerKind.GLM4V))
        return report(outcome, prepared, view, shown.json_mode, model_note)


async def _turn(client: ChatClient, base_url: str, prepared: PreparedTurn,
                view: AskView) -> TurnOutcome:
    """Run one turn as the app does; the reply text goes to stdout as it arrives."""
    from glm_tui.chat.turn import Turn
    from glm_tui.model.session import Message, MessageStatus, Role

    async def connect() -> ChatClient:
        return client

    turn = Turn(prepared, Message(Role.ASSISTANT, status=MessageStatus.STREAMING),
                save_interval=float("inf"), base_url=base_url)
    try:
        await turn.run(connect, view)
    except BrokenPipeError:
        raise  # the reader went away: run_ask stops quietly
    except Exception:
        pass  # glm-tui's own failure: the turn worded it on the reply, reported below
    outcome = turn.outcome
    assert outcome is not None  # run() always leaves one
    view.thinking.finish()
    view.writer.write(outcome.tail)  # a server that buffers may hand the whole text over at the end
    view.writer.finish()
    if outcome.adopted_note:
        error(outcome.adopted_note)
    return outcome


def _calls_tools(outcome: TurnOutcome) -> bool:
    """A whole reply whose calls may be run: complete, not cut, nothing lost on the way."""
    from glm_tui.chat.cut_reply import earlier_problem
    from glm_tui.model.session import MessageStatus

    reply = outcome.reply
    return (reply.status is MessageStatus.COMPLETE and bool(reply.tool_calls)
            and not outcome.all_thinking and not outcome.cut_note
            and not earlier_problem(reply.error, outcome.cut_note))


def _not_allowed(outcome: TurnOutcome, blocked: NotAllowed, json_mode: bool) -> int:
    """Print the calls that were not run (stderr; and in the JSON), then exit with status 4."""
    reply = outcome.reply
    if json_mode:
        print_json(reply.content, reply.tool_calls, reply.reasoning,
                    not_allowed=[call.to_json() for call in blocked.calls])
    for call in blocked.calls:
        error(call.describe())
    return EXIT_NOT_ALLOWED


def report(outcome: TurnOutcome, prepared: PreparedTurn, view: AskView, json_mode: bool,
            model_note: str | None) -> int:
    """Print how the final reply ended (JSON, tool calls, errors); its exit status."""
    from glm_tui.model.session import MessageStatus

    reply = outcome.reply
    if reply.status is MessageStatus.COMPLETE:
        if json_mode:
            print_json(reply.content, reply.tool_calls, reply.reasoning)
        else:
            _describe_tool_calls(reply.tool_calls)
        if outcome.all_thinking:  # no answer came: not a reply a script can use
            from glm_tui.chat.turn import ALL_THINKING

            error(ALL_THINKING)
            if outcome.cut_note:
                error(outcome.cut_note)
            return EXIT_SERVER
        from glm_tui.chat.cut_reply import earlier_problem

        problem = earlier_problem(reply.error, outcome.cut_note)
        if problem:  # the server sent pieces that could not be read: text may be missing
            error(f"error: {problem}")
            return EXIT_SERVER
        if outcome.cut_note:
            error(f"{outcome.cut_note} --max-tokens N allows more (exit status {EXIT_CUT}).")
            return EXIT_CUT
        return EXIT_OK
    error(f"error: {reply.error or 'the reply did not complete'}")
    if outcome.images_refused:
        error(f"the server cannot read images with the model {prepared.session.model}: ask "
              "without --image, or choose a vision model")
    if model_note:
        error(f"{model_note} --model picks one.")
    if view.writer.printed:
        error("the reply was interrupted: the text printed is incomplete")
    return EXIT_SERVER


class AskView:
    """``ask``'s :class:`~glm_tui.chat.turn.TurnView`: text to stdout, reasoning to stderr."""

    def __init__(self, writer: StreamWriter, thinking: StreamWriter) -> None:
        self.writer = writer
        self.thinking = thinking
        self.text: Callable[[str], None] = writer.write
        self.reasoning: Callable[[str], None] = thinking.write
        self.next_reply()

    def next_reply(self) -> None:
        """A new reply begins (``ask --mcp`` asks again after tool results): the reasoning
        line is ended before its first answer text, and "printed" counts from here."""
        self.writer.before_first = self.thinking.finish
        self.writer.printed = self.thinking.printed = False

    def answer_was_reasoning(self, text: str) -> None:
        """What was printed as the answer was thinking: it cannot be taken back, so say so."""
        if self.writer.printed:
            self.writer.finish()
            error("the text above was the model's thinking (it ended with </think> only then); "
                  "the answer follows")

    def state(self) -> None:
        pass

    def link(self, state: Link, detail: str) -> None:
        pass

    def stats(self, stats: ReplyStats) -> None:
        pass

    def save(self) -> None:
        pass

    def finished(self, outcome: TurnOutcome) -> None:
        pass


def print_json(text: str, tool_calls: Sequence[ToolCall], reasoning: str, *,
                not_allowed: list[dict[str, Any]] | None = None) -> None:
    from glm_tui.chat.export import json_text  # C1 and bidi escaped too: safe to print as is

    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if (tool_calls and not text) else text,
    }
    if reasoning:  # only when the model thought: a plain reply's JSON is as it always was
        message["reasoning_content"] = reasoning
    message["tool_calls"] = [call.to_openai() for call in tool_calls]
    if not_allowed is not None:  # ask --mcp: the calls that were not run (exit status 4)
        message["not_allowed"] = not_allowed
    emit(json_text(message))
    sys.stdout.flush()


def _describe_tool_calls(tool_calls: Sequence[ToolCall]) -> None:
    """In text mode a tool call is not reply text: tell the person on stderr how to get it."""
    for call in tool_calls:
        error(f"the model called the tool {call.name} with {call.arguments} "
              "(use --json to get the call as data)")


def usage_error(message: str) -> int:
    emit(f"glm-tui ask: error: {message}", stream=sys.stderr)
    return EXIT_USAGE
