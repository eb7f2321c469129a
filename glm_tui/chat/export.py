"""Sessions out of and into files: JSON (lossless, OpenAI-shaped) and Markdown (for reading).

The JSON export is two things at once. Its ``messages`` list is exactly what an OpenAI-compatible
server would be sent (the same shaping as :func:`build_messages` for kind ``openai``), so other
tools can use it as is. Its ``glm_tui`` block holds every session field and every message with
status, usage, timings and ids, so importing it gives back an identical session. A file with only
``messages`` (from another tool) imports too.

Import checks everything first and raises :class:`ImportProblems` listing every problem, so a
bad file is never half-imported. No API key is ever part of a session, so none can be exported.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from typing import Any

from glm_tui.chat.request import ImageLoader, build_messages
from glm_tui.model.sampling import SamplingError, SamplingParams
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import (
    ImageAttachment,
    Message,
    MessageStatus,
    Role,
    Session,
    Timings,
    ToolCall,
    Usage,
    new_session_id,
)
from glm_tui.model.text import title_from_question

EXPORT_FORMAT = "glm-tui-session"
EXPORT_VERSION = 1


class ImportProblems(Exception):
    """Everything wrong with an import file, one plain sentence per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# --- JSON export ----------------------------------------------------------------------------


def export_json(session: Session, image_loader: ImageLoader | None = None) -> dict[str, Any]:
    """The session as a JSON-ready dict (see the module docstring for the two parts).

    Images are referenced by SHA-256 in the ``glm_tui`` block; pass ``image_loader`` to also
    put them as data URLs into the OpenAI ``messages`` list.
    """
    return {
        "model": session.model,
        "messages": build_messages(session, ServerKind.OPENAI, image_loader),
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
            },
            "messages": [_message_to_dict(m) for m in session.messages],
        },
    }


