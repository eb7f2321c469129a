"""Sessions out to files: JSON (lossless, OpenAI-shaped) and Markdown (for reading).

:func:`prepare_export` is the one renderer: ``glm-tui sessions export`` and the sessions screen
both call it and write what it gives with :func:`write_export` (every file through
:func:`glm_tui.storage.files.atomic_write`), so the two can never disagree about what an export
holds. :func:`render` is its text alone, without image bytes.

Images: the JSON export embeds each image's bytes once, as a ``data:`` URL in an ``image_url``
part of the OpenAI ``messages`` (exactly what a server would be sent); an image of a question
that is not in that list (its reply failed before any text) carries its data URL in its
``glm_tui`` image entry instead. The ``glm_tui`` block refers to every image by SHA-256 with its
name, size and type, so an import gets back the same attachments and the same bytes. The
Markdown export writes each image as a file in a folder beside it, ``<export name>_images/``,
and links it (``![cat.jpg](chat_images/cat-3fa2c1d9e0b1.jpg)``). An image whose file is gone
from the image store is exported without its bytes, its reference kept, and said so
(:attr:`Export.notes`).

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

import contextlib
import dataclasses
import errno
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import quote

from glm_tui.chat.alternatives import count
from glm_tui.chat.attachments import data_url
from glm_tui.chat.export_formats import EXPORT_FORMATS, FILE_SUFFIXES, ExportFormat
from glm_tui.chat.importing import EXPORT_FORMAT, EXPORT_VERSION, ImportProblems, import_json
from glm_tui.chat.request import build_messages
from glm_tui.model.alternatives import alternatives_to_dict, made_with_to_dict
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import ImageAttachment, Message, MessageStatus, Role, Session
from glm_tui.storage.errors import StoreError
from glm_tui.storage.files import atomic_write

__all__ = [
    "EXPORT_FORMATS", "FILE_SUFFIXES", "Export", "ExportFormat", "ImageFile", "ImageFiles",
    "ImportProblems", "export_json", "export_markdown", "image_folder_name", "import_json",
    "json_text", "prepare_export", "render", "write_export",
]



class ImageFiles(Protocol):
    """Where image bytes are read from: the session store (``SessionStore.image_path``)."""

    def image_path(self, sha256: str) -> Path:
        """The image's file; StoreError naming what is missing when it is not there."""
        ...


@dataclass(frozen=True)
class ImageFile:
    """One image file a Markdown export links to, written beside it."""

    relative_path: str  # from the export's folder, with "/" (as linked), e.g. "chat_images/a.jpg"
    data: bytes


@dataclass(frozen=True)
class Export:
    """Everything one export is: the file's text, the image files beside it (Markdown written to
    a file only) and plain sentences about images left out (their files are gone)."""

    text: str
    image_files: tuple[ImageFile, ...] = ()
    notes: tuple[str, ...] = ()
    image_folder: str | None = None  # a Markdown file's ``<stem>_images`` (whose files it owns)


def prepare_export(session: Session, fmt: ExportFormat, images: ImageFiles | None = None,
                   target: Path | None = None) -> Export:
    """The export of ``session`` in ``fmt``, with image bytes read from ``images``.

    ``target`` is the file the export will be written to: Markdown needs it to name the image
    folder beside it; without it (standard output) images stay text lines. Without ``images``
    nothing is read and every image is a reference only. Raises ValueError for an unknown format.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (known: {', '.join(EXPORT_FORMATS)})")
    wanted = fmt == "json" or target is not None
    found, notes = _read_images(session, images) if images is not None and wanted else ({}, [])
    if fmt == "json":
        image_bytes = {sha256: data for sha256, (data, _ext, _image) in found.items()}
        return Export(json_text(export_json(session, image_bytes), indent=2) + "\n", (),
                      tuple(notes))
    files: dict[str, ImageFile] = {}
    if target is not None:
        folder = image_folder_name(target)
        for sha256, (data, ext, image) in found.items():
            files[sha256] = ImageFile(f"{folder}/{_image_file_name(image, ext)}", data)
    links = {sha256: file.relative_path for sha256, file in files.items()}
    folder_name = image_folder_name(target) if target is not None else None
    return Export(export_markdown(session, links), tuple(files.values()), tuple(notes),
                  folder_name)


def render(session: Session, fmt: ExportFormat) -> str:
    """The export file's text with images as references only: ``json`` (re-importable,
    indented, UTF-8 kept readable) or ``markdown`` (a transcript for people). Ends with a
    newline."""
    return prepare_export(session, fmt).text


def write_export(export: Export, target: Path) -> None:
    """Write the image files, then the export itself (so it never links to a file not yet
    there), each with atomic_write. Raises OSError naming what could not be written."""
    if export.image_files and not target.parent.is_dir():  # name the folder given, not ours
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(target))
    for image in export.image_files:
        path = target.parent / image.relative_path
        path.parent.mkdir(mode=0o700, exist_ok=True)
        atomic_write(path, image.data)
    atomic_write(target, export.text)
    if export.image_folder is not None:
        _remove_stale_images(target.parent / export.image_folder, export)


def _remove_stale_images(folder: Path, export: Export) -> None:
    """Remove the pictures an earlier export under the same name left that this one no longer
    links (the conversation changed since), so the folder holds exactly what the file shows.

    Only files named as an export names them (``<name>-<12 hex>.<ext>``) go: anything else a
    person put in the folder stays. Best effort: a file that cannot be removed is left.
    """
    if not folder.is_dir():
        return
    kept = {PurePosixPath(image.relative_path).name for image in export.image_files}
    for path in folder.iterdir():
        if path.name not in kept and _EXPORTED_IMAGE_NAME.fullmatch(path.name) and path.is_file():
            with contextlib.suppress(OSError):
                path.unlink()


_EXPORTED_IMAGE_NAME = re.compile(r"[\w.-]+-[0-9a-f]{12}\.[A-Za-z0-9]{1,5}")


def image_folder_name(target: Path) -> str:
    """The folder beside a Markdown export that holds its images: ``<export stem>_images``."""
    return f"{target.stem}_images"


_ReadImages = dict[str, tuple[bytes, str, ImageAttachment]]  # sha256 -> bytes, ext, first use


def _read_images(session: Session, images: ImageFiles) -> tuple[_ReadImages, list[str]]:
    """Each distinct image's bytes, and a sentence for each that cannot be read."""
    found: _ReadImages = {}
    notes: list[str] = []
    missing: set[str] = set()
    for number, message in enumerate(session.messages, start=1):
        for image in message.images:
            if image.sha256 in found or image.sha256 in missing:
                continue
            try:
                path = images.image_path(image.sha256)
                found[image.sha256] = (path.read_bytes(), path.suffix.lstrip("."), image)
            except (StoreError, OSError) as exc:
                missing.add(image.sha256)
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                notes.append(f"{image.name or 'an image'} (message {number}) was exported "
                             f"without its picture: {reason}")
    return found, notes


