"""A model's call to a tool of an MCP server, on screen: asked, run, its pictures kept.

:class:`~glm_tui.ui.screens.tool_calls.ToolCallPrompt` performs the tool loop's steps; the three
that are particular to MCP servers live here: the question (the exact server, tool and arguments,
:class:`~glm_tui.ui.dialogs.server_call.ServerCallConfirmModal`), the call itself (what went
wrong said in a toast naming the server: a tool that flagged an error, output over the cap), and
the pictures a result carries, kept in the session's image store like an attached picture
(:mod:`glm_tui.chat.result_images`).

What a server sends (its error words, its result) is data: every toast goes through the app's
``notify``, which makes it visible-safe and never markup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from glm_tui.chat.tool_loop import ConfirmServerCall, RunServerCall
from glm_tui.model.session import ImageAttachment
from glm_tui.storage.store import SessionStore, StoreError
from glm_tui.tool_servers.results import ResultImage, ToolServerResult

if TYPE_CHECKING:
    from textual.app import App

    from glm_tui.tool_servers.servers import ToolServers
    from glm_tui.ui.dialogs.handler import HandlerChoice

Notify = Callable[..., None]
"""The app's ``notify`` (keyword arguments: title, severity, timeout, markup)."""


def server_call_label(server: str, tool: str) -> str:
    """How a call is named in a toast or a title: ``clock/now``."""
    return f"{server}/{tool}"


def ask_server_call(app: App[Any], step: ConfirmServerCall,
                    chosen: Callable[[HandlerChoice | None], Awaitable[None]]) -> None:
    """Show the question before an MCP call; ``chosen`` gets the answer."""
    from glm_tui.ui.dialogs.server_call import ServerCallConfirmModal

    app.push_screen(ServerCallConfirmModal(step.server, step.tool, step.call.name,
                                           step.arguments), chosen)


async def run_server_call(servers: ToolServers, step: RunServerCall,
                          notify: Notify) -> ToolServerResult:
    """Make the call (cancelling the awaiting task cancels it on the server too) and say what
    the person should know about its result: a tool-level error, output cut at the cap."""
    result = await servers.call(step.server, step.tool, step.arguments)
    label = server_call_label(step.server, step.tool)
    if result.error is None and not result.ok:
        notify(f"{label} reported an error; it is sent to the model as the result, marked "
               "as an error.", title=f"MCP server {step.server}", severity="warning",
               timeout=10, markup=False)
    if result.truncated:
        notify(f"{label} returned more than the output limit: the result was cut (it says "
               "so at its end).", title=f"MCP server {step.server}", severity="warning",
               timeout=10, markup=False)
    return result


async def keep_result_images(store: SessionStore | None, images: Sequence[ResultImage],
                             tool: str, notify: Notify) -> list[ImageAttachment]:
    """The pictures of ``tool``'s result, put in the image store (in a thread: Pillow checks
    each), as references for its tool message. One that is not a picture, or that cannot be
    written, is said in a toast and left out (the result's text still mentions it)."""
    from glm_tui.chat.result_images import keep_result_images as keep

    if store is None:
        notify("The pictures of the tool result are not kept: the session store is not "
               "available.", severity="warning", markup=False)
        return []
    try:
        kept, problems = await asyncio.to_thread(keep, store, images, tool)
    except StoreError as exc:
        kept, problems = [], [f"the pictures from {tool} were not kept: {exc}"]
    if problems:
        notify("\n".join(problems), title="Tool result", severity="warning", timeout=10,
               markup=False)
    return kept
