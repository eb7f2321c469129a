"""The "jump to latest" line: shown while a reply streams below a conversation scrolled up.

A reply that streams while the person reads further up no longer pulls the view down (the list
lets go of the bottom when they scroll); this line says that the reply goes on below and how to
get back to it. Clicking it, or Ctrl+End, scrolls to the end and follows the reply again.
"""

from __future__ import annotations

from textual.content import Content
from textual.message import Message
from textual.widgets import Static

HINT = "↓ The reply goes on below · Ctrl+End or a click here jumps to the latest"


class JumpToLatest(Static):
    """One line above the prompt, hidden until the screen shows it."""

    class Pressed(Message):
        """The line was clicked: jump to the latest text and follow it."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Content(HINT), id=id, markup=False)
        self.display = False

    def on_click(self) -> None:
        self.post_message(self.Pressed())
