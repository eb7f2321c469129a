"""How many tokens a request and its reply cost: the server's count when believable, else ours.

Servers disagree about usage: many send none, vLLM sends it in a ``choices: []`` chunk, llama.cpp
in the stop chunk, GLM-4V sends negative numbers, some send a completion count of 0 for a reply
that has text. The status bar should show one figure either way, marked as an estimate when it is
one, so deciding whether to believe the server and estimating otherwise is kept together here.
"""

from __future__ import annotations

import json
from typing import Any

from glm_tui.client.events import UsageReport
from glm_tui.client.tokens import estimate_tokens
from glm_tui.model.session import ToolCall

Counts = tuple[int | None, int | None]


def usage_counts(usage: object) -> Counts | None:
    """(prompt, completion) when usage is believable; None when absent or nonsense.

    GLM-4V reports negative completion counts: one bad number makes the whole report
    untrustworthy, so it is treated as absent and the client estimates instead.
    """
    if not isinstance(usage, dict):
        return None
    prompt = usage.get("prompt_tokens")
    completion = usage.get("completion_tokens")
    try:
        counts = (None if prompt is None else _count(prompt),
                  None if completion is None else _count(completion))
    except ValueError:
        return None
    if counts == (None, None):
        return None
    return counts


def reasoning_tokens_of(usage: dict[str, Any]) -> int | None:
    """``completion_tokens_details.reasoning_tokens`` when given and believable, else None."""
    details = usage.get("completion_tokens_details")
    if not isinstance(details, dict) or details.get("reasoning_tokens") is None:
        return None
    try:
        return _count(details["reasoning_tokens"])
    except ValueError:
        return None


def _count(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    raise ValueError(value)


def usage_report(
    request: dict[str, Any], counts: Counts | None, text: str, calls: tuple[ToolCall, ...],
    *, reasoning: str = "", reasoning_tokens: int | None = None,
) -> UsageReport:
    """The server's ``counts`` when they are believable, else an estimate for ``request``.

    ``reasoning_tokens`` is the server's own figure only; an estimate counts the reasoning into
    the completion (the model generated it) and leaves the reasoning figure to the tracker.
    """
    if counts is not None:
        prompt, completion = counts
        # A completion count of 0 for a reply that has text is a server that does not count.
        if not (completion == 0 and (text or calls or reasoning)):
            return UsageReport(prompt, completion, estimated=False,
                               reasoning_tokens=reasoning_tokens)
    completion_estimate = estimate_tokens(text) + estimate_tokens(reasoning) + sum(
        estimate_tokens(call.name) + estimate_tokens(call.arguments) for call in calls
    )
    return UsageReport(estimate_prompt_tokens(request), completion_estimate, estimated=True)


def estimate_prompt_tokens(request: dict[str, Any]) -> int | None:
    """An estimate of the prompt's tokens; None when it holds images (their cost is unknowable)."""
    messages = request.get("messages")
    if not isinstance(messages, list):
        return None
    total = 3  # the reply's priming
    for message in messages:
        if not isinstance(message, dict):
            continue
        total += 4  # role and separators
        content = message.get("content")
        if isinstance(content, str):
            total += estimate_tokens(content)
        elif isinstance(content, list):
            for part in content:
                if not isinstance(part, dict):
                    continue
                if part.get("type") == "text" and isinstance(part.get("text"), str):
                    total += estimate_tokens(part["text"])
                elif part.get("type") != "text":
                    return None
        for name in ("reasoning_content", "reasoning"):  # reasoning sent back (interleaved)
            if isinstance(message.get(name), str):
                total += estimate_tokens(message[name])
        for call in message.get("tool_calls") or ():
            if isinstance(call, dict):
                total += estimate_tokens(json.dumps(call.get("function"), ensure_ascii=False))
    tools = request.get("tools")
    if tools:
        total += estimate_tokens(json.dumps(tools, ensure_ascii=False))
    return total
