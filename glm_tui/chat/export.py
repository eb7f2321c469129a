"""Sessions out to files: JSON (lossless, OpenAI-shaped) and Markdown (for reading).

:func:`render` is the one renderer: ``glm-tui sessions export`` and the sessions screen both call
it and write its text with :func:`glm_tui.storage.files.atomic_write`, so the two can never
disagree about what an export holds.

The JSON export is two things at once. Its ``messages`` list is exactly what an OpenAI-compatible
server would be sent (the same shaping as :func:`build_messages` for kind ``openai``), so other
tools can use it as is. Its ``glm_tui`` block holds every session field and every message with
status, usage, timings and ids, so importing it (:mod:`glm_tui.chat.importing`) gives back the
same session, its tools' permissions switched off. A file with only ``messages`` (from another
tool) imports too. No API key is ever part of a session, so none can be exported.

A thinking model's reasoning is in both parts: as ``reasoning_content`` on each assistant message
of the ``messages`` list (the DeepSeek/GLM convention), and as ``reasoning`` (with
``reasoning_seconds``) in the ``glm_tui`` block. The Markdown transcript puts it in a collapsed
``<details>`` block above the answer.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict
from typing import Any, Literal

from glm_tui.chat.importing import EXPORT_FORMAT, EXPORT_VERSION, ImportProblems, import_json
from glm_tui.chat.request import ImageLoader, build_messages
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import Message, MessageStatus, Role, Session

__all__ = [
    "EXPORT_FORMATS", "FILE_SUFFIXES", "ExportFormat", "ImportProblems", "export_json",
    "export_markdown", "import_json", "json_text", "render",
]

ExportFormat = Literal["json", "markdown"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("json", "markdown")
FILE_SUFFIXES: dict[ExportFormat, str] = {"json": ".json", "markdown": ".md"}
"""The file name ending that goes with each format."""


def render(session: Session, fmt: ExportFormat) -> str:
    """The whole export file's text: ``json`` (re-importable, indented, UTF-8 kept readable)
    or ``markdown`` (a transcript for people). Ends with a newline."""
    if fmt == "json":
        return json_text(export_json(session), indent=2) + "\n"
    if fmt == "markdown":
        return export_markdown(session)
    raise ValueError(f"unknown export format {fmt!r} (known: {', '.join(EXPORT_FORMATS)})")


# Inside JSON strings, written as \uXXXX: DEL and the C1 controls (a terminal acts on 0x9B as on
# ESC [), the bidi embedding/override/isolate controls (they reorder what a viewer shows), the
# line/paragraph separators (JavaScript and some editors break lines there) and lone surrogates
# (not encodable as UTF-8). ``json.dumps`` already escapes C0 itself.
_JSON_ESCAPED = re.compile("[\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


def json_text(data: Any, *, indent: int | None = None) -> str:
    """``data`` as JSON text that is readable UTF-8 yet holds no character a terminal acts on.

    Printing it (``cat export.json``, ``glm-tui sessions list --json``) cannot set the clipboard,
    retitle the window or reorder the text, and ``json.loads`` gives back exactly ``data``: the
    escaped characters only ever occur inside strings, where ``\\uXXXX`` means the same thing.
    """
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    return _JSON_ESCAPED.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


# --- JSON export ----------------------------------------------------------------------------


def export_json(session: Session, image_loader: ImageLoader | None = None) -> dict[str, Any]:
    """The session as a JSON-ready dict (see the module docstring for the two parts).

    Images are referenced by SHA-256 in the ``glm_tui`` block; pass ``image_loader`` to also
    put them as data URLs into the OpenAI ``messages`` list.
    """
    return {
        "model": session.model,
        "messages": build_messages(session, ServerKind.OPENAI, image_loader, all_reasoning=True),
        "glm_tui": {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "session": {
                "id": session.id,
                "title": session.title,
                "created_at": session.created_at,
                "updated_at": session.updated_at,
                "server_profile": session.server_profile,
                "model": session.model,
                "system_prompt": session.system_prompt,
                "sampling": session.sampling.to_dict(),
                "tools": session.tools,
                "tool_choice": session.tool_choice,
                "stream": session.stream,
                "preserve_thinking": session.preserve_thinking,
            },
            "messages": [_message_to_dict(m) for m in session.messages],
        },
    }


def _message_to_dict(message: Message) -> dict[str, Any]:
    data = {
        "id": message.id,
        "role": message.role.value,
        "content": message.content,
        "images": [asdict(image) for image in message.images],
        "tool_calls": [asdict(call) for call in message.tool_calls],
        "tool_call_id": message.tool_call_id,
        "name": message.name,
        "status": message.status.value,
        "error": message.error,
        "usage": None if message.usage is None else asdict(message.usage),
        "timings": None if message.timings is None else asdict(message.timings),
        "created_at": message.created_at,
    }
    if message.reasoning or message.reasoning_seconds is not None:
        data["reasoning"] = message.reasoning
        data["reasoning_seconds"] = message.reasoning_seconds
    return data


# --- Markdown export ------------------------------------------------------------------------


def export_markdown(session: Session) -> str:
    """A readable transcript: settings at the top, then each message under its role."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(session.created_at))
    lines = [
        f"# {session.title or 'Untitled chat'}",
        "",
        f"- Model: `{session.model}` (server profile `{session.server_profile}`)",
        f"- Started: {when}",
        f"- Sampling: {session.sampling.summary()}",
    ]
    if session.tools:
        names = [str(t.get("function", {}).get("name") or t.get("type")) for t in session.tools]
        lines.append(f"- Tools: {', '.join(names)}")
    lines.append("")
    if session.system_prompt.strip():
        lines += ["## System", "", *_quote(session.system_prompt), ""]
    for message in session.messages:
        lines += _markdown_message(message)
    return "\n".join(lines).rstrip() + "\n"


