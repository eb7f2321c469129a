"""The exact request the next send will make, as JSON to read and as a ``curl`` command to run.

People change sampling values and need to trust that what they set is what the server gets. The
body shown here is built by the same :func:`~glm_tui.chat.request.build_request` the client
sends, so the preview cannot drift from the wire (a test compares it with the demo server's
request log). The API key is never shown: the curl command reads it from an environment variable
instead, so it can be pasted into a shell, a chat or a bug report without leaking anything.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
from typing import Any

from glm_tui.chat.request import ImageLoader, build_request
from glm_tui.chat.tool_turns import stream_for_request
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import Message, Role, Session

REDACTED = "<redacted>"
KEY_ENV = "OPENAI_API_KEY"
_PUBLIC_KEYS = {"", "EMPTY"}  # the GLM-4 local servers' conventional non-secret key


def preview_body(
    session: Session,
    kind: ServerKind,
    *,
    draft: str | None = None,
    image_loader: ImageLoader | None = None,
    stream: bool | None = None,
) -> dict[str, Any]:
    """The JSON body the next request will send.

    ``draft`` is the question still in the prompt: it is shown as the last user message, as it
    would be sent, without being added to ``session``. Streaming is decided as the turn decides
    it (:func:`~glm_tui.chat.tool_turns.stream_for_request`) unless ``stream`` is given.
    """
    if draft is not None and draft.strip():
        session = copy.copy(session)
        session.messages = [*session.messages, Message(Role.USER, draft)]
    if stream is None:
        stream, _ = stream_for_request(session, kind)
    return build_request(session, kind, image_loader=image_loader, stream=stream)


def is_secret(api_key: str) -> bool:
    """Whether a key is a secret (``EMPTY``, the local servers' placeholder, is not)."""
    return api_key.strip() not in _PUBLIC_KEYS


def redact_key(api_key: str) -> str:
    """How the key is shown: placeholders as they are, real keys never."""
    return api_key if not is_secret(api_key) else REDACTED


def body_json(body: dict[str, Any], api_key: str = "") -> str:
    """The body as indented JSON text, with any occurrence of a secret key replaced.

    The key does not belong in a body, but a person may have pasted it into a message; the view
    must not be the place it leaks from.
    """
    text = json.dumps(body, indent=2, ensure_ascii=False)
    return _scrub(text, api_key)


def chat_completions_url(base_url: str) -> str:
    """The URL the openai client posts to: the base URL joined with ``chat/completions``."""
    return base_url.rstrip("/") + "/chat/completions"


def authorization_header(api_key: str, key_env: str = KEY_ENV) -> str:
    """The Authorization header as displayed: the key is replaced unless it is a placeholder."""
    if is_secret(api_key):
        return f"Authorization: Bearer ${key_env}"
    return f"Authorization: Bearer {api_key.strip() or 'EMPTY'}"


def curl_command(
    body: dict[str, Any], base_url: str, api_key: str, *, api_key_env: str | None = None
) -> str:
    """A shell command that sends exactly ``body`` to the server.

    A secret key appears as ``$OPENAI_API_KEY``, or as ``$<api_key_env>`` when the profile reads
    its key from that variable (so the variable the person already exported works), in double
    quotes so the shell expands it; every other piece is single-quoted with :func:`shlex.quote`,
    so quotes, ``$`` and newlines in a message reach the server unchanged. ``-N`` shows a
    streamed reply as it arrives.
    """
    key_env = key_env_name(api_key_env)
    data = _scrub(json.dumps(body, ensure_ascii=False, separators=(",", ":")), api_key)
    if is_secret(api_key):
        auth = f'"Authorization: Bearer ${key_env}"'
    else:
        auth = shlex.quote(authorization_header(api_key, key_env))
    return " \\\n  ".join([
        "curl -sS -N " + shlex.quote(chat_completions_url(base_url)),
        "-H 'Content-Type: application/json'",
        "-H " + auth,
        "--data-binary " + shlex.quote(data),
    ])


def key_env_name(api_key_env: str | None) -> str:
    """The variable a copied command reads the key from: the profile's, or ``OPENAI_API_KEY``.

    The name goes into a double-quoted shell word, so anything but a plain variable name is
    refused (it could run a command when pasted).
    """
    if api_key_env is None:
        return KEY_ENV
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", api_key_env):
        raise ValueError(f"not an environment variable name: {api_key_env!r}")
    return api_key_env


def _scrub(text: str, api_key: str) -> str:
    key = api_key.strip()
    if is_secret(key) and len(key) >= 4:
        return text.replace(key, REDACTED)
    return text
