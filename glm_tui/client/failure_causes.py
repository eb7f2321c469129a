"""Why a server may have answered HTTP 500 to *this* request: only the causes that fit it.

The GLM-4 and GLM-4V servers answer several different mistakes with a bare 500 and no words of
their own (PROTOCOL.md): a system message or a misplaced assistant message to GLM-4V, an image
URL it cannot decode, an All Tools entry with streaming, a sampling value out of range. A hint
that lists them all, or one that always blames the sampling settings, sends a person looking in
the wrong place. So the request that was sent is read here and only what it actually contains is
named; a request that matches none of them gets no guess at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from glm_tui.model.server_kind import is_vision_model


def causes_of_500(request: Mapping[str, Any] | None) -> list[str]:
    """Sentences naming what in ``request`` GLM servers are known to fail on with HTTP 500."""
    if not request:
        return []
    causes = _sampling_out_of_range(request)
    tools = request.get("tools")
    entries = tools if isinstance(tools, list) else [tools] if isinstance(tools, dict) else []
    builtin = [str(t.get("type")) for t in entries
               if isinstance(t, dict) and not isinstance(t.get("function"), dict)]
    if builtin and request.get("stream"):
        causes.append(f"it has the All Tools entry {builtin[0]!r} with streaming on, which the "
                      "GLM-4 server cannot stream (turn streaming off for it)")
    model = request.get("model")
    if isinstance(model, str) and is_vision_model(model):
        causes.extend(_vision_causes(request.get("messages")))
    return causes


def _sampling_out_of_range(request: Mapping[str, Any]) -> list[str]:
    """Values GLM-4's sampler raises on (vLLM's SamplingParams checks), by name and value."""
    limits = (
        ("temperature", lambda v: v < 0, "negative"),
        ("top_p", lambda v: not 0 < v <= 1, "outside (0, 1]"),
        ("repetition_penalty", lambda v: not 0 < v <= 2, "outside (0, 2]"),
        ("max_tokens", lambda v: v < 0, "negative"),
    )
    found = []
    for name, bad, words in limits:
        value = request.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and bad(value):
            found.append(f"{name} {value:g} is {words}")
    if not found:
        return []
    return [f"a sampling value is out of the server's range ({'; '.join(found)})"]


def _vision_causes(messages: object) -> list[str]:
    """What GLM-4V refuses with 500: system messages, assistant turns out of place, non-JPEG
    data URLs."""
    if not isinstance(messages, list):
        return []
    roles = [m.get("role") for m in messages if isinstance(m, dict)]
    causes = []
    if "system" in roles:
        causes.append("it has a system message, which GLM-4V servers refuse (put the "
                      "instructions in the first question instead)")
    talk = [role for role in roles if role != "system"]
    if talk[:1] == ["assistant"] or any(
            a == b == "assistant" for a, b in pairwise(talk)):
        causes.append("an assistant message comes first or two follow each other, which "
                      "GLM-4V servers refuse")
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else []:
            url = (part.get("image_url") or {}).get("url") if isinstance(part, dict) else None
            if isinstance(url, str) and url.startswith("data:") and \
                    not url.startswith("data:image/jpeg"):
                causes.append("an image is sent as a data URL other than data:image/jpeg, the "
                              "only kind GLM-4V servers decode")
                return causes
    return causes


def hint_for_500(request: Mapping[str, Any] | None) -> str:
    """The advice after "answered HTTP 500": the causes this request fits, or none guessed."""
    causes = causes_of_500(request)
    if not causes:
        return ("The server failed while handling the request (its own log says why): try "
                "again, and if it keeps failing, look at what the server logged.")
    if len(causes) == 1:
        return f"The server failed while handling the request, likely because {causes[0]}."
    listed = "; ".join(causes)
    return f"The server failed while handling the request. Known causes that fit it: {listed}."
