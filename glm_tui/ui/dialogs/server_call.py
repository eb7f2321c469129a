"""Asked before a tool of an MCP server runs: the exact server, tool and arguments.

The same three answers as for a local handler (run once, always allow this tool in this session,
answer by hand), so the same :class:`~glm_tui.ui.dialogs.handler.HandlerChoice`. The server's
name comes from config.toml, the tool's name and the arguments from the model and the server:
all drawn literally, the arguments exactly as they will be sent.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button

from glm_tui.ui.dialogs.dialog import Dialog
from glm_tui.ui.dialogs.handler import HandlerChoice
from glm_tui.ui.literal import LiteralLabel, LiteralStatic


class ServerCallConfirmModal(Dialog[HandlerChoice]):
    """Nothing is sent to the server unless the person picks "Run"; Esc answers by hand."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "by_hand", "Answer by hand", id="server_call.by_hand",
                tooltip="Do not call the MCP server; write the result in the prompt"),
    ]

    def __init__(self, server: str, tool: str, sent_name: str, arguments: str) -> None:
        """``tool`` is the tool's own name on its server; ``sent_name`` the one the model used
        (they differ when the name was qualified because another tool had it)."""
        super().__init__(classes="dialog-screen")
        self._server = server
        self._tool = tool
        self._sent_name = sent_name
        self._arguments = arguments

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide", id="server-call-dialog"):
            yield LiteralLabel(f'Call "{self._tool}" on the MCP server "{self._server}"?',
                               classes="dialog-title")
            asked = (f'The model asked for "{self._sent_name}". '
                     if self._sent_name != self._tool else "")
            yield LiteralStatic(f"{asked}glm-tui will send the server exactly these arguments:")
            yield LiteralStatic(self._arguments, classes="dialog-code")
            yield LiteralStatic("Always allow: later calls to this tool run without asking, "
                                "for the rest of this session.", classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Run once", id="run-once", variant="primary")
                yield Button("Always allow this tool", id="always", variant="warning")
                yield Button("Answer by hand", id="by-hand")

    def on_mount(self) -> None:
        self.query_one("#by-hand", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(HandlerChoice(event.button.id or HandlerChoice.BY_HAND))

    def action_by_hand(self) -> None:
        self.dismiss(HandlerChoice.BY_HAND)
