"""What the command line prints: outside text made safe on a terminal, a quiet end on a closed pipe.

Titles, model names, tool names and arguments, server words and stored replies come from outside
(a model, a server, an imported file). On a terminal they pass the same sanitiser the app draws
with (:func:`glm_tui.model.text.sanitize_for_display`), so none of them can set the clipboard
(OSC 52), retitle the window, plant a hyperlink or clear the screen. Written to a pipe or a file
they stay byte-exact: a script asked for the data, and the terminal is not involved.

Every command writes through :func:`emit`, so the rule is in one place; :func:`quiet_on_broken_pipe`
makes a command end quietly when its reader goes away (``glm-tui sessions list | head -3``).
:class:`StreamWriter` writes text that arrives in pieces (``ask``'s reply and reasoning) by the
same rule. :func:`dimmed` is the one style glm-tui itself puts on a terminal (a thinking model's
reasoning, so it reads as an aside): applied after sanitising, never to a pipe or a file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TextIO

from glm_tui.model.text import sanitize_for_display

EXIT_BROKEN_PIPE = 141  # what a shell reports for a command ended by SIGPIPE (128 + 13)


def safe_for(stream: TextIO, text: str) -> str:
    """``text`` as it may be written to ``stream``: sanitised when that is a terminal."""
    return sanitize_for_display(text) if _is_terminal(stream) else text


DIM = "\x1b[2m"
UNDIM = "\x1b[22m"  # back to normal intensity only: nothing else is touched


def dimmed(text: str) -> str:
    """Already-sanitised ``text`` dimmed, closed again at once (an interrupted write or a cut
    stream cannot leave the terminal dim)."""
    return f"{DIM}{text}{UNDIM}" if text else ""


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (False for a closed or stand-in stream)."""
    return _is_terminal(stream)


def emit(text: str = "", *, stream: TextIO | None = None, end: str = "\n") -> None:
    """Write one piece of output that may hold outside text (stdout unless told otherwise)."""
    out = sys.stdout if stream is None else stream
    out.write(safe_for(out, text) + end)


def error(text: str) -> None:
    """A message for the person on stderr, with the ``glm-tui:`` prefix; outside text made safe."""
    emit(f"glm-tui: {text}", stream=sys.stderr)


def quiet_on_broken_pipe(command: Callable[[], int]) -> int:
    """Run ``command``; if the reader of stdout goes away, stop without a traceback.

    Python reports the closed pipe as ``BrokenPipeError`` on the write (or the final flush at
    exit); stdout is pointed at ``/dev/null`` so that the interpreter's own flush at exit cannot
    raise it a second time.
    """
    try:
        status = command()
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or stand-in stream is not a terminal
        return False


class StreamWriter:
    """Writes text as it streams (``ask``'s reply, its reasoning); on a terminal, sanitised.

    The sanitiser works character by character, so a control sequence split across two deltas
    is made harmless either way. The one pair it reads together is ``\r\n`` (kept as a line
    break), so a delta ending in ``\r`` is held back until the next one shows what follows.
    """

    def __init__(self, stream: TextIO, sanitize: Callable[[str], str] | None, *,
                 enabled: bool = True, style: Callable[[str], str] | None = None,
                 before_first: Callable[[], None] | None = None) -> None:
        self.stream = stream
        self.sanitize = sanitize
        self.enabled = enabled
        self.style = style  # applied to sanitised text (the reasoning's dim)
        self.before_first = before_first  # called once, before the first text is written
        self.pending = ""
        self.printed = False
        self.ends_with_newline = True

    def write(self, text: str) -> None:
        if not self.enabled or not text:
            return
        if self.sanitize is None:
            self._emit(text)
            return
        text = self.pending + text
        self.pending = "\r" if text.endswith("\r") else ""
        self._emit(self.sanitize(text[: len(text) - len(self.pending)]))

    def finish(self) -> None:
        """Flush what is held; on a terminal end with a newline so the shell prompt starts clean."""
        if not self.enabled:
            return
        if self.pending and self.sanitize is not None:
            self._emit(self.sanitize(self.pending))
        self.pending = ""
        if self.sanitize is not None and self.printed and not self.ends_with_newline:
            self._emit("\n")

    def _emit(self, text: str) -> None:
        if not text:
            return
        if self.before_first is not None:
            before, self.before_first = self.before_first, None
            before()
        self.stream.write(self.style(text) if self.style is not None else text)
        self.stream.flush()
        self.printed = True
        self.ends_with_newline = text.endswith("\n")
