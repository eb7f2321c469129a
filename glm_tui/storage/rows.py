"""Rows <-> model objects: how a Session and a Message are laid out in the two tables.

Lists and small objects (sampling, tools, images, tool calls, usage, timings) are stored as
compact JSON text, so adding a field to one of them needs no schema change. The column lists
here and the tuples the functions build are in the same order; the store's SQL uses both.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from glm_tui.model.alternatives import (
    alternatives_from_dict,
    alternatives_to_dict,
    made_with_from_dict,
    made_with_to_dict,
)
from glm_tui.model.sampling import SamplingParams
from glm_tui.model.session import (
    ImageAttachment,
    Message,
    MessageStatus,
    Role,
    Session,
    Timings,
    ToolCall,
    Usage,
)

Row = tuple[Any, ...]

MESSAGE_COLUMNS = (
    "id, role, content, images, tool_calls, tool_call_id, name, status, error, usage, timings,"
    " created_at, position, reasoning, reasoning_seconds, made_with, alternatives"
)
"""What :func:`message_from_row` reads, in order."""
SESSION_COLUMNS = (
    "id, title, created_at, updated_at, server_profile, model, system_prompt, sampling, tools,"
    " tool_choice, stream, preserve_thinking"
)
"""What :func:`session_row` writes and :func:`session_from_row` reads, in order."""
SESSION_PLACEHOLDERS = ",".join("?" * (SESSION_COLUMNS.count(",") + 1))
MESSAGE_VALUE_COLUMNS = (
    "role, content, images, tool_calls, tool_call_id, name, status, error, usage, timings,"
    " created_at, reasoning, reasoning_seconds, made_with, alternatives"
)
"""What :func:`message_values` writes, in order (everything but id, session and position)."""
MESSAGE_VALUE_COUNT = MESSAGE_VALUE_COLUMNS.count(",") + 1

PREVIEW_CHARS = 120
INTERRUPTED_ERROR = "glm-tui stopped before this reply finished"


@dataclass(frozen=True)
class SessionSummary:
    """One row of the sessions list; ``preview`` is the latest message text on one line."""

    id: str
    title: str
    model: str
    updated_at: float
    message_count: int
    preview: str


def dumps(value: Any) -> str:
    """Compact JSON that keeps non-ASCII text readable in the file."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def session_row(session: Session) -> Row:
    return (
        session.id, session.title, session.created_at, session.updated_at,
        session.server_profile, session.model, session.system_prompt,
        dumps(session.sampling.to_dict()), dumps(session.tools),
        None if session.tool_choice is None else dumps(session.tool_choice),
        1 if session.stream else 0, 1 if session.preserve_thinking else 0,
    )


def session_from_row(row: Row) -> Session:
    tool_choice = None if row[9] is None else json.loads(row[9])
    return Session(
        id=row[0], title=row[1], created_at=row[2], updated_at=row[3],
        server_profile=row[4], model=row[5], system_prompt=row[6],
        sampling=SamplingParams.from_dict(json.loads(row[7])),
        tools=json.loads(row[8]), tool_choice=tool_choice, stream=bool(row[10]),
        preserve_thinking=bool(row[11]),
    )


def message_values(message: Message) -> Row:
    """role .. alternatives, in the order of :data:`MESSAGE_VALUE_COLUMNS`."""
    return (
        message.role.value, message.content,
        dumps([asdict(image) for image in message.images]),
        dumps([asdict(call) for call in message.tool_calls]),
        message.tool_call_id, message.name, message.status.value, message.error,
        None if message.usage is None else dumps(asdict(message.usage)),
        None if message.timings is None else dumps(asdict(message.timings)),
        message.created_at, message.reasoning, message.reasoning_seconds,
        None if message.made_with is None else dumps(made_with_to_dict(message.made_with)),
        None if not message.alternatives else dumps(alternatives_to_dict(message)),
    )


def message_from_row(row: Row) -> Message:
    others, position = alternatives_from_dict(None if row[16] is None else json.loads(row[16]))
    usage = None if row[9] is None else Usage(**json.loads(row[9]))
    timings = None if row[10] is None else Timings(**json.loads(row[10]))
    return Message(
        id=row[0], role=Role(row[1]), content=row[2],
        images=[ImageAttachment(**image) for image in json.loads(row[3])],
        tool_calls=[ToolCall(**call) for call in json.loads(row[4])],
        tool_call_id=row[5], name=row[6], status=MessageStatus(row[7]), error=row[8],
        usage=usage, timings=timings, created_at=row[11], reasoning=row[13] or "",
        reasoning_seconds=row[14],
        made_with=None if row[15] is None else made_with_from_dict(json.loads(row[15])),
        alternatives=others, alternative_position=position,
    )


def mark_interrupted(messages: list[Message]) -> list[Message]:
    """Messages still marked streaming belong to a glm-tui that died mid-reply: they come back
    marked interrupted (in the returned objects only; see ``SessionStore.load_session``)."""
    for message in messages:
        if message.status is MessageStatus.STREAMING:
            message.status = MessageStatus.INTERRUPTED
            if message.error is None:
                message.error = INTERRUPTED_ERROR
    return messages


def one_line(text: str, limit: int = PREVIEW_CHARS) -> str:
    """Whitespace folded to single spaces, shortened with an ellipsis (list previews)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
