"""textual-image loads without asking the terminal anything (glm_tui/ui/image_compat.py).

The probes run at import when stdout is a TTY, so they are tested where they happen: a child
process whose stdin, stdout and stderr are a real pseudo-terminal with a known pixel size. What
the child writes to the terminal is read from the other end: a probe is an escape sequence there.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import os
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

from glm_tui.ui.image_compat import (
    CHECKED_TEXTUAL_IMAGE_VERSION,
    DEFAULT_CELL,
    CellSize,
    Display,
    cell_size,
    choose_display,
)

PROBES = (b"\x1b[c", b"\x1b_G", b"\x1b[16t")
"""Sixel's device-attributes query, the Kitty graphics query, the cell-size query."""


def test_the_textual_image_release_is_the_one_the_compat_module_was_read_against() -> None:
    installed = importlib.metadata.version("textual-image")
    assert installed == CHECKED_TEXTUAL_IMAGE_VERSION, (
        f"textual-image is now {installed}; glm_tui/ui/image_compat.py was read against "
        f"{CHECKED_TEXTUAL_IMAGE_VERSION}. Re-read textual_image/_terminal.py (get_cell_size's "
        "cache, capture_terminal_response) and renderable/__init__.py (the import-time probes), "
        "run this file, then bump CHECKED_TEXTUAL_IMAGE_VERSION and the pin in pyproject.toml.")


def _run_on_terminal(code: str, pixels: tuple[int, int] = (960, 800),
                     timeout: float = 60.0) -> tuple[bytes, float]:
    """Run ``python -c code`` with a 120x40 pty (``pixels`` wide and high) as its terminal;
    returns what it wrote there and how long it ran."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, *pixels))
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-c", code], stdin=slave, stdout=slave,
                               stderr=slave, env=dict(os.environ, TERM="xterm-256color"))
    os.close(slave)
    received = bytearray()
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 1.0)
            if time.monotonic() - started > timeout:
                process.kill()
                raise TimeoutError(f"still running after {timeout} s: {bytes(received)!r}")
            if not ready:
                continue
            try:
                data = os.read(master, 1 << 16)
            except OSError:
                break
            if not data:
                break
            received += data
        assert process.wait(timeout=timeout) == 0, bytes(received)
    finally:
        os.close(master)
    return bytes(received), time.monotonic() - started


LOAD_AND_DRAW = """
from glm_tui.ui.image_compat import Display, image_widget_class, load_textual_image
import textual_image._terminal as terminal
load_textual_image()
assert image_widget_class(Display.HALFCELL).__name__ == 'HalfcellImage'
print('cell', tuple(terminal.get_cell_size()), 'done')
"""


def test_loading_through_the_compat_module_asks_the_terminal_nothing() -> None:
    written, _ = _run_on_terminal(LOAD_AND_DRAW)
    assert b"cell (8, 20) done" in written  # 960/120 by 800/40: the ioctl's pixel size
    for probe in PROBES:
        assert probe not in written, f"{probe!r} was written: {written!r}"


def test_without_pixels_in_the_ioctl_the_default_cell_is_used_and_still_nothing_is_asked() -> None:
    written, _ = _run_on_terminal(LOAD_AND_DRAW, pixels=(0, 0))
    assert f"cell {DEFAULT_CELL} done".encode() in written
    for probe in PROBES:
        assert probe not in written, f"{probe!r} was written: {written!r}"


def test_the_plain_import_does_probe_which_is_what_the_compat_module_prevents() -> None:
    """The reason for the module: this release queries the terminal on import. If a release
    stops doing so, this fails and the workaround can go."""
    written, _ = _run_on_terminal("import textual_image.widget\nprint('imported')")
    assert b"imported" in written
    assert b"\x1b[c" in written  # Sixel's query, unanswered by a bare pty


def test_cell_size_reads_the_ioctl_and_falls_back_to_the_environment_then_the_default() -> None:
    master, slave = os.openpty()
    try:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 800, 480))
        assert cell_size(slave, env={}) == CellSize(10, 20)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        assert cell_size(slave, env={}) == CellSize(*DEFAULT_CELL)
        textual_serve = {"TEXTUAL_CELL_WIDTH": "9", "TEXTUAL_CELL_HEIGHT": "18"}
        assert cell_size(slave, env=textual_serve) == CellSize(9, 18)
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize(("setting", "env", "expected"), [
    ("auto", {"TERM": "xterm-kitty"}, Display.KITTY),
    ("auto", {"TERM": "xterm-256color", "KITTY_WINDOW_ID": "1"}, Display.KITTY),
    ("auto", {"TERM": "xterm-ghostty", "TERM_PROGRAM": "ghostty"}, Display.KITTY),
    ("auto", {"TERM": "foot"}, Display.SIXEL),
    ("auto", {"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"}, Display.SIXEL),
    ("auto", {"TERM": "xterm-256color", "KONSOLE_VERSION": "230805"}, Display.SIXEL),
    ("auto", {"TERM": "xterm-256color"}, Display.HALFCELL),
    ("auto", {"TERM": "tmux-256color", "TMUX": "/tmp/tmux-0/default,1,0"}, Display.HALFCELL),
    ("auto", {"TERM": "xterm-kitty", "TMUX": "/tmp/tmux-0/default,1,0"}, Display.HALFCELL),
    ("auto", {"TERM": "dumb"}, Display.TEXT),
    ("auto", {}, Display.TEXT),
    ("sixel", {"TERM": "xterm-256color"}, Display.SIXEL),
    ("text", {"TERM": "xterm-kitty"}, Display.TEXT),
])
def test_the_renderer_follows_the_setting_then_what_the_terminal_announces(
        setting: str, env: dict[str, str], expected: Display) -> None:
    assert choose_display(setting, env) is expected


def test_a_headless_app_draws_the_placeholder_unless_half_blocks_are_asked_for() -> None:
    for setting in (Display.AUTO, Display.KITTY, Display.SIXEL, Display.TEXT):
        assert choose_display(setting, {"TERM": "xterm-kitty"}, can_draw=False) is Display.TEXT
    assert choose_display("halfcell", {}, can_draw=False) is Display.HALFCELL


def test_the_config_choices_are_the_renderers() -> None:
    from glm_tui.settings.config import IMAGE_DISPLAYS

    assert set(IMAGE_DISPLAYS) == {display.value for display in Display}
