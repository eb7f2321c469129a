"""The demo-only ``[[demo:name=value]]`` directives in the last user message.

They let tests, benchmarks and people trying failure handling ask the demo server for an HTTP
status, a cut connection, a reply of a given size or text, a token rate or a first-token delay
(the list is in the ``server`` docstring). Parsed apart from the reply text so that the HTTP side
(status, rate, delay) and the reply builder (cut, size, say) read the same values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

DIRECTIVE_RE = re.compile(r"\[\[demo:([a-z]+)=(.*?)\]\]", re.DOTALL)


@dataclass(frozen=True)
class Directives:
    """Demo-only controls found in the last user message (listed in the ``server`` docstring)."""

    status: int | None = None
    cut: int | None = None
    size: int | None = None
    rate: float | None = None
    delay: float | None = None
    say: str | None = None
    reasoning: int | None = None  # thinking models: exactly this many characters of reasoning
    think: str | None = None  # "unopened": the inline flavour's reply starts mid-thought


def parse_directives(text: str) -> tuple[Directives, str]:
    """The directives in ``text`` and the text without them.

    Unknown names and values that do not parse are left in the text, so a typo is visible in the
    echoed question instead of silently doing nothing. When a directive is removed the remaining
    question is stripped of surrounding whitespace; otherwise the text is returned untouched.
    """
    values: dict[str, Any] = {}

    def take(match: re.Match[str]) -> str:
        name, raw = match.group(1), match.group(2)
        parsed = _parse_directive_value(name, raw)
        if parsed is None:
            return match.group(0)
        values[name] = parsed
        return ""

    stripped = DIRECTIVE_RE.sub(take, text)
    if not values:
        return Directives(), text
    return Directives(**values), stripped.strip()


def _parse_directive_value(name: str, raw: str) -> int | float | str | None:
    try:
        if name == "status":
            status = int(raw)
            return status if 400 <= status <= 599 else None
        if name in ("cut", "size", "reasoning"):
            count = int(raw)
            return count if count >= 0 else None
        if name in ("rate", "delay"):
            number = float(raw)
            return number if number >= 0 and number == number and number != float("inf") else None
    except ValueError:
        return None
    if name == "say":
        return raw
    if name == "think":
        return raw if raw == "unopened" else None
    return None
