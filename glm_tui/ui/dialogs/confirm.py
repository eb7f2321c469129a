"""The one yes/no dialog: ``y`` answers yes, ``n`` or Esc answers no; a danger variant.

Every yes/no question of the app (decline a tool call, discard an edit, replace a preset, delete a
session, open a link, send a request the server will likely refuse) is this dialog. Its title and
body are ``str`` and are always drawn literally (:mod:`glm_tui.ui.literal`): they often quote a tool
name, a session title or a URL, and there is no way to hand it markup or raw control characters.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button

from glm_tui.ui.dialogs.dialog import Dialog
from glm_tui.ui.literal import LiteralLabel, LiteralStatic, literal_line


class ConfirmModal(Dialog[bool]):
    """A yes/no question; dismisses with True for yes.

    ``danger``: the answer destroys or risks something (delete, discard, open a link): the
    frame is red, the yes button is red, and the focus starts on "no" so Enter is harmless.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="dialog.yes",
                tooltip="Answer yes (the left button)"),
        Binding("n,escape", "answer(False)", "No", id="dialog.no",
                tooltip="Answer no; nothing changes"),
    ]

    def __init__(self, title: str, body: str, *, confirm: str = "Yes",
                 cancel: str = "No", danger: bool = False) -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._body = body
        self._confirm = confirm
        self._cancel = cancel
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -danger" if self.danger else "dialog"):
            yield LiteralLabel(self._title, classes="dialog-title")
            yield LiteralStatic(self._body, classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(literal_line(f"{self._confirm} (y)"), id="confirm",
                             variant="error" if self.danger else "primary")
                yield Button(literal_line(f"{self._cancel} (n)"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel" if self.danger else "#confirm", Button).focus()

    @on(Button.Pressed, "#confirm")
    def _confirmed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancelled(self) -> None:
        self.dismiss(False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


def confirm_link(url: str) -> ConfirmModal:
    """Asked before any link in a reply opens: the URL is shown in full, exactly as written."""
    return ConfirmModal(
        "Open this link?",
        f"The reply links to:\n\n{url}\n\nOpen it in your browser?",
        confirm="Open", cancel="Don't open", danger=True,
    )
