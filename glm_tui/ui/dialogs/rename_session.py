"""Ask for a new title for a saved session (Enter saves, Esc cancels)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input

from glm_tui.ui.dialogs.dialog import Dialog
from glm_tui.ui.literal import LiteralLabel, one_line_text


def quoted(title: str) -> str:
    """A session title as it is named in a question: one line, in quotes."""
    return f"“{one_line_text(title) or 'Untitled'}”"


class RenameSessionModal(Dialog[str | None]):
    """Dismisses with the new title (stripped), or None when cancelled or unchanged."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="rename.cancel",
                tooltip="Keep the title as it is"),
    ]

    def __init__(self, title: str) -> None:
        super().__init__(classes="dialog-screen")
        self._old_title = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield LiteralLabel(f"Rename {quoted(self._old_title)}", id="rename-question",
                               classes="dialog-title")
            yield Input(value=one_line_text(self._old_title, limit=1000), id="rename-title",
                        select_on_focus=True)
            yield LiteralLabel("Enter to save · Esc to cancel", classes="dialog-hint")

    @on(Input.Submitted, "#rename-title")
    def _submitted(self, event: Input.Submitted) -> None:
        title = event.value.strip()
        self.dismiss(title if title and title != self._old_title else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
