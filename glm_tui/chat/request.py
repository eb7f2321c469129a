"""Turning a session into the request a given server kind accepts.

Everything a server is picky about when *receiving* a conversation lives here (PROTOCOL.md): the
GLM-4 text server wants string content, the GLM-4V server refuses a system message and accepts one
JPEG data URL, and no server wants an assistant message last.

Reasoning goes back only when it helps (PROTOCOL.md, "Thinking models"): the reasoning of a reply
that called tools in the current turn (after the last question) goes back with its tool results,
as GLM-4.5+ interleaved thinking expects; earlier turns' reasoning costs context and is left out,
unless the session asks for "preserved thinking". The field is the server kind's
(:func:`~glm_tui.model.server_kind.reasoning_field`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from glm_tui.chat.tools import request_tools
from glm_tui.model.server_kind import ServerKind, reasoning_field, thinking_request
from glm_tui.model.session import ImageAttachment, Message, Role, Session

ImageLoader = Callable[[ImageAttachment], str]
"""Returns a ``data:`` URL for an attachment (JPEG for GLM-4V); provided by the image store."""


def build_messages(
    session: Session,
    kind: ServerKind,
    image_loader: ImageLoader | None = None,
    *,
    all_reasoning: bool | None = None,
) -> list[dict[str, Any]]:
    """The OpenAI ``messages`` list for the next request, shaped for the server kind.

    ``all_reasoning`` puts every reply's reasoning in (an export); ``None`` follows the session's
    "preserved thinking" and otherwise the send-back rule of the module docstring.
    """
    system = session.system_prompt.strip()
    out: list[dict[str, Any]] = []
    if system and kind is not ServerKind.GLM4V:
        out.append({"role": "system", "content": session.system_prompt})
    image_sent = False
    pending_system = system if kind is ServerKind.GLM4V else ""
    messages = session.messages
    thinking_field = reasoning_field(kind)
    resend_all = session.preserve_thinking if all_reasoning is None else all_reasoning
    current_turn = _current_turn_start(messages)
    for index, message in enumerate(messages):
        if not message.is_sendable or message.role is Role.SYSTEM:
            continue
        if (message.role is Role.USER and index + 1 < len(messages)
                and messages[index + 1].role is Role.ASSISTANT
                and not messages[index + 1].is_sendable):
            # A question whose reply failed before any text stays in the session (nothing
            # typed is lost; Ctrl+R asks it again) but is not context for the next question.
            continue
        entry: dict[str, Any] = {"role": message.role.value}
        if message.role is Role.ASSISTANT and message.sendable_tool_calls:
            entry["content"] = message.content or None
            entry["tool_calls"] = [call.to_openai() for call in message.sendable_tool_calls]
            if thinking_field and message.reasoning and (resend_all or index >= current_turn):
                entry[thinking_field] = message.reasoning
        elif message.role is Role.ASSISTANT:
            entry["content"] = message.content
            if thinking_field and message.reasoning and resend_all:
                entry[thinking_field] = message.reasoning
        elif message.role is Role.TOOL:
            entry = {
                "tool_call_id": message.tool_call_id,
                "role": "tool",
                "name": message.name,
                "content": message.content,
            }
        else:
            text = message.content
            if pending_system and message.role is Role.USER:
                # GLM-4V answers a system message with HTTP 500: fold it into the first question.
                text = f"{pending_system}\n\n{text}"
                pending_system = ""
            images = [] if kind is ServerKind.GLM4 else message.images
            if kind is ServerKind.GLM4V:
                # One image per request: the server uses the first and drops the rest.
                images = [] if image_sent else images[:1]
            if images and image_loader is not None:
                parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
                for image in images:
                    parts.append({"type": "image_url", "image_url": {"url": image_loader(image)}})
                image_sent = True
                entry["content"] = parts
            else:
                entry["content"] = text
        previous = out[-1] if out else None
        if (previous is not None and previous["role"] == "user" and entry["role"] == "user"
                and isinstance(previous["content"], str) and isinstance(entry["content"], str)):
            # Two questions in a row (the first never got a reply at all): servers whose chat
            # template needs user/assistant turns to alternate refuse that, so both go as one.
            previous["content"] = f"{previous['content']}\n\n{entry['content']}"
            continue
        out.append(entry)
    return out


def build_request(
    session: Session,
    kind: ServerKind,
    *,
    image_loader: ImageLoader | None = None,
    stream: bool | None = None,
) -> dict[str, Any]:
    """The full keyword arguments for ``chat.completions.create`` (and the JSON body sent).

    Unset sampling values are left out; ``max_tokens`` is sent as ``max_tokens`` (the GLM-4 server
    ignores ``max_completion_tokens``). Tools and ``tool_choice`` are sent only when tools exist.
    """
    request: dict[str, Any] = {
        "model": session.model,
        "messages": build_messages(session, kind, image_loader),
        "stream": session.stream if stream is None else stream,
    }
    request.update(session.sampling.to_request())
    request.update(thinking_request(kind, session.sampling.thinking))

    tools = request_tools(session.tools)
    if tools:
        request["tools"] = tools
        if session.tool_choice is not None:
            request["tool_choice"] = session.tool_choice
    return request


def _current_turn_start(messages: Sequence[Message]) -> int:
    """The index just after the last question: the replies and tool results of this turn."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role is Role.USER:
            return index + 1
    return 0


def requestable(messages: Sequence[Message]) -> bool:
    """Whether a conversation ends in a turn the model can answer (not an assistant message)."""
    for message in reversed(messages):
        if not message.is_sendable:
            continue
        return message.role is not Role.ASSISTANT
    return False