def _message_to_dict(message: Message) -> dict[str, Any]:
    return {
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


# --- JSON import ----------------------------------------------------------------------------


def import_json(data: str | bytes | dict[str, Any] | list[Any]) -> Session:
    """A session from an export (text or parsed); raises ImportProblems listing every problem."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ImportProblems([f"the file is not JSON: {exc}"]) from exc
    checker = _Checker()
    if isinstance(data, list):
        session = checker.openai_session({"messages": data})
    elif not isinstance(data, dict):
        raise ImportProblems(
            [f"expected a JSON object with \"messages\", found {_kind(data)}"]
        )
    elif "glm_tui" in data:
        session = checker.glm_tui_session(data["glm_tui"])
    else:
        session = checker.openai_session(data)
    if checker.problems or session is None:
        raise ImportProblems(checker.problems or ["nothing to import"])
    return session


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


class _Checker:
    """Collects every problem instead of stopping at the first one."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{where}: {text}")

    # --- typed getters: return the value, or a default after noting a problem ---

    def string(self, obj: dict[str, Any], key: str, where: str, *, optional: bool = False,
               default: str = "") -> Any:
        value = obj.get(key, None if optional else default)
        if value is None and optional:
            return None
        if not isinstance(value, str):
            self.problem(where, f"\"{key}\" must be text, found {_kind(value)}")
            return None if optional else default
        return value

    def number(self, obj: dict[str, Any], key: str, where: str, default: float | None,
               *, optional: bool = False) -> Any:
        value = obj.get(key, default)
        if value is None and optional:
            return None
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not math.isfinite(value)):
            self.problem(where, f"\"{key}\" must be a number, found {_kind(value)}")
            return default
        return value

    # --- glm-tui export ---

    def glm_tui_session(self, block: Any) -> Session | None:
        if not isinstance(block, dict):
            self.problem("glm_tui", f"must be an object, found {_kind(block)}")
            return None
        if block.get("format") != EXPORT_FORMAT:
            self.problem("glm_tui.format", f"must be \"{EXPORT_FORMAT}\"")
        version = block.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version > EXPORT_VERSION:
            self.problem("glm_tui.version",
                         f"{version!r} is not a version this glm-tui reads (1..{EXPORT_VERSION})")
        meta = block.get("session")
        if not isinstance(meta, dict):
            self.problem("glm_tui.session", f"must be an object, found {_kind(meta)}")
            meta = {}
        session = self.session_fields(meta, "glm_tui.session")
        raw_messages = block.get("messages")
        if not isinstance(raw_messages, list):
            self.problem("glm_tui.messages", f"must be a list, found {_kind(raw_messages)}")
            raw_messages = []
        for index, raw in enumerate(raw_messages):
            message = self.full_message(raw, f"glm_tui.messages[{index}]")
            if message is not None:
                session.messages.append(message)
        return session

    def session_fields(self, meta: dict[str, Any], where: str) -> Session:
        now = time.time()
        session = Session()
        session_id = self.string(meta, "id", where, default=session.id)
        session.id = session_id or new_session_id()
        session.title = self.string(meta, "title", where)
        session.created_at = self.number(meta, "created_at", where, now)
        session.updated_at = self.number(meta, "updated_at", where, now)
        session.server_profile = self.string(meta, "server_profile", where, default="default")
        session.model = self.string(meta, "model", where, default=session.model)
        session.system_prompt = self.string(meta, "system_prompt", where)
        sampling = meta.get("sampling", {})
        if not isinstance(sampling, dict):
            self.problem(where, f"\"sampling\" must be an object, found {_kind(sampling)}")
        else:
            try:
                session.sampling = SamplingParams.from_dict(sampling)
            except SamplingError as exc:
                self.problem(f"{where}.sampling", str(exc))
        tools = meta.get("tools", [])
        if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
            self.problem(where, "\"tools\" must be a list of objects")
        else:
            session.tools = tools
        tool_choice = meta.get("tool_choice")
        if tool_choice is not None and not isinstance(tool_choice, str | dict):
            self.problem(where, f"\"tool_choice\" must be text or an object, found "
                                f"{_kind(tool_choice)}")
        else:
            session.tool_choice = tool_choice
        stream = meta.get("stream", True)
        if not isinstance(stream, bool):
            self.problem(where, f"\"stream\" must be true or false, found {_kind(stream)}")
        else:
            session.stream = stream
        return session

    def full_message(self, raw: Any, where: str) -> Message | None:
        if not isinstance(raw, dict):
            self.problem(where, f"must be an object, found {_kind(raw)}")
            return None
        role = self.role(raw.get("role"), where)
        status_text = raw.get("status", "complete")
        try:
            status = MessageStatus(status_text)
        except ValueError:
            self.problem(where, f"unknown status {status_text!r}")
            status = MessageStatus.COMPLETE
        message = Message(role=role or Role.USER)
        message.content = self.string(raw, "content", where)
        message.images = self.images(raw.get("images", []), where)
        message.tool_calls = self.tool_calls(raw.get("tool_calls", []), where)
        message.tool_call_id = self.string(raw, "tool_call_id", where, optional=True)
        message.name = self.string(raw, "name", where, optional=True)
        message.status = status
        message.error = self.string(raw, "error", where, optional=True)
        message.usage = self.usage(raw.get("usage"), where)
        message.timings = self.timings(raw.get("timings"), where)
        message_id = raw.get("id")
        if message_id is not None and (isinstance(message_id, bool)
                                       or not isinstance(message_id, int)):
            self.problem(where, f"\"id\" must be a whole number, found {_kind(message_id)}")
            message_id = None
        message.id = message_id
        message.created_at = self.number(raw, "created_at", where, message.created_at)
        return message if role is not None else None

    def role(self, value: Any, where: str) -> Role | None:
        try:
            return Role(value)
        except ValueError:
            known = ", ".join(r.value for r in Role)
            self.problem(where, f"unknown role {value!r} (known: {known})")
            return None

    def images(self, raw: Any, where: str) -> list[ImageAttachment]:
        if not isinstance(raw, list):
            self.problem(where, f"\"images\" must be a list, found {_kind(raw)}")
            return []
        out: list[ImageAttachment] = []
        for index, image in enumerate(raw):
            here = f"{where}.images[{index}]"
            try:
                attachment = ImageAttachment(**image)
            except TypeError as exc:
                self.problem(here, f"not an image reference ({exc})")
                continue
            if not (isinstance(attachment.sha256, str) and len(attachment.sha256) == 64):
                self.problem(here, "\"sha256\" must be 64 hex characters")
                continue
            out.append(attachment)
        return out

    def tool_calls(self, raw: Any, where: str) -> list[ToolCall]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problem(where, f"\"tool_calls\" must be a list, found {_kind(raw)}")
            return []
        calls: list[ToolCall] = []
        for index, call in enumerate(raw):
            here = f"{where}.tool_calls[{index}]"
            if not isinstance(call, dict):
                self.problem(here, f"must be an object, found {_kind(call)}")
                continue
            function = call.get("function")
            if isinstance(function, dict):  # OpenAI shape
                fields = {"id": call.get("id"), "name": function.get("name"),
                          "arguments": function.get("arguments"),
                          "type": call.get("type", "function")}
            else:
                fields = {key: call.get(key) for key in ("id", "name", "arguments")}
                fields["type"] = call.get("type", "function")
            bad = [key for key, value in fields.items() if not isinstance(value, str)]
            if bad:
                self.problem(here, "missing or non-text " + ", ".join(f'"{k}"' for k in bad))
                continue
            calls.append(ToolCall(**fields))
        return calls

    def usage(self, raw: Any, where: str) -> Usage | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            self.problem(where, f"\"usage\" must be an object, found {_kind(raw)}")
            return None
        usage = Usage()
        for key in ("prompt_tokens", "completion_tokens"):
            value = raw.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                self.problem(where, f"usage \"{key}\" must be a whole number")
                continue
            setattr(usage, key, value)
        estimated = raw.get("estimated", False)
        if not isinstance(estimated, bool):
            self.problem(where, "usage \"estimated\" must be true or false")
        else:
            usage.estimated = estimated
        return usage

    def timings(self, raw: Any, where: str) -> Timings | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            self.problem(where, f"\"timings\" must be an object, found {_kind(raw)}")
            return None
        timings = Timings()
        for key in ("started_at", "first_token_s", "duration_s"):
            setattr(timings, key, self.number(raw, key, f"{where}.timings", None, optional=True))
        return timings

    # --- plain OpenAI messages ---

    def openai_session(self, data: dict[str, Any]) -> Session | None:
        raw_messages = data.get("messages")
        if not isinstance(raw_messages, list):
            self.problem("messages", f"must be a list, found {_kind(raw_messages)}")
            return None
        session = Session()
        model = data.get("model")
        if isinstance(model, str) and model:
            session.model = model
        for index, raw in enumerate(raw_messages):
            where = f"messages[{index}]"
            if not isinstance(raw, dict):
                self.problem(where, f"must be an object, found {_kind(raw)}")
                continue
            role = self.role(raw.get("role"), where)
            content = self.openai_content(raw.get("content"), where)
            if role is None:
                continue
            if role is Role.SYSTEM and not session.messages and not session.system_prompt:
                session.system_prompt = content
                continue
            message = Message(role=role, content=content)
            message.tool_calls = self.tool_calls(raw.get("tool_calls"), where)
            message.tool_call_id = self.string(raw, "tool_call_id", where, optional=True)
            message.name = self.string(raw, "name", where, optional=True)
            session.messages.append(message)
        first_user = next((m for m in session.messages if m.role is Role.USER), None)
        session.title = title_from_question(first_user.content if first_user else "")
        return session

    def openai_content(self, value: Any, where: str) -> str:
        if value is None or isinstance(value, str):
            return value or ""
        if isinstance(value, list):
            texts: list[str] = []
            for index, part in enumerate(value):
                if (isinstance(part, dict) and part.get("type") == "text"
                        and isinstance(part.get("text"), str)):
                    texts.append(part["text"])
                    continue
                if isinstance(part, dict) and part.get("type") == "image_url":
                    self.problem(f"{where}.content[{index}]",
                                 "image parts cannot be imported from a plain messages list")
                    continue
                self.problem(f"{where}.content[{index}]", "is not a text part")
            return "\n".join(texts)
        self.problem(where, f"\"content\" must be text or a list of parts, found {_kind(value)}")
        return ""


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
