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
from dataclasses import dataclass
from typing import Any

from glm_tui.chat.tools import request_tools
from glm_tui.model.server_kind import ServerKind, reasoning_field, thinking_request
from glm_tui.model.session import ImageAttachment, Message, Role, Session

ImageLoader = Callable[[ImageAttachment], str]
"""Returns a ``data:`` URL for an attachment (JPEG for GLM-4V); provided by the image store.

It raises :class:`ImageUnavailableError` when the picture cannot be read back."""


class ImageUnavailableError(Exception):
    """An attached picture cannot be read back (its stored file is gone or unreadable).

    The message is plain words naming the picture; the turn is refused, nothing is sent.
    """


@dataclass(frozen=True)
class ShapedMessages:
    """The ``messages`` list for a server kind, and what happened to the pictures on the way."""

    messages: list[dict[str, Any]]
    sent_images: tuple[ImageAttachment, ...] = ()
    left_out_images: tuple[ImageAttachment, ...] = ()  # attached, but not sent
    system_folded: bool = False  # the system prompt went inside the first question (GLM-4V)
    missing_images: tuple[ImageAttachment, ...] = ()  # of earlier questions, unreadable: not sent


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
    return shape_messages(session, kind, image_loader, all_reasoning=all_reasoning).messages


def shape_messages(
    session: Session,
    kind: ServerKind,
    image_loader: ImageLoader | None = None,
    *,
    send_images: bool = True,
    all_reasoning: bool | None = None,
) -> ShapedMessages:
    """:func:`build_messages`, also saying which pictures were sent and which left out.

    Pictures go as ``image_url`` parts holding ``data:`` URLs (the loader's), several per
    question, except: the GLM-4 text server takes none (its content must be a string); the
    GLM-4V server takes one per request and uses the first of the conversation, so only that
    one is sent; ``send_images=False`` (the server said it cannot read them) sends none; and
    without a loader none can be sent. A picture that cannot be read back passes the loader's
    :class:`ImageUnavailableError` through when it belongs to the newest question (the turn is
    refused: the person is about to send it); one of an earlier question is left out and listed
    in ``missing_images``, so a deleted file never blocks the rest of the conversation.
    Pictures a tool returned (an MCP result) follow the same rules; they go as a user message
    after the run of tool results (:func:`_tool_pictures`), and a tool result whose pictures
    are not sent says so in its text. Reasoning goes as :func:`build_messages` says.
    """
    system = session.system_prompt.strip()
    out: list[dict[str, Any]] = []
    if system and kind is not ServerKind.GLM4V:
        out.append({"role": "system", "content": session.system_prompt})
    sent: list[ImageAttachment] = []
    left_out: list[ImageAttachment] = []
    pending_system = system if kind is ServerKind.GLM4V else ""
    folded = False
    missing: list[ImageAttachment] = []
    can_send = send_images and kind is not ServerKind.GLM4 and image_loader is not None
    messages = session.messages
    newest_question = max((i for i, m in enumerate(messages) if m.role is Role.USER), default=-1)
    thinking_field = reasoning_field(kind)
    resend_all = session.preserve_thinking if all_reasoning is None else all_reasoning
    current_turn = _current_turn_start(messages)
    tool_urls: list[str] = []  # pictures from a run of tool results, sent after the run
    tool_names: list[str] = []
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
            not_sent = 0
            for image in message.images:
                if not can_send or (kind is ServerKind.GLM4V and (sent or tool_urls)):
                    left_out.append(image)
                    not_sent += 1
                    continue
                assert image_loader is not None
                try:
                    url = image_loader(image)
                except ImageUnavailableError:
                    missing.append(image)
                    not_sent += 1
                    continue
                tool_urls.append(_as_jpeg_url(url) if kind is ServerKind.GLM4V else url)
                tool_names.append(message.name or "a tool")
                sent.append(image)
            if not_sent:
                entry["content"] += (f"\n[{not_sent} picture{'s' if not_sent > 1 else ''} of "
                                     "this result left out of the request]")
            out.append(entry)
            following = messages[index + 1] if index + 1 < len(messages) else None
            if tool_urls and (following is None or following.role is not Role.TOOL):
                out.append(_tool_pictures(tool_names, tool_urls))
                tool_urls, tool_names = [], []
            continue
        else:
            text = message.content
            if pending_system and message.role is Role.USER:
                # GLM-4V answers a system message with HTTP 500: fold it into the first question.
                text = f"{pending_system}\n\n{text}"
                pending_system = ""
                folded = True
            urls: list[str] = []
            for image in message.images:
                if not can_send or (kind is ServerKind.GLM4V and (sent or urls)):
                    # GLM-4V: one image per request; the server uses the first, drops the rest.
                    left_out.append(image)
                    continue
                assert image_loader is not None
                try:
                    url = image_loader(image)
                except ImageUnavailableError:
                    if index == newest_question:
                        raise
                    missing.append(image)
                    continue
                urls.append(_as_jpeg_url(url) if kind is ServerKind.GLM4V else url)
                sent.append(image)
            if urls:
                parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
                parts += [{"type": "image_url", "image_url": {"url": url}} for url in urls]
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
    return ShapedMessages(out, tuple(sent), tuple(left_out), folded, tuple(missing))


def _tool_pictures(tool_names: list[str], urls: list[str]) -> dict[str, Any]:
    """The pictures tools returned, as a user message right after the tool results.

    OpenAI-compatible servers take image parts only in user messages (a ``tool`` message's
    content is text), so the pictures follow the run of results they belong to, named.
    """
    names = ", ".join(dict.fromkeys(tool_names))
    parts: list[dict[str, Any]] = [
        {"type": "text", "text": f"The picture{'s' if len(urls) > 1 else ''} returned by the "
                                 f"tool call{'s' if len(tool_names) > 1 else ''} above ({names}):"}]
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in urls]
    return {"role": "user", "content": parts}


_GLM4V_URL = "data:image/jpeg;base64,"


def _as_jpeg_url(url: str) -> str:
    """GLM-4V decodes only ``data:image/jpeg;base64,`` (and any image bytes under it: PNG works)
    but answers 500 to ``data:image/png``: a picture stored before glm-tui made every picture a
    JPEG (an imported session's PNG) goes under the JPEG prefix."""
    head, sep, payload = url.partition(";base64,")
    if sep and head.startswith("data:image/") and head != "data:image/jpeg":
        return _GLM4V_URL + payload
    return url


def build_request(
    session: Session,
    kind: ServerKind,
    *,
    image_loader: ImageLoader | None = None,
    stream: bool | None = None,
    messages: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The full keyword arguments for ``chat.completions.create`` (and the JSON body sent).

    Unset sampling values are left out; ``max_tokens`` is sent as ``max_tokens`` (the GLM-4 server
    ignores ``max_completion_tokens``). Tools and ``tool_choice`` are sent only when tools exist.
    ``messages`` already shaped (:func:`shape_messages`) are used as they are.
    """
    if messages is None:
        messages = build_messages(session, kind, image_loader)
    request: dict[str, Any] = {
        "model": session.model,
        "messages": messages,
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
