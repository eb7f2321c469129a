"""The session database cannot be read: say which file and why, and let the person decide.

The file is never overwritten: the only ways out are moving it aside (renamed, kept) or quitting
to deal with it by hand.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button

from glm_tui.ui.dialogs.dialog import Dialog
from glm_tui.ui.literal import LiteralLabel, LiteralStatic
from glm_tui.ui.store_keeper import DamagedDatabase

__all__ = ["DamagedDatabase", "DamagedDatabaseChoice", "DamagedDatabaseModal"]


class DamagedDatabaseChoice(StrEnum):
    MOVE_ASIDE = "move-aside"
    QUIT = "quit"


class DamagedDatabaseModal(Dialog[DamagedDatabaseChoice]):
    """Move the damaged file aside and start a new database, or quit."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "quit_app", "Quit", id="damaged_database.quit",
                tooltip="Quit glm-tui and leave the file as it is"),
    ]

    def __init__(self, damaged: DamagedDatabase) -> None:
        super().__init__(classes="dialog-screen")
        self.damaged = damaged

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide -danger"):
            yield LiteralLabel("The session database is damaged", classes="dialog-title")
            yield LiteralStatic(
                f"File: {self.damaged.path}\nProblem: {self.damaged.reason}\n\n"
                f"{self.damaged.advice()}",
                classes="dialog-body",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Move it aside and start a new one", id="move-aside",
                             variant="warning")
                yield Button("Quit", id="quit")

    def on_mount(self) -> None:
        self.query_one("#quit", Button).focus()

    @on(Button.Pressed, "#move-aside")
    def _move_aside(self) -> None:
        self.dismiss(DamagedDatabaseChoice.MOVE_ASIDE)

    @on(Button.Pressed, "#quit")
    def action_quit_app(self) -> None:
        self.dismiss(DamagedDatabaseChoice.QUIT)
