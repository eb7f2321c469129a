"""The server's own words, read out of an error body.

Servers word their errors as ``{"detail": ...}`` (GLM-4, FastAPI validation lists),
``{"error": {...}}`` (OpenAI, vLLM, llama.cpp), a bare message, plain text or an HTML page. The
person should see what the server said, once and briefly, whichever form it took; this module only
extracts and trims that text. Choosing the sentence around it (and the hint) is
:mod:`glm_tui.client.errors`'s job.

The server's words are data from the network: :func:`server_detail` returns them with every
terminal-active character (ESC, BEL, ...) made visible, because they end up on a screen (the TUI,
or ``glm-tui ask``'s stderr) where a raw escape sequence would act instead of print.
"""

from __future__ import annotations

import json
import re

from glm_tui.model.text import sanitize_for_display

DETAIL_LIMIT = 600

_TAGS = re.compile(r"<[^>]+>")


def server_detail(body: str, content_type: str = "") -> str | None:
    """The server's own words from an error body (JSON ``detail``/``error`` forms, or text).

    Safe to display: control characters come back as visible stand-ins.
    """
    text = body.strip()
    if not text:
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    else:
        detail = detail_of(parsed)
        if detail:
            return sanitize_for_display(shorten(detail))
    if looks_like_html(text, content_type):
        text = " ".join(_TAGS.sub(" ", text).split())
    return sanitize_for_display(shorten(text)) if text else None


def looks_like_html(text: str, content_type: str) -> bool:
    """A web page (a proxy's or a wrong URL's), by its content type or its first tag."""
    return "html" in content_type.lower() or text.lower().startswith(("<!doctype", "<html"))


def detail_of(body: object) -> str | None:
    """``{"detail": str}``, ``{"detail": [{"loc", "msg"}]}``, ``{"error": {"message", "code"}}``."""
    if isinstance(body, str):
        return body or None
    if not isinstance(body, dict):
        return None
    detail = body.get("detail")
    if isinstance(detail, str) and detail:
        return detail
    if isinstance(detail, list) and detail:
        return "; ".join(_validation_item(item) for item in detail)
    if isinstance(detail, dict):
        return detail_of(detail)
    error = body.get("error")
    if isinstance(error, dict):
        message = error.get("message") or error.get("msg")
        code = error.get("code")
        if isinstance(message, str) and message:
            if code in (None, ""):
                return message
            return f"{message.rstrip().removesuffix('.')} (code {code})"
        return json.dumps(error, ensure_ascii=False)
    if isinstance(error, str) and error:
        return error
    for key in ("message", "msg"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _validation_item(item: object) -> str:
    """One FastAPI/pydantic validation error as ``messages[0].content: msg``."""
    if not isinstance(item, dict):
        return str(item)
    message = str(item.get("msg") or item.get("message") or item)
    loc = item.get("loc")
    if not isinstance(loc, list) or not loc:
        return message
    parts = list(loc[1:] if loc[0] == "body" and len(loc) > 1 else loc)
    where = ""
    for part in parts:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return f"{where}: {message}" if where else message


def shorten(text: str, limit: int = DETAIL_LIMIT) -> str:
    """``text`` cut to ``limit`` characters (with an ellipsis): a message, not a dump."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def sentence(text: str) -> str:
    """``text`` ending in a full stop, so a hint can follow it."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…", "。")) else text + "."
