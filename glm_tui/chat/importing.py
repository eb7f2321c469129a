"""Sessions into glm-tui from files: a glm-tui JSON export, or a plain OpenAI ``messages`` list.

Import checks everything first and raises :class:`ImportProblems` listing every problem, so a
bad file is never half-imported. Image data is the one exception (:mod:`.import_images`): a
broken image is noted with where it is in the file and left out, and the rest imports, since the
words of a conversation are worth more than refusing them for one picture. Checked image bytes
come back in :class:`ImportedSession` for :func:`save_import` to store before the session.

Permissions are never imported. A file can come from anyone, and a tool entry's ``glm_tui`` block
may name a local handler command and say "always allow" it; taken as is, opening the session
would run that program for a pending call with no question asked. So every imported tool comes
back with its handler kept as data but switched off, and "always allow" dropped
(:func:`glm_tui.chat.tools.without_permissions`); the person re-enables a handler on the tools
screen after seeing its exact command. Export still writes the block as stored, so a round trip is
lossless for the data, not for the trust.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from glm_tui.chat.import_images import ImageCollector, ImportedImage, image_part_url
from glm_tui.chat.tools import without_permissions
from glm_tui.model.alternatives import alternatives_from_dict, made_with_from_dict
from glm_tui.model.sampling import SamplingError, SamplingParams
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

if TYPE_CHECKING:
    from glm_tui.storage.store import SessionStore

EXPORT_FORMAT = "glm-tui-session"
EXPORT_VERSION = 1


class ImportProblems(Exception):
    """Everything wrong with an import file, one plain sentence per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class ImportedSession:
    """What an import file gives: the session, the image bytes it refers to, and what was left
    out (``"where: what"`` lines, e.g. a broken image; the rest was imported)."""

    session: Session
    images: dict[str, ImportedImage] = field(default_factory=dict)
    """Checked image bytes by SHA-256, to store before the session."""
    left_out: list[str] = field(default_factory=list)


# --- JSON import ----------------------------------------------------------------------------


def read_import(
    data: str | bytes | dict[str, Any] | list[Any],
    *,
    image_stored: Callable[[str], bool] | None = None,
) -> ImportedSession:
    """A session and its images from an export (text or parsed); raises ImportProblems listing
    every problem. ``image_stored(sha256)`` says whether the image store already holds an
    image, so a reference without bytes in the file is not reported as missing."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ImportProblems([f"the file is not JSON: {exc}"]) from exc
    checker = _Checker(image_stored)
    if isinstance(data, list):
        session = checker.openai_session({"messages": data})
    elif not isinstance(data, dict):
        raise ImportProblems(
            [f"expected a JSON object with \"messages\", found {_kind(data)}"]
        )
    elif "glm_tui" in data:
        checker.collector.scan_messages(data.get("messages"))
        checker.collector.scan_references(data["glm_tui"])
        session = checker.glm_tui_session(data["glm_tui"])
    else:
        session = checker.openai_session(data)
    if checker.problems or session is None:
        raise ImportProblems(checker.problems or ["nothing to import"])
    return ImportedSession(session, checker.collector.kept, checker.left_out)


def import_json(data: str | bytes | dict[str, Any] | list[Any]) -> Session:
    """The session alone from an export (see :func:`read_import`, which also gives the image
    bytes to store); raises ImportProblems listing every problem."""
    return read_import(data).session


def save_import(store: SessionStore, imported: ImportedSession) -> Session:
    """Store an import: its images first (a saved session never refers to bytes not yet on
    disk), then the session, under a new id when its own is taken (the import is a copy).
    Raises the store's StoreWriteError when the disk refuses."""
    for image in imported.images.values():
        store.put_image(image.data, image.ext)
    session = imported.session
    if store.has_session(session.id):
        session.id = new_session_id()
    store.create_session(session)
    return session


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


