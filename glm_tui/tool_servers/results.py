"""What one tool call gave: the text for the model, pictures, and whether it worked.

An MCP result is a list of content parts (text, images, audio, links to resources, embedded
resources) plus, optionally, structured JSON. The model reads text, so :func:`from_call_result`
joins the text parts, uses the structured JSON when there is no text, and describes every part
it cannot pass on in words ("[audio/wav audio left out]"), so the model knows something was there.
Pictures are kept as bytes: the chat layer sends them where the server kind reads images.

The text is cut at the output cap, and says so at its end: a tool that dumps ten megabytes must
not fill the model's context (or the session file).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

MAX_IMAGE_BYTES = 20 * 1024 * 1024  # one picture from a tool; a larger one is described instead


@dataclass(frozen=True)
class ResultImage:
    """A picture a tool returned (the bytes as decoded from the result)."""

    mime: str
    data: bytes


@dataclass(frozen=True)
class ToolServerResult:
    """The outcome of one call; ``error`` set means the call itself failed (nothing to send)."""

    ok: bool  # False: the server flagged isError, or the call failed
    text: str  # what goes back to the model
    images: tuple[ResultImage, ...] = ()
    error: str | None = None  # plain words when the call failed; None for a tool-level isError
    truncated: bool = False  # text cut at the output cap (the text says so at its end)


def failed(error: str) -> ToolServerResult:
    """A call that did not give a result (timeout, the server died, output too large...)."""
    return ToolServerResult(ok=False, text="", error=error)


def cap_text(text: str, output_cap: int) -> tuple[str, bool]:
    """``text`` cut to ``output_cap`` characters, with a note saying how much was left out."""
    if len(text) <= output_cap:
        return text, False
    left_out = len(text) - output_cap
    return (text[:output_cap] + f"\n[… output cut: {left_out:,} more characters left out "
            f"(the limit is {output_cap:,})]"), True


def from_call_result(result: Any, output_cap: int) -> ToolServerResult:
    """Our result from the SDK's ``CallToolResult`` (read by attribute: no SDK import here)."""
    texts: list[str] = []
    notes: list[str] = []
    images: list[ResultImage] = []
    for part in result.content or []:
        kind = getattr(part, "type", "")
        if kind == "text":
            texts.append(str(part.text))
        elif kind == "image":
            image = _image(part)
            if isinstance(image, ResultImage):
                images.append(image)
                notes.append(f"[picture {len(images)}: {image.mime}, {len(image.data):,} bytes]")
            else:
                notes.append(image)
        elif kind == "audio":
            notes.append(f"[{part.mime_type} audio left out: this client passes on no audio]")
        elif kind == "resource_link":
            notes.append(f"[resource {part.uri}" + (f" ({part.name})" if part.name else "") + "]")
        elif kind == "resource":
            texts.append(_embedded(part.resource))
        else:
            notes.append(f"[a {kind or 'nameless'} part left out: this client cannot read it]")
    if not texts and result.structured_content is not None:
        texts.append(json.dumps(result.structured_content, ensure_ascii=False, indent=2))
    text, truncated = cap_text("\n".join(texts + notes), output_cap)
    ok = not result.is_error
    return ToolServerResult(ok=ok, text=text, images=tuple(images), truncated=truncated)


def _image(part: Any) -> ResultImage | str:
    mime = str(part.mime_type or "image/png")
    try:
        data = base64.b64decode(part.data, validate=True)
    except (binascii.Error, ValueError):
        return f"[a {mime} picture left out: its data is not valid base64]"
    if len(data) > MAX_IMAGE_BYTES:
        return (f"[a {mime} picture left out: {len(data):,} bytes, over the limit of "
                f"{MAX_IMAGE_BYTES:,}]")
    return ResultImage(mime, data)


def _embedded(resource: Any) -> str:
    text = getattr(resource, "text", None)
    if isinstance(text, str):
        return text
    mime = getattr(resource, "mime_type", None) or "binary"
    return f"[resource {resource.uri} ({mime}) left out: it is not text]"
