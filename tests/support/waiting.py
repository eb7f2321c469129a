"""The one way tests wait: for a condition, with a generous deadline, never for a fixed time.

The suite runs on a two-core machine that is often busy with a second copy of itself, so a
``sleep(0.3)`` that is plenty when idle is too short under load (and too long when idle). Every
test that needs something to happen polls for it here, and fails with ``what`` it was waiting
for once ``timeout`` passes.

``wait_for`` is for async tests: with a Pilot it lets the app process its pending messages
between polls (``Pilot.pause``); without one (plain asyncio, or a benchmark that must not add
that work to what it measures) it only yields to the event loop. ``wait_until`` is the same for
synchronous code that waits on threads or other processes. ``click`` is ``Pilot.click`` made
safe right after a screen is pushed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

from textual.css.query import NoMatches
from textual.pilot import Pilot
from textual.widget import Widget

WAIT_S = 30.0

_T = TypeVar("_T")


async def wait_for(pilot: Pilot[Any] | None, condition: Callable[[], object],
                   timeout: float = WAIT_S, what: str = "the condition", *,
                   poll: float = 0.02) -> None:
    """Let the app (or the event loop) run until ``condition()`` is true.

    Fails the test after ``timeout`` seconds, naming ``what`` it waited for.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        if pilot is not None:
            await pilot.pause(poll)
        else:
            await asyncio.sleep(poll)


def wait_until(probe: Callable[[], _T | None], what: str = "the condition",
               timeout: float = WAIT_S, *, poll: float = 0.02) -> _T:
    """Block until ``probe()`` returns something other than None (or False); returns it."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)


def _clickable(pilot: Pilot[Any], selector: str) -> Widget | None:
    """The widget ``selector`` names on the active screen, once it is drawn where a click on
    its top-left cell reaches it; None before that."""
    app = pilot.app
    try:
        widget = app.screen.query_one(selector)
    except NoMatches:
        return None
    region = widget.region
    if not widget.display or region.width == 0 or region.height == 0:
        return None
    try:
        under, _ = app.get_widget_at(region.x, region.y)
    except NoMatches:
        return None
    return widget if under is widget else None


async def click(pilot: Pilot[Any], selector: str, *, timeout: float = WAIT_S) -> None:
    """Click the widget ``selector`` names on the active screen, once it is laid out.

    ``Pilot.click`` straight after ``push_screen`` can run before the new screen's first layout:
    the widget has no region yet and the click lands on whatever is at (0, 0). So wait until the
    widget is really under its own top-left cell, then click, and fail if the click landed
    anywhere else.
    """
    await wait_for(pilot, lambda: _clickable(pilot, selector) is not None, timeout=timeout,
                   what=f"{selector} to be shown")
    landed = await pilot.click(selector)
    assert landed, f"the click meant for {selector} landed on another widget"
