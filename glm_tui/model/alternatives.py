"""A reply's alternatives: the other answers to the same question, and what each was made with.

Asking for a reply again (Ctrl+R) keeps the previous answer instead of replacing it. A reply is
then one of several *variants*, in the order they were made; the one chosen is the message
itself (its ``content``, ``reasoning``, status, figures), so everything that reads a message
(the request, the Markdown export, search) reads the chosen one and nothing else needs to know.
The others wait in ``Message.alternatives`` (oldest first, :class:`~glm_tui.model.session.
Alternative`), and ``Message.alternative_position`` says where the chosen one stands among all of
them: ``‹ 2/3 ›`` is position 1 of 3 variants. Choosing another swaps its fields into the message.

Each variant remembers the model and sampling settings it was made with
(:class:`~glm_tui.model.session.MadeWith`), so two settings can be compared on the same question.
The ``*_to_dict`` / ``*_from_dict`` functions here are the one JSON form, used by the store and by
the JSON export.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from glm_tui.model.sampling import SamplingParams
from glm_tui.model.session import Alternative, MadeWith, Message, MessageStatus, Timings, Usage


def snapshot(message: Message) -> Alternative:
    """The variant a message shows now."""
    return Alternative(content=message.content, reasoning=message.reasoning,
                       reasoning_seconds=message.reasoning_seconds, status=message.status,
                       error=message.error, usage=message.usage, timings=message.timings,
                       created_at=message.created_at, made_with=message.made_with)


def show(variant: Alternative, message: Message) -> None:
    """Make the message show ``variant``."""
    message.content = variant.content
    message.reasoning = variant.reasoning
    message.reasoning_seconds = variant.reasoning_seconds
    message.status = variant.status
    message.error = variant.error
    message.usage = variant.usage
    message.timings = variant.timings
    message.created_at = variant.created_at
    message.made_with = variant.made_with


def variants(message: Message) -> list[Alternative]:
    """Every variant of a reply in the order they were made, the chosen one at its place."""
    others = message.alternatives
    position = min(max(message.alternative_position, 0), len(others))
    return [*others[:position], snapshot(message), *others[position:]]


def choose(message: Message, index: int) -> None:
    """Make variant ``index`` (of :func:`variants`) the chosen one: the message shows it."""
    every = variants(message)
    if not 0 <= index < len(every):
        raise IndexError(f"variant {index} of {len(every)}")
    show(every[index], message)
    message.alternatives = every[:index] + every[index + 1:]
    message.alternative_position = index


# -- the JSON form ------------------------------------------------------------------------------


def made_with_to_dict(made_with: MadeWith) -> dict[str, Any]:
    return {"model": made_with.model, "sampling": made_with.sampling.to_dict()}


def made_with_from_dict(data: Any) -> MadeWith:
    """Raises ValueError (SamplingError is one) on anything else."""
    if not isinstance(data, dict) or not isinstance(data.get("model"), str) \
            or not isinstance(data.get("sampling"), dict):
        raise ValueError("made_with must be an object with \"model\" and \"sampling\"")
    return MadeWith(model=data["model"], sampling=SamplingParams.from_dict(data["sampling"]))


def alternative_to_dict(variant: Alternative) -> dict[str, Any]:
    return {
        "content": variant.content, "reasoning": variant.reasoning,
        "reasoning_seconds": variant.reasoning_seconds, "status": variant.status.value,
        "error": variant.error, "usage": None if variant.usage is None else asdict(variant.usage),
        "timings": None if variant.timings is None else asdict(variant.timings),
        "created_at": variant.created_at,
        "made_with": None if variant.made_with is None else made_with_to_dict(variant.made_with),
    }


def alternative_from_dict(data: Any) -> Alternative:
    """Raises ValueError or TypeError on anything that is not a variant's JSON form."""
    if not isinstance(data, dict):
        raise ValueError("an alternative must be an object")
    unknown = set(data) - {f.name for f in fields(Alternative)}
    if unknown:
        raise ValueError(f"unknown field {sorted(unknown)[0]!r} in an alternative")
    usage, timings, made_with = data.get("usage"), data.get("timings"), data.get("made_with")
    error = data.get("error")
    return Alternative(
        content=_text(data.get("content", "")), reasoning=_text(data.get("reasoning", "")),
        reasoning_seconds=_number(data.get("reasoning_seconds")),
        status=MessageStatus(data.get("status", "complete")),
        error=None if error is None else _text(error),
        usage=None if usage is None else Usage(**usage),
        timings=None if timings is None else Timings(**timings),
        created_at=_number(data.get("created_at")) or 0.0,
        made_with=None if made_with is None else made_with_from_dict(made_with),
    )


def alternatives_to_dict(message: Message) -> dict[str, Any] | None:
    """The JSON form of a message's alternatives (None when it has none)."""
    if not message.alternatives:
        return None
    return {"position": message.alternative_position,
            "others": [alternative_to_dict(variant) for variant in message.alternatives]}


def alternatives_from_dict(data: Any) -> tuple[list[Alternative], int]:
    """The alternatives and position :func:`alternatives_to_dict` wrote (None: none); raises
    ValueError or TypeError on anything else."""
    if data is None:
        return [], 0
    if not isinstance(data, dict) or not isinstance(data.get("others"), list):
        raise ValueError("alternatives must be an object with a list \"others\"")
    others = [alternative_from_dict(item) for item in data["others"]]
    position = data.get("position", 0)
    if isinstance(position, bool) or not isinstance(position, int) \
            or not 0 <= position <= len(others):
        raise ValueError(f"alternatives \"position\" must be 0..{len(others)}")
    return others, position


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, found {type(value).__name__}")
    return value


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, found {type(value).__name__}")
    return float(value)
