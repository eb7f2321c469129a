"""``ask --mcp NAME --allow-tool TOOL``: MCP tools in a one-question run, allowed up front.

There is no one to ask in a script, so the ``--allow-tool`` list is the confirmation: a reply
whose calls all name allowed MCP tools has them run (each within its server's ``call_timeout``,
its output capped) and their results sent, and the model's next reply follows, for at most
:data:`~glm_tui.cli.ask_args.MAX_TOOL_ROUNDS` rounds. A reply calling any MCP tool not allowed
runs nothing: the calls come back as :class:`NotAllowed` and ``ask`` prints them and exits with
its own status, so a script can show them to a person and run again with the tool allowed.

The decisions are the app's (:class:`~glm_tui.chat.tool_loop.ToolLoop`, with "always allow" set
on the allowed tools' entries); this module performs them. The servers start before the first
request and :meth:`AskTools.stop` stops them on every way out, Ctrl+C included.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_tui.cli.ask_args import EXIT_SERVER, EXIT_USAGE
from glm_tui.cli.output import emit, error

if TYPE_CHECKING:
    from glm_tui.chat.request import ImageLoader
    from glm_tui.chat.tool_loop import Step
    from glm_tui.model.mcp_profile import McpServerProfile
    from glm_tui.model.session import ImageAttachment, Session, ToolCall
    from glm_tui.tool_servers.results import ToolServerResult
    from glm_tui.tool_servers.servers import ToolServers


class Next(Enum):
    """What ``ask`` does after :meth:`AskTools.answer`, when it is not an exit status."""

    ASK_MODEL = "ask-model"  # every call was answered: the model's next reply
    NOT_MCP = "not-mcp"  # a call of a tool that is not an MCP server's: reported as before


@dataclass(frozen=True)
class BlockedCall:
    """An MCP call that was not run because no ``--allow-tool`` names its tool."""

    call: ToolCall
    server: str
    tool: str

    def to_json(self) -> dict[str, Any]:
        """The call for ``--json``: the exact arguments text the model sent."""
        return {"id": self.call.id, "name": self.call.name, "server": self.server,
                "tool": self.tool, "arguments": self.call.arguments}

    def describe(self) -> str:
        """The call for the person: which tool of which server, with exactly what."""
        qualified = f"{self.server}/{self.tool}"
        sent = "" if self.call.name == self.tool else f" (sent as {self.call.name})"
        return (f"the model called the tool {self.tool} of the MCP server {self.server}{sent} "
                f"{_with(self.call)}: not run, as no --allow-tool names it (--allow-tool "
                f"{self.call.name} or --allow-tool {qualified} lets it run)")


@dataclass(frozen=True)
class NotAllowed:
    """The reply's calls of MCP tools that were not allowed; none of its calls ran."""

    calls: tuple[BlockedCall, ...]