_HEADINGS = {Role.SYSTEM: "System", Role.USER: "User", Role.ASSISTANT: "Assistant",
             Role.TOOL: "Tool result"}


def _markdown_message(message: Message) -> list[str]:
    heading = _HEADINGS[message.role]
    if message.role is Role.TOOL and message.name:
        heading += f" · {message.name}"
    if message.status is not MessageStatus.COMPLETE:
        heading += f" ({message.status.value})"
    lines = [f"## {heading}", ""]
    if message.reasoning:
        lines += _thinking_block(message.reasoning)
    if message.content:
        if message.role is Role.TOOL:
            lines += [*_fenced(message.content, "json"), ""]
        else:
            lines += [message.content, ""]
    for image in message.images:
        label = image.name or image.sha256[:12]
        lines += [f"*Image: {label} ({image.width}×{image.height}, {image.mime})*", ""]
    for call in message.tool_calls:
        lines += [f"Tool call `{call.name}`:", "", *_fenced(call.arguments, "json"), ""]
    if message.error:
        lines += [f"> Error: {' '.join(message.error.split())}", ""]
    return lines


_DETAILS_TAG = re.compile(r"<(/?details)", re.IGNORECASE)


def _thinking_block(reasoning: str) -> list[str]:
    """The reasoning, quoted, in a block Markdown viewers show collapsed.

    A ``<details`` or ``</details`` inside the reasoning would open or close the block early, so
    its ``<`` is written as ``&lt;`` (shown as ``<`` by every viewer that honours the block).
    """
    safe = _DETAILS_TAG.sub(r"&lt;\1", reasoning)
    return ["<details><summary>Thinking</summary>", "", *_quote(safe), "", "</details>", ""]


def _quote(text: str) -> list[str]:
    return [f"> {line}" if line else ">" for line in text.splitlines()]


def _fenced(text: str, language: str) -> list[str]:
    """A code block whose fence is longer than any backtick run inside the text."""
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", text, fence]