class _Checker:
    """Collects every problem instead of stopping at the first one."""

    def __init__(self, image_stored: Callable[[str], bool] | None = None) -> None:
        self.problems: list[str] = []
        self.left_out: list[str] = []
        self.collector = ImageCollector(self.leave_out, image_stored)

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{where}: {text}")

    def leave_out(self, where: str, text: str) -> None:
        """A part of the file that is left out while the rest imports (a broken image)."""
        self.left_out.append(f"{where}: {text}")

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
            session.tools = [without_permissions(tool) for tool in tools]
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
        preserve = meta.get("preserve_thinking", False)
        if not isinstance(preserve, bool):
            self.problem(where, "\"preserve_thinking\" must be true or false, found "
                                f"{_kind(preserve)}")
        else:
            session.preserve_thinking = preserve
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
        message.reasoning = self.string(raw, "reasoning", where)
        message.reasoning_seconds = self.number(raw, "reasoning_seconds", where, None,
                                                optional=True)
        self.answers(message, raw, where)
        message_id = raw.get("id")
        if message_id is not None and (isinstance(message_id, bool)
                                       or not isinstance(message_id, int)):
            self.problem(where, f"\"id\" must be a whole number, found {_kind(message_id)}")
            message_id = None
        message.id = message_id
        message.created_at = self.number(raw, "created_at", where, message.created_at)
        return message if role is not None else None

    def answers(self, message: Message, raw: dict[str, Any], where: str) -> None:
        """What the reply was made with and its other answers (glm_tui.model.alternatives)."""
        try:
            if raw.get("made_with") is not None:
                message.made_with = made_with_from_dict(raw["made_with"])
            message.alternatives, message.alternative_position = alternatives_from_dict(
                raw.get("alternatives"))
        except (ValueError, TypeError) as exc:
            self.problem(where, f"its alternatives cannot be read: {exc}")

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
            if not isinstance(image, dict):
                self.problem(here, f"must be an object, found {_kind(image)}")
                continue
            reference = dict(image)
            reference.pop("data_url", None)  # bytes of an image not in "messages": read first
            try:
                attachment = ImageAttachment(**reference)
            except TypeError as exc:
                self.problem(here, f"not an image reference ({exc})")
                continue
            wrong = _wrong_image_fields(attachment)
            if wrong:
                self.problem(here, wrong)
                continue
            self.collector.refer(attachment, here)
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
        for key in ("prompt_tokens", "completion_tokens", "reasoning_tokens"):
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
            content, images = self.openai_content(raw.get("content"), where)
            if role is None:
                continue
            if role is Role.SYSTEM and not session.messages and not session.system_prompt:
                session.system_prompt = content
                if images:
                    self.leave_out(where, "a system prompt has no images here; its "
                                          f"{len(images)} image(s) were left out")
                continue
            message = Message(role=role, content=content, images=images)
            if role is Role.ASSISTANT:
                message.reasoning = self.openai_reasoning(raw, where)
            message.tool_calls = self.tool_calls(raw.get("tool_calls"), where)
            message.tool_call_id = self.string(raw, "tool_call_id", where, optional=True)
            message.name = self.string(raw, "name", where, optional=True)
            session.messages.append(message)
        first_user = next((m for m in session.messages if m.role is Role.USER), None)
        session.title = title_from_question(first_user.content if first_user else "")
        return session

    def openai_reasoning(self, raw: dict[str, Any], where: str) -> str:
        """An assistant message's reasoning: ``reasoning_content`` (DeepSeek, GLM), else
        ``reasoning`` (vLLM, OpenRouter)."""
        key = "reasoning_content" if raw.get("reasoning_content") is not None else "reasoning"
        return str(self.string(raw, key, where))

    def openai_content(self, value: Any, where: str) -> tuple[str, list[ImageAttachment]]:
        """A message's text, and its images (each read from its data URL into the store)."""
        if value is None or isinstance(value, str):
            return value or "", []
        if isinstance(value, list):
            texts: list[str] = []
            images: list[ImageAttachment] = []
            for index, part in enumerate(value):
                if (isinstance(part, dict) and part.get("type") == "text"
                        and isinstance(part.get("text"), str)):
                    texts.append(part["text"])
                    continue
                is_image, url = image_part_url(part)
                if is_image:
                    image = self.collector.attachment(url, f"{where}.content[{index}]")
                    if image is not None:
                        images.append(image)
                    continue
                self.problem(f"{where}.content[{index}]", "is not a text part")
            return "\n".join(texts), images
        self.problem(where, f"\"content\" must be text or a list of parts, found {_kind(value)}")
        return "", []


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _wrong_image_fields(image: ImageAttachment) -> str | None:
    """What is wrong with an image reference's fields, in words, or None."""
    if not (isinstance(image.sha256, str) and _SHA256.fullmatch(image.sha256)):
        return "\"sha256\" must be 64 lowercase hex characters"
    for item in fields(image):
        wanted = {"str": str, "int": int}.get(str(item.type))  # annotations are text here
        value = getattr(image, item.name)
        if wanted is not None and (isinstance(value, bool) or not isinstance(value, wanted)):
            return f"\"{item.name}\" must be {'text' if wanted is str else 'a whole number'}"
    return None
