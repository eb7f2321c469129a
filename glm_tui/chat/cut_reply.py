"""A reply the server stopped at its token limit (``finish_reason: "length"``), and going on.

A cut reply looks finished, and a person reads the half-answer as the whole one unless told. So
the turn writes a note on the reply (stored and exported with it, drawn under it) naming the
setting that stopped it and the value that was sent, and both front ends say so: the app offers
a key to continue, ``ask`` exits with :data:`EXIT_CUT`.

How to continue is decided here, once: a follow-up user message (:data:`CONTINUE_PROMPT`). The
other way, re-sending the cut reply as a final assistant message for the model to extend, is
refused by the GLM-4 server (400 "Invalid request": the last message may not be the
assistant's) and is not a continuation on OpenAI's API (it starts a new reply); only some servers
(vLLM's ``continue_final_message``, DeepSeek's prefix mode) support it, each its own way. A
follow-up question works on every server, and what was sent is visible in the conversation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glm_tui.model.server_kind import ServerKind

CONTINUE_PROMPT = "Continue exactly where your last reply stopped."
"""The follow-up question sent to make a cut reply go on."""

LENGTH = "length"
"""The ``finish_reason`` of a reply stopped by the token limit (OpenAI, vLLM, GLM-4 streaming)."""

_SERVER_DEFAULTS = {ServerKind.GLM4: 1024, ServerKind.GLM4V: 1024}
"""What a server uses when ``max_tokens`` is not sent, where it is known (PROTOCOL.md)."""


def cut_note(request: Mapping[str, Any], kind: ServerKind | None = None) -> str:
    """The note on a reply cut at the token limit: which setting, with the value that was sent."""
    limit = request.get("max_tokens")
    if isinstance(limit, int) and not isinstance(limit, bool):
        return (f"The reply was cut short by the max tokens setting (max_tokens {limit}): "
                "it may end mid-sentence.")
    default = _SERVER_DEFAULTS.get(kind) if kind is not None else None
    known = f" of {default} tokens" if default is not None else ""
    return (f"The reply was cut short by the server's own limit{known} (max_tokens was not "
            "set): it may end mid-sentence.")


def with_cut_note(error: str | None, note: str) -> str:
    """The reply's note text with ``note`` last (after any problem already on it)."""
    return f"{error}\n{note}" if error else note


def earlier_problem(error: str | None, note: str | None) -> str | None:
    """What was on the reply before the cut note was added (``None`` when nothing)."""
    if error is None or note is None:
        return error
    rest = error.removesuffix(note).rstrip("\n")
    return rest or None
