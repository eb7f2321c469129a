"""The dialog that asks for a session's new title (the sessions browser's ``r``)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from glm_tui.ui.dialogs.titles import quoted_title
from glm_tui.ui.widgets.session_list import one_line


class RenameSessionModal(ModalScreen[str | None]):
    """Ask for a new title; dismisses with it (stripped), or None when cancelled or unchanged."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    RenameSessionModal {
        align: center middle;
        & > Vertical {
            width: 70; max-width: 90%; height: auto;
            border: thick $primary; background: $surface; padding: 1 2;
        }
        & Input { margin-top: 1; }
        & .modal-hint { color: $text-muted; margin-top: 1; }
    }
    """

    def __init__(self, title: str) -> None:
        super().__init__()
        self._old_title = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Content.assemble("Rename ", quoted_title(self._old_title)), id="rename-question"
            )
            yield Input(value=one_line(self._old_title), id="rename-title", select_on_focus=True)
            yield Label("Enter to save · Esc to cancel", classes="modal-hint")

    @on(Input.Submitted, "#rename-title")
    def _submitted(self, event: Input.Submitted) -> None:
        title = event.value.strip()
        self.dismiss(title if title and title != self._old_title else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
