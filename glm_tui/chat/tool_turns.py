"""The tool-call loop over a session: which calls wait for an answer, and how answers are turned.

The tool loop (:mod:`glm_tui.chat.tool_loop`) and the turn ask these questions after every
reply; keeping them here (no Textual) means the loop is tested without a terminal and a resumed
session picks up exactly where it was:
a call with no ``role: "tool"`` answer after it is still waiting, whatever the app did before.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from glm_tui.chat.tools import BUILTIN_TYPES, enabled_function_names, is_enabled, recognise_raw_call
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import (
    ImageAttachment,
    Message,
    MessageStatus,
    Role,
    Session,
    ToolCall,
)


def new_call_id() -> str:
    """An id in the GLM server's style for a call glm-tui recognised itself."""
    return f"call_{uuid.uuid4().hex[:24]}"


def pending_calls(session: Session) -> list[ToolCall]:
    """Calls of the last assistant turn that no tool message has answered yet, in order.

    Only a complete turn's calls wait: a cancelled, cut or failed reply may hold calls whose
    arguments stop half-way, and they are never run, answered or sent back.
    """
    for index in range(len(session.messages) - 1, -1, -1):
        message = session.messages[index]
        if message.role is Role.ASSISTANT:
            if not message.tool_calls or message.status is not MessageStatus.COMPLETE:
                return []
            answered = {
                m.tool_call_id for m in session.messages[index + 1:] if m.role is Role.TOOL
            }
            return [call for call in message.tool_calls if call.id not in answered]
        if message.role is Role.USER:
            return []
    return []


def answer(call: ToolCall, content: str,
           images: Sequence[ImageAttachment] = ()) -> Message:
    """The ``role: "tool"`` message that answers ``call`` (as the reference client sends it);
    ``images``: pictures the tool returned (an MCP result), already in the image store."""
    if not content.strip():
        raise ValueError("the result is empty: write what the tool returned (text or JSON)")
    return Message(Role.TOOL, content, images=list(images), tool_call_id=call.id,
                   name=call.name)


def recognise_calls(content: str, session: Session) -> list[ToolCall]:
    """GLM-4's raw ``name\\n{json}`` content for an enabled tool, offered as a call."""
    call = recognise_raw_call(content, enabled_function_names(session.tools), new_call_id())
    return [call] if call else []


def stream_for_request(session: Session, kind: ServerKind | None) -> tuple[bool, str | None]:
    """Whether to stream this request, and why not when the session asked for streaming.

    The GLM-4 server answers an All Tools entry (``cogview`` ...) with HTTP 500 when streaming
    (PROTOCOL.md), so such a request goes without streaming and the user is told.
    """
    if not session.stream:
        return False, None
    builtins = [
        str(entry.get("type"))
        for entry in session.tools
        if is_enabled(entry) and entry.get("type") in BUILTIN_TYPES
    ]
    if kind is ServerKind.GLM4 and builtins:
        return False, (
            f"{', '.join(builtins)} does not work with streaming on the GLM-4 server: "
            "this reply is requested without streaming"
        )
    return True, None
