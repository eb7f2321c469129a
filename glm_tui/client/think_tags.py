"""Inline ``<think>...</think>`` in a reply's content, split from the answer as it streams.

A server without a reasoning parser sends a thinking model's reasoning inside ``content``
(PROTOCOL.md, "Thinking models"): ``<think>`` first, then the reasoning, then ``</think>`` and
the answer. When the chat template already opened the tag in the prompt, the reply starts
mid-thought and only ``</think>`` appears. Tags may be split across chunks anywhere
(``"<th"`` + ``"ink>"``).

The rules, in one place:

- ``<think>`` opens reasoning only at the very start of the content (leading whitespace
  allowed, up to 4 KB). Anywhere later it is answer text, as a model explaining the tag would
  write it.
- Content that does not start with ``<think>`` is answer, handed on at once, until a first
  ``</think>`` shows it was reasoning all along (the mid-thought case): the splitter then says
  so (``MOVED``) and everything before the tag becomes reasoning.
- After ``</think>`` everything is answer, taken literally (a second ``</think>`` included), and
  the blank lines models put between the tag and the answer are dropped.
- A tag cut by a chunk boundary is held back: at most ``len("</think>") - 1`` characters, and
  only when they could still become the tag, so the answer is never delayed by more than that.

Cost is linear in the reply: each piece is searched once, plus at most seven held characters.
"""

from __future__ import annotations

from enum import Enum

OPEN = "<think>"
CLOSE = "</think>"
_MAX_LEADING = 4096
"""Leading whitespace held while waiting for a ``<think>``; past it the reply is answer (a server
sending whitespace forever must not make each piece copy all of it again)."""


class Piece(Enum):
    """What a piece of split text is."""

    ANSWER = "answer"
    REASONING = "reasoning"
    MOVED = "moved"  # all the answer handed on so far was reasoning (its text is empty)


class _State(Enum):
    START = "start"  # only whitespace (or part of "<think>") seen
    THINKING = "thinking"  # inside <think>
    UNOPENED = "unopened"  # answer so far, but a first </think> would make it reasoning
    AFTER_CLOSE = "after close"  # just after </think>: leading whitespace is dropped
    ANSWER = "answer"  # the rest is answer, unexamined


Split = list[tuple[Piece, str]]


class ThinkSplitter:
    """Feeds content text, returns it split into answer and reasoning pieces, in order."""

    __slots__ = ("_held", "_state")

    def __init__(self) -> None:
        self._state = _State.START
        self._held = ""

    @property
    def holding(self) -> bool:
        """Whether some text is held back (whitespace, or what may become a tag)."""
        return bool(self._held)

    @property
    def thinking(self) -> bool:
        """Whether the text is inside an opened ``<think>`` that has not been closed."""
        return self._state is _State.THINKING

    def feed(self, text: str) -> Split:
        """The pieces ``text`` (the next content of the reply) makes, in order."""
        out: Split = []
        if text:
            self._feed(text, out)
        return out

    def literal(self) -> Split:
        """From now on the content is answer as it stands (the server split the reasoning)."""
        out = self.finish()
        self._state = _State.ANSWER
        return out

    def finish(self) -> Split:
        """The end of the content: what is held back is handed on as what it was."""
        held, self._held = self._held, ""
        state = self._state
        if not held or state is _State.AFTER_CLOSE:
            return []
        if state is _State.THINKING:
            return [(Piece.REASONING, held)]
        return [(Piece.ANSWER, held)]

    def _feed(self, text: str, out: Split) -> None:
        state = self._state
        if state is _State.ANSWER:
            out.append((Piece.ANSWER, text))
            return
        buffer = self._held + text if self._held else text
        self._held = ""
        if state is _State.START:
            stripped = buffer.lstrip()
            maybe_open = not stripped or (len(stripped) < len(OPEN) and OPEN.startswith(stripped))
            if maybe_open and len(buffer) <= _MAX_LEADING:
                self._held = buffer  # whitespace, or what may become "<think>"
                return
            if stripped.startswith(OPEN):
                self._state = _State.THINKING
                buffer = stripped[len(OPEN):]
            else:
                self._state = _State.UNOPENED
        elif state is _State.AFTER_CLOSE:
            buffer = buffer.lstrip()
            if not buffer:
                return
            self._state = _State.ANSWER
            out.append((Piece.ANSWER, buffer))
            return
        self._until_close(buffer, out)

    def _until_close(self, buffer: str, out: Split) -> None:
        """Inside reasoning, or an answer that may prove to be reasoning: look for the close."""
        kind = Piece.REASONING if self._state is _State.THINKING else Piece.ANSWER
        at = buffer.find(CLOSE)
        if at < 0:
            keep = _partial_tag_length(buffer)
            body = buffer[:len(buffer) - keep] if keep else buffer
            self._held = buffer[len(buffer) - keep:] if keep else ""
            if body:
                out.append((kind, body))
            return
        if kind is Piece.ANSWER:
            out.append((Piece.MOVED, ""))
        if at:
            out.append((Piece.REASONING, buffer[:at]))
        self._state = _State.AFTER_CLOSE
        rest = buffer[at + len(CLOSE):]
        if rest:
            self._feed(rest, out)


def _partial_tag_length(buffer: str) -> int:
    """How many characters at the end of ``buffer`` could be the start of ``</think>``."""
    start = buffer.rfind("<", max(0, len(buffer) - len(CLOSE) + 1))
    if start < 0:
        return 0
    tail = buffer[start:]
    return len(tail) if CLOSE.startswith(tail) else 0
