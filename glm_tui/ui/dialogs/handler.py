"""Asked before a tool's local handler runs: the exact command and the exact arguments.

Not a yes/no question (run once, always allow, answer by hand), so not the confirm dialog. The
tool name, the command and the arguments come from the model or a file: all drawn literally.
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


class HandlerChoice(StrEnum):
    RUN_ONCE = "run-once"
    ALWAYS = "always"  # run this tool's handler without asking for the rest of the session
    BY_HAND = "by-hand"


class HandlerConfirmModal(Dialog[HandlerChoice]):
    """Nothing runs unless the person picks "Run"; Esc answers by hand."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "by_hand", "Answer by hand", id="handler.by_hand",
                tooltip="Do not run the handler; write the result in the prompt"),
    ]

    def __init__(self, tool: str, command: str, arguments: str) -> None:
        super().__init__(classes="dialog-screen")
        self._tool = tool
        self._command = command
        self._arguments = arguments

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield LiteralLabel(f"Run the handler of {self._tool}?", classes="dialog-title")
            yield LiteralStatic("glm-tui will run this command (no shell):")
            yield LiteralStatic(self._command, classes="dialog-code")
            yield LiteralStatic("with these arguments on its standard input:")
            yield LiteralStatic(self._arguments, classes="dialog-code")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Run once", id="run-once", variant="primary")
                yield Button("Always allow in this session", id="always", variant="warning")
                yield Button("Answer by hand", id="by-hand")

    def on_mount(self) -> None:
        self.query_one("#by-hand", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(HandlerChoice(event.button.id or HandlerChoice.BY_HAND))

    def action_by_hand(self) -> None:
        self.dismiss(HandlerChoice.BY_HAND)