class AskTools:
    """The MCP servers of one ``ask``: their tools offered, allowed calls run, all stopped."""

    def __init__(self, profiles: Mapping[str, McpServerProfile], log_dir: Path,
                 allow: Sequence[str]) -> None:
        from glm_tui.tool_servers.servers import ToolServers

        self.profiles = dict(profiles)
        self.allow = list(dict.fromkeys(allow))
        self.allowed: set[str] = set()  # the names sent to the model of the allowed tools
        self.servers: ToolServers = ToolServers(self.profiles, log_dir)
        self.image_loader: ImageLoader | None = None
        """Reads back the conversation's pictures: the question's, then results' (in memory:
        ``ask`` keeps nothing). Set by the caller, extended by :meth:`answer`."""

    async def offer(self, session: Session) -> int | None:
        """Start every server and add its tools to ``session``; an exit status if that fails.

        The servers start at once, each within its own startup timeout. A tool named like one
        already offered (a ``--tools`` entry, another server's) is sent under a qualified name.
        """
        from glm_tui.chat.mcp_tools import server_tool_entry
        from glm_tui.chat.tool_loop import ToolLoop
        from glm_tui.chat.tools import tool_name
        from glm_tui.tool_servers.errors import ToolServerError

        names = list(self.profiles)
        found = await asyncio.gather(*(self.servers.tools(name) for name in names),
                                     return_exceptions=True)
        failed = False
        for name, tools in zip(names, found, strict=True):
            if isinstance(tools, ToolServerError):
                error(f"error: {tools}")
                error(f"the server's own messages are in {self._log_of(name)}")
                failed = True
            elif isinstance(tools, BaseException):
                raise tools
        if failed:
            return EXIT_SERVER
        taken = {tool_name(entry) for entry in session.tools}
        entries: list[dict[str, Any]] = []
        for tools in found:
            assert isinstance(tools, list)
            for tool in tools:
                entries.append(server_tool_entry(tool, taken))  # taken gains its name
        session.tools = [*session.tools, *entries]
        if session.tools:
            session.tool_choice = "auto"
        problem = self._resolve_allowed(entries)
        if problem:
            emit(f"glm-tui ask: error: {problem}", stream=sys.stderr)
            return EXIT_USAGE
        loop = ToolLoop(session)
        for name in self.allowed:
            loop.always_allow(name)
        return None

    def _resolve_allowed(self, entries: Sequence[dict[str, Any]]) -> str | None:
        from glm_tui.chat.mcp_tools import mcp_origin
        from glm_tui.chat.tools import tool_name

        known: dict[str, str] = {}  # a name --allow-tool accepts -> the name sent
        for entry in entries:
            origin = mcp_origin(entry)
            if origin is None:
                continue
            sent = tool_name(entry)
            known[sent] = sent
            known.setdefault("/".join(origin), sent)
        for name in self.allow:
            if name not in known:
                offered = ", ".join(sorted(set(known.values()))) or "none"
                return (f"--allow-tool {name}: no tool of the servers given with --mcp has "
                        f"that name (SERVER/TOOL works too); their tools: {offered}")
            self.allowed.add(known[name])
        return None

    async def answer(self, session: Session) -> Next | NotAllowed | int:
        """Run the newest reply's calls if every one may run; what ``ask`` does next."""
        from glm_tui.chat.mcp_tools import mcp_origin
        from glm_tui.chat.tool_loop import AnswerByHand, AskModel, RunServerCall, ToolLoop
        from glm_tui.chat.tool_turns import pending_calls

        loop = ToolLoop(session)
        blocked: list[BlockedCall] = []
        for call in pending_calls(session):
            entry = loop.entry_for(call)
            origin = mcp_origin(entry) if entry is not None else None
            if origin is None:
                return Next.NOT_MCP
            if call.name not in self.allowed:
                blocked.append(BlockedCall(call, *origin))
        if blocked:
            return NotAllowed(tuple(blocked))
        step: Step = loop.next_step()
        while isinstance(step, RunServerCall):
            # Said before the call, so a long one shows what glm-tui is waiting for.
            error(f"calling {step.server}/{step.tool} {_with(step.call)}")
            result = await self.servers.call(step.server, step.tool, step.arguments)
            _say_result(step.server, step.tool, result)
            done = loop.server_call_done(step.call, result)
            if isinstance(done, AnswerByHand):
                error(f"error: {done.problem or result.error or 'the call failed'}")
                error(f"the server's own messages are in {self._log_of(step.server)}")
                return EXIT_SERVER
            pictures: list[ImageAttachment] = []
            if done.images:
                from glm_tui.chat.result_images import result_images_in_memory

                pictures, self.image_loader, problems = result_images_in_memory(
                    done.images, step.tool, self.image_loader)
                for problem in problems:
                    error(problem)
            session.messages.append(loop.answer(step.call, done.text, pictures))
            step = loop.after()
        if isinstance(step, AskModel):
            return Next.ASK_MODEL
        if isinstance(step, AnswerByHand):  # arguments that are not a JSON object, say
            error(f"error: the model's call of {step.call.name} cannot be run: "
                  f"{step.problem or 'it needs a result written by hand'}")
            return EXIT_SERVER
        return Next.NOT_MCP  # never a confirmation here: the allow list was applied above

    async def stop(self) -> None:
        """Stop every server (idempotent; also after a failure or Ctrl+C)."""
        await self.servers.stop_all()

    def _log_of(self, name: str) -> str:
        from glm_tui.settings.config import display_path

        return display_path(self.servers.log_path(name))


def _say_result(server: str, tool: str, result: ToolServerResult) -> None:
    """What the person should know of a result besides the reply: a flagged error, a cut."""
    if result.error:
        return  # the error itself is said next
    if not result.ok:
        error(f"{server}/{tool}: the server flagged an error; it is sent to the model")
    if result.truncated:
        error(f"{server}/{tool}: the result was cut at the output cap")


def _with(call: ToolCall) -> str:
    """The arguments exactly as the model sent them."""
    return f"with {call.arguments}" if call.arguments else "with no arguments"
