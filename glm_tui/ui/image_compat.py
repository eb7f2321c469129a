"""textual-image, loaded after the first frame and without its terminal probes.

textual-image decides how to draw when it is *imported*: ``textual_image.renderable`` writes two
queries to the terminal (Sixel's ``ESC [ c`` and a Kitty graphics query) when stdout is a TTY and
reads the answers from stdin, and ``textual_image.widget`` asks the terminal for its cell size
(``ESC [ 16 t``) when ``TIOCGWINSZ`` gives no pixel size. Before ``App.run()`` that costs up to
0.3 s of start-up; after it, Textual's input thread owns stdin, so each probe waits out its 0.1 s
timeout while the terminal's answer arrives in the app as stray key presses.

glm-tui imports it only when the first image is drawn (never for the first frame), so the probes
cannot run. Instead:

* the renderer is decided here, from the ``[images] display`` setting and the environment
  (:func:`choose_display`): ``kitty`` (Kitty graphics with Unicode placeholders), ``sixel``,
  ``halfcell`` (coloured half blocks, any colour terminal) or ``text`` (a placeholder line: no
  TTY, a headless app, tests);
* the cell-size cache textual-image keeps on ``get_cell_size`` is filled from ``TIOCGWINSZ``
  (:func:`cell_size`), so nothing is asked of the terminal;
* while ``textual_image.renderable`` is imported, ``capture_terminal_response`` (the one function
  both probes read the answer through) refuses at once, so each probe returns "not supported"
  without writing a byte or reading stdin.

That is this module's one touch of textual-image's internals (``_terminal``);
``tests/ui/test_image_compat.py`` pins the version it was read against and proves, in a real
pseudo-terminal, that loading writes nothing to the terminal.
"""

from __future__ import annotations

import os
import struct
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from types import ModuleType
from typing import Any, NamedTuple

__all__ = [
    "CHECKED_TEXTUAL_IMAGE_VERSION",
    "CellSize",
    "Display",
    "cell_size",
    "choose_display",
    "image_widget_class",
    "load_textual_image",
]

CHECKED_TEXTUAL_IMAGE_VERSION = "0.12.0"
"""The textual-image release whose ``_terminal`` and import-time probes this module was read
against (pinned in pyproject.toml)."""

DEFAULT_CELL = (10, 20)
"""Cell size in pixels when the terminal reports none (textual-image's own VT340 default)."""


class Display(StrEnum):
    """How images are drawn: the values of ``[images] display``."""

    AUTO = "auto"  # decided from the environment (:func:`choose_display`)
    KITTY = "kitty"  # Kitty graphics protocol with Unicode placeholders (Kitty, Ghostty)
    SIXEL = "sixel"  # Sixel graphics (foot, WezTerm, Konsole, iTerm2, mlterm, xterm -ti vt340)
    HALFCELL = "halfcell"  # coloured half-block characters: any terminal with colours
    TEXT = "text"  # no picture: the placeholder line (name, pixel size, bytes)


_KITTY_TERMS = ("xterm-kitty", "xterm-ghostty")
_SIXEL_PROGRAMS = ("WezTerm", "iTerm.app", "mlterm")
_SIXEL_TERMS = ("foot", "foot-extra", "mlterm", "contour", "yaft-256color", "wezterm")


