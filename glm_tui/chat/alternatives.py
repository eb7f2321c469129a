"""The rules of a reply's alternatives in a conversation (the data is glm_tui.model.alternatives).

Ctrl+R asks for the last reply again. The answers it had are kept, when they are answers: a reply
that failed before any text is not one, and an answer that called tools is not kept (its calls and
their results belong to that answer alone, and another answer in its place would leave results
without calls); while one is shown, the reply cannot switch to another. The new reply is the
newest variant, chosen; the request for it is built without any of them, as before. Moving
between a reply's variants changes which one the message shows, so the next request sends the
chosen one and nothing else (``chat/request.py`` reads messages only), and the Markdown export
writes it; the others stay in the store and in JSON exports.
"""

from __future__ import annotations

from glm_tui.model.alternatives import variants
from glm_tui.model.session import Alternative, MadeWith, Message, MessageStatus, Role


def kept_answers(reply: Message) -> list[Alternative]:
    """The answers of ``reply`` to keep when it is asked for again (oldest first): all that have
    text or reasoning, except the one shown when it called tools."""
    if reply.role is not Role.ASSISTANT:
        return []
    every = variants(reply)
    if reply.tool_calls:
        del every[reply.alternative_position]  # its calls and their results go with it
    return [variant for variant in every if variant.worth_keeping]


def take_kept(reply: Message, kept: list[Alternative], made_with: MadeWith) -> None:
    """A new reply to the same question: it records what it is made with, the kept answers
    become its alternatives, and it is the newest variant."""
    reply.made_with = made_with
    reply.alternatives = list(kept)
    reply.alternative_position = len(kept)


def count(message: Message) -> int:
    """How many variants the reply has (1 when it has no alternatives)."""
    return len(message.alternatives) + 1


def switch_refusal(message: Message | None, delta: int) -> str | None:
    """Why the reply cannot move ``delta`` variants (-1 back, +1 on) now; None when it can."""
    if message is None or message.role is not Role.ASSISTANT:
        return "There is no reply to switch yet."
    if not message.alternatives:
        return "This reply has no other answer yet: Ctrl+R asks again and keeps this one."
    if message.status is MessageStatus.STREAMING:
        return "This reply is still arriving: Esc cancels it first."
    if message.tool_calls:
        return ("This answer called tools, and their results follow it: it cannot be "
                "exchanged for another answer.")
    target = message.alternative_position + delta
    if target < 0:
        return f"This is the first answer (1 of {count(message)})."
    if target >= count(message):
        return f"This is the newest answer ({count(message)} of {count(message)})."
    return None
