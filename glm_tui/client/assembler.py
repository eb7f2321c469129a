"""One chat completion, put together from whatever the server sent: chunks or a whole message.

This is where the shape of a reply is forgiven (PROTOCOL.md): a role on every chunk or none,
missing ``id``/``finish_reason``/``usage``, content as a list of parts, tool calls in fragments
(with ``null`` or ``""`` names on later parts), whole in one chunk or in the finishing one, the
arguments as an object instead of text, and an ``{"error": ...}`` inside a 200 reply. Reasoning
is kept apart from the answer here too: from ``reasoning_content`` / ``reasoning`` beside the
content, or from inline ``<think>`` tags in it (:mod:`glm_tui.client.think_tags`); once a server
sends a reasoning field its content is taken as it stands, and reasoning that arrives after the
answer started is still reasoning (appended to it, never to the answer). It works on
parsed JSON only, with no network and no framing, so that the streamed and the non-streamed path
share one set of rules.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from glm_tui.client.errors import ServerReportedError
from glm_tui.client.events import (
    AnswerWasReasoning,
    ChatEvent,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    UsageReport,
)
from glm_tui.client.think_tags import Piece, Split, ThinkSplitter
from glm_tui.client.usage import Counts, reasoning_tokens_of, usage_counts, usage_report
from glm_tui.model.session import ToolCall

_HEAD_LIMIT = 200
_REASONING_FIELDS = ("reasoning_content", "reasoning")


class _CallBuffer:
    """One tool call as its fragments arrive."""

    __slots__ = ("arguments", "id", "name", "type")

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.type = "function"
        self.arguments = ""

    def snapshot(self) -> ToolCall:
        return ToolCall(id=self.id, name=self.name, arguments=self.arguments, type=self.type)


class ReplyAssembler:
    """What has arrived so far, and how one parsed chunk changes it."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.reasoning_parts: list[str] = []
        self.calls: dict[int, _CallBuffer] = {}
        self.finish_reason: str | None = None
        self.usage: Counts | None = None
        self.reasoning_tokens: int | None = None  # the server's figure, when it gave one
        self.understood = 0  # chunks that had choices or usage
        self.skipped = 0  # payloads that were not JSON objects, or objects of no known shape
        self.unreadable = 0  # of those, payloads that were not JSON objects at all: text lost
        self.done = False  # saw [DONE]
        self.head = b""  # the first bytes of the body, to quote when nothing made sense
        self._text: str | None = None
        self._reasoning: str | None = None
        self._splitter = ThinkSplitter()
        self._final: tuple[ToolCall, ...] | None = None

    def note_head(self, raw: bytes) -> None:
        if len(self.head) < _HEAD_LIMIT:
            self.head += raw[: _HEAD_LIMIT - len(self.head)]

    def text(self) -> str:
        if self._text is None:
            self._text = "".join(self.parts)
        return self._text

    def reasoning(self) -> str:
        if self._reasoning is None:
            self._reasoning = "".join(self.reasoning_parts)
        return self._reasoning

    @property
    def received(self) -> bool:
        """Whether anything of the reply arrived (answer, reasoning or a tool call)."""
        return bool(self.parts or self.reasoning_parts or self.calls or self._splitter.holding)

    def end(self) -> list[ChatEvent]:
        """The end of the reply: text held back at a possible tag boundary is handed on."""
        events: list[ChatEvent] = []
        self._apply_split(self._splitter.finish(), events)
        return events

    def take(self, payloads: list[bytes]) -> list[ChatEvent]:
        """Events for a batch of SSE payloads; unparseable ones are counted and skipped."""
        events: list[ChatEvent] = []
        for payload in payloads:
            if payload.startswith(b"[DONE]"):
                self.done = True
                break
            self._apply_json(payload, events)
        return events

    def take_whole(self, body: bytes) -> list[ChatEvent]:
        """Events for a non-streamed completion (``message`` instead of ``delta``)."""
        self.note_head(body)
        events: list[ChatEvent] = []
        self._apply_json(body, events)
        events.extend(self.end())
        return events

    def _apply_json(self, raw: bytes, events: list[ChatEvent]) -> None:
        try:
            chunk = json.loads(raw)
        except ValueError:
            self.skipped += 1
            self.unreadable += 1
            return
        self._apply(chunk, events)

    def _apply(self, chunk: object, events: list[ChatEvent]) -> None:
        if not isinstance(chunk, dict):
            self.skipped += 1
            self.unreadable += 1
            return
        error = chunk.get("error")
        if error:
            raise ServerReportedError({"error": error})
        if chunk.get("object") == "error":  # vLLM: {"object": "error", "message": ..., "code"}
            raise ServerReportedError({"error": chunk})
        understood = False
        usage = chunk.get("usage")
        if usage is not None:
            understood = True
            counts = usage_counts(usage)
            if counts is not None:
                self.usage = counts
                self.reasoning_tokens = reasoning_tokens_of(usage)
        choices = chunk.get("choices")
        if isinstance(choices, list):
            understood = True
            # Only one reply is ever requested (no ``n``), so every choice belongs to it.
            for choice in choices:
                if isinstance(choice, dict):
                    self._apply_choice(choice, events)
        if understood:
            self.understood += 1
        else:
            self.skipped += 1

    def _apply_choice(self, choice: dict[str, Any], events: list[ChatEvent]) -> None:
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            delta = choice.get("message")
        if isinstance(delta, dict):
            reasoning = _reasoning_of(delta)
            if reasoning:
                # The server splits reasoning out, so its content is answer as it stands.
                self._apply_split(self._splitter.literal(), events)
                self._add_reasoning(reasoning, events)
            content = delta.get("content")
            text = content if isinstance(content, str) else _text_of_parts(content)
            if text:
                self._apply_split(self._splitter.feed(text), events)
            tool_calls = delta.get("tool_calls")
            if isinstance(tool_calls, list) and tool_calls:
                self._apply_tool_calls(tool_calls, events)
            function_call = delta.get("function_call")
            if isinstance(function_call, dict):  # the pre-tools OpenAI shape
                self._apply_tool_calls([{"index": 0, "function": function_call}], events)
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            self.finish_reason = reason

    def _apply_split(self, pieces: Split, events: list[ChatEvent]) -> None:
        for piece, text in pieces:
            if piece is Piece.ANSWER:
                self.parts.append(text)
                self._text = None
                events.append(TextDelta(text))
            elif piece is Piece.REASONING:
                self._add_reasoning(text, events)
            else:  # MOVED: the answer so far was reasoning (a reply that began mid-thought)
                moved = self.text()
                self.parts.clear()
                self._text = None
                if moved:
                    self.reasoning_parts.append(moved)
                    self._reasoning = None
                events.append(AnswerWasReasoning(moved))

    def _add_reasoning(self, text: str, events: list[ChatEvent]) -> None:
        self.reasoning_parts.append(text)
        self._reasoning = None
        events.append(ReasoningDelta(text))

    def _apply_tool_calls(self, entries: list[Any], events: list[ChatEvent]) -> None:
        for position, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            function = entry.get("function")
            if not isinstance(function, dict):
                function = {}
            call_id = entry.get("id")
            call_id = call_id if isinstance(call_id, str) else ""
            index = entry.get("index")
            if not isinstance(index, int) or isinstance(index, bool):
                index = self._index_for(call_id, position)
            buffer = self.calls.get(index)
            if buffer is None:
                buffer = self.calls[index] = _CallBuffer()
            # Later fragments carry id/name as null (GLM-4, vLLM) or "" (LM Studio): the first
            # non-empty value wins.
            if call_id and not buffer.id:
                buffer.id = call_id
            name = function.get("name")
            if isinstance(name, str) and name and not buffer.name:
                buffer.name = name
            kind = entry.get("type")
            if isinstance(kind, str) and kind and kind != buffer.type and not buffer.arguments:
                buffer.type = kind
            arguments = function.get("arguments")
            if arguments is None:
                fragment = ""
            elif isinstance(arguments, str):
                fragment = arguments
            else:  # some servers send the arguments as a JSON object, not its text
                fragment = json.dumps(arguments, ensure_ascii=False)
            buffer.arguments += fragment
            events.append(ToolCallDelta(index=index, arguments_fragment=fragment,
                                        call=buffer.snapshot()))

    def _index_for(self, call_id: str, position: int) -> int:
        """An index for a tool-call entry that has none: by its id, else by its position."""
        if call_id:
            for index, buffer in self.calls.items():
                if buffer.id == call_id:
                    return index
            return max(self.calls, default=-1) + 1
        return position

    def final_calls(self) -> tuple[ToolCall, ...]:
        """The accumulated calls in index order; a call the server gave no id gets one."""
        if self._final is None:
            calls = []
            for index in sorted(self.calls):
                buffer = self.calls[index]
                if not buffer.id:
                    buffer.id = f"call_{uuid.uuid4().hex[:24]}"
                calls.append(buffer.snapshot())
            self._final = tuple(calls)
        return self._final

    def usage_report(self, request: dict[str, Any]) -> UsageReport:
        """The server's counts when they are believable, else an estimate."""
        return usage_report(request, self.usage, self.text(), self.final_calls(),
                            reasoning=self.reasoning(), reasoning_tokens=self.reasoning_tokens)


def _reasoning_of(delta: dict[str, Any]) -> str:
    """The reasoning beside the content: ``reasoning_content`` or ``reasoning``, or both.

    Servers in transition send both names with the same text (taken once); two different texts
    are both kept, ``reasoning_content`` first.
    """
    first, second = (delta.get(name) for name in _REASONING_FIELDS)
    first = first if isinstance(first, str) else ""
    second = second if isinstance(second, str) else ""
    if not second or second == first:
        return first
    return first + second if first else second


def _text_of_parts(content: object) -> str:
    """Text from a content given as a list of parts (some servers), else nothing."""
    if not isinstance(content, list):
        return ""
    pieces = []
    for part in content:
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            pieces.append(part["text"])
    return "".join(pieces)