def choose_display(setting: str | Display, env: Mapping[str, str] | None = None, *,
                   can_draw: bool = True) -> Display:
    """The renderer to use. ``can_draw`` is False for a headless app or output that is not a
    terminal: then Kitty and Sixel (escape sequences written straight to the terminal) and
    ``auto`` become the text placeholder; ``halfcell`` set on purpose is kept, as it is only
    coloured characters drawn like any other text (the tests draw real thumbnails with it).

    ``auto`` cannot ask the terminal (Textual owns its input by the time an image is drawn), so
    it reads what terminals announce about themselves. Inside tmux or screen it picks half
    blocks: a multiplexer passes neither Sixel (unless built for it) nor Kitty graphics by
    default, and half blocks always work.
    """
    display = Display(setting)
    if not can_draw:
        return Display.HALFCELL if display is Display.HALFCELL else Display.TEXT
    if display is not Display.AUTO:
        return display
    env = os.environ if env is None else env
    term = env.get("TERM", "")
    program = env.get("TERM_PROGRAM", "")
    if term in ("", "dumb"):
        return Display.TEXT
    if env.get("TMUX") or env.get("STY") or term.startswith(("screen", "tmux")):
        return Display.HALFCELL
    if term in _KITTY_TERMS or env.get("KITTY_WINDOW_ID") or program == "ghostty":
        return Display.KITTY
    if (program in _SIXEL_PROGRAMS or term in _SIXEL_TERMS or env.get("KONSOLE_VERSION")
            or env.get("WEZTERM_EXECUTABLE")):
        return Display.SIXEL
    return Display.HALFCELL


class CellSize(NamedTuple):
    width: int  # pixels
    height: int


def cell_size(fd: int | None = None, env: Mapping[str, str] | None = None) -> CellSize:
    """One terminal cell in pixels, from ``TIOCGWINSZ`` on ``fd`` (the terminal by default),
    else ``TEXTUAL_CELL_WIDTH``/``TEXTUAL_CELL_HEIGHT`` (textual-serve), else 10x20.

    An ioctl only reads the kernel's idea of the window: it never writes to the terminal or
    reads its input, so it is safe while Textual runs.
    """
    env = os.environ if env is None else env
    if fd is None:
        fd = _terminal_fd()
    if fd is not None:
        try:
            import fcntl
            import termios

            packed = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
            rows, columns, x_pixels, y_pixels = struct.unpack("HHHH", packed)
            if rows and columns and x_pixels and y_pixels:
                return CellSize(x_pixels // columns, y_pixels // rows)
        except (ImportError, OSError):
            pass
    width, height = env.get("TEXTUAL_CELL_WIDTH", ""), env.get("TEXTUAL_CELL_HEIGHT", "")
    if width.isdigit() and height.isdigit() and int(width) and int(height):
        return CellSize(int(width), int(height))
    return CellSize(*DEFAULT_CELL)


def _terminal_fd() -> int | None:
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None and stream.isatty():
                return stream.fileno()
        except (OSError, ValueError):
            continue
    return None


_lock = threading.Lock()
_widget_module: ModuleType | None = None


def load_textual_image(size: CellSize | None = None) -> ModuleType:
    """``textual_image.widget``, imported once without any terminal probe (thread-safe: call it
    from a worker thread, it imports Pillow too)."""
    global _widget_module
    with _lock:
        if _widget_module is None:
            import textual_image._terminal as terminal

            # The cache get_cell_size() keeps (a function attribute, read before any probing).
            terminal.get_cell_size._result = terminal.CellSize(  # type: ignore[attr-defined]
                *(size or cell_size()))
            with _probes_refused(terminal):
                import textual_image.widget as widget
            _widget_module = widget
        return _widget_module


@contextmanager
def _probes_refused(terminal: Any) -> Iterator[None]:
    """While textual-image's renderables are imported, reading a terminal answer fails at once
    (as if the terminal had not answered), before the query is written."""
    original = terminal.capture_terminal_response

    @contextmanager
    def refused(*_args: object, **_kwargs: object) -> Iterator[None]:
        raise terminal.TerminalError("glm-tui decides the image renderer itself")
        yield  # pragma: no cover - a generator, never reached

    terminal.capture_terminal_response = refused
    try:
        yield
    finally:
        terminal.capture_terminal_response = original


def image_widget_class(display: Display) -> type[Any]:
    """The textual-image widget class drawing with ``display`` (not TEXT or AUTO)."""
    widget = load_textual_image()
    classes: dict[Display, type[Any]] = {
        Display.KITTY: widget.TGPImage,
        Display.SIXEL: widget.SixelImage,
        Display.HALFCELL: widget.HalfcellImage,
    }
    if display not in classes:
        raise ValueError(f"{display} draws no picture")
    return classes[display]