def _image_file_name(image: ImageAttachment, ext: str) -> str:
    """``<name>-<first 12 of the SHA-256>.<ext>``: readable, and two different pictures both
    called cat.jpg never share a file. Only letters, digits, dot, dash and underscore are kept
    from the name (it came from a file name or an imported file)."""
    stem = re.sub(r"[^\w.-]+", "-", Path(image.name).stem).strip("-._")[:40] or "image"
    return f"{stem}-{image.sha256[:12]}.{ext or 'img'}"


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


def export_json(session: Session, image_bytes: Mapping[str, bytes] | None = None) -> dict[str, Any]:
    """The session as a JSON-ready dict (see the module docstring for the two parts).

    Images are referenced by SHA-256 in the ``glm_tui`` block; those in ``image_bytes`` (by
    SHA-256: bytes first) are also embedded as data URLs. An image not there is left out of the
    OpenAI ``messages`` (a server could not be sent it either) and keeps its reference.
    """
    found = image_bytes or {}
    embedded: set[str] = set()

    def embed(image: ImageAttachment) -> str:
        embedded.add(image.sha256)
        return data_url(image.mime, found[image.sha256])

    sendable = dataclasses.replace(session, messages=[
        dataclasses.replace(message, images=[i for i in message.images if i.sha256 in found])
        for message in session.messages
    ])
    messages = build_messages(sendable, ServerKind.OPENAI, embed, all_reasoning=True)
    return {
        "model": session.model,
        "messages": messages,
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
            "messages": [_message_to_dict(m, found, embedded) for m in session.messages],
        },
    }


def _message_to_dict(message: Message, found: Mapping[str, bytes],
                     embedded: set[str]) -> dict[str, Any]:
    images: list[dict[str, Any]] = []
    for image in message.images:
        entry = asdict(image)
        if image.sha256 in found and image.sha256 not in embedded:
            # Not in the OpenAI messages (a question left out of them): its bytes go here, once.
            entry["data_url"] = data_url(image.mime, found[image.sha256])
            embedded.add(image.sha256)
        images.append(entry)
    data: dict[str, Any] = {
        "id": message.id,
        "role": message.role.value,
        "content": message.content,
        "images": images,
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
    if message.made_with is not None:
        data["made_with"] = made_with_to_dict(message.made_with)
    if message.alternatives:  # the reply's other answers (the OpenAI list has the chosen one)
        data["alternatives"] = alternatives_to_dict(message)
    return data


# --- Markdown export ------------------------------------------------------------------------


def export_markdown(session: Session, image_links: Mapping[str, str] | None = None) -> str:
    """A readable transcript: settings at the top, then each message under its role.

    An image with a file in ``image_links`` (SHA-256 -> relative path) is linked so viewers show
    it; any other is a line naming it."""
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
        lines += _markdown_message(message, image_links or {})
    return "\n".join(lines).rstrip() + "\n"


_HEADINGS = {Role.SYSTEM: "System", Role.USER: "User", Role.ASSISTANT: "Assistant",
             Role.TOOL: "Tool result"}


def _markdown_message(message: Message, image_links: Mapping[str, str]) -> list[str]:
    heading = _HEADINGS[message.role]
    if message.role is Role.TOOL and message.name:
        heading += f" · {message.name}"
    if message.status is not MessageStatus.COMPLETE:
        heading += f" ({message.status.value})"
    if message.alternatives:  # the chosen answer only; the JSON export has them all
        heading += f" · answer {message.alternative_position + 1} of {count(message)}"
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
        link = image_links.get(image.sha256)
        if link is not None:
            lines += [f"![{_link_text(label)}]({quote(link)})", ""]
        else:
            lines += [f"*Image: {label} ({image.width}×{image.height}, {image.mime})*", ""]
    for call in message.tool_calls:
        lines += [f"Tool call `{call.name}`:", "", *_fenced(call.arguments, "json"), ""]
    if message.error:
        lines += [f"> Error: {' '.join(message.error.split())}", ""]
    return lines


def _link_text(label: str) -> str:
    """A file name as a Markdown link's text: one line, brackets and backslashes escaped."""
    return re.sub(r"([\\\[\]])", r"\\\1", " ".join(label.split()))


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
