"""Navigation going up: what a screen asks of the app, as Textual messages.

A screen never calls the app to change what is shown; it posts one of these and the app, which
owns the screen stack, the store and the active server, handles it (``GlmTuiApp``'s ``@on``
handlers). Before the app replaces a conversation it awaits the screen's own ``suspend()``: the
screen stops and stores its work itself, so nothing outside it cancels its workers or touches its
recorder.

Messages go up, attributes go down: the app hands each screen a
:class:`~glm_tui.ui.services.Services` when it builds it. The messages are dataclasses (compared
by value), so the sessions screen can also dismiss with one and the conversation posts it on.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass(eq=True)
class OpenSession(Message):
    """Open a saved session; ``message_id``: scroll to that message (a search hit)."""

    session_id: str
    message_id: int | None = None


@dataclass(eq=True)
class NewSession(Message):
    """Start a new, empty session with the active server's model and the default settings."""


@dataclass(eq=True)
class SwitchServer(Message):
    """Make another configured server profile the active one (a new client, a new check)."""

    name: str
