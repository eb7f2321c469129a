"""The base of every dialog: a modal screen with a Footer of its own keys.

A modal screen is drawn over the screen below it, Footer included, and a Footer shows the keys of
the screen it belongs to. Without one of its own, a dialog showed the conversation's keys (``^r
Regenerate``) while Ctrl+R in it did something else. So every dialog and picker derives from
:class:`Dialog`, whose Footer (docked on the bottom line, over the one below) lists the keys of
what has focus in the dialog, exactly as the conversation's lists its own.
"""

from __future__ import annotations

from typing import TypeVar

from textual import events
from textual.screen import ModalScreen
from textual.widgets import Footer

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    """A modal screen with its own Footer; subclasses compose the dialog itself as usual."""

    def _on_mount(self, event: events.Mount) -> None:
        # Textual calls the mount handler of each class along the MRO, Screen's and a subclass's
        # ``on_mount`` included: no ``super()`` call here (it would run Screen's twice), and
        # none needed in a subclass to keep this Footer.
        self.mount(Footer(compact=True))
