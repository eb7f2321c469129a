"""Edit the session's system prompt (a multi-line editor; Ctrl+S saves, Esc cancels)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, TextArea

from glm_tui.ui.dialogs.dialog import Dialog
from glm_tui.ui.literal import LiteralLabel, LiteralStatic, safe_text


class SystemPromptModal(Dialog[str | None]):
    """Dismisses with the new text, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="system_prompt.cancel",
                tooltip="Close without changing the system prompt"),
        Binding("ctrl+s", "save", "Save", id="system_prompt.save",
                tooltip="Save the system prompt for this session"),
    ]

    def __init__(self, current: str, *, note: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self._current = current
        self._note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield LiteralLabel("System prompt for this session", classes="dialog-title")
            yield LiteralStatic(
                "Sent first in every request of this session. Empty: no system message."
                + (f"\n{self._note}" if self._note else ""),
                classes="dialog-body",
            )
            # An editor draws its text as it is: control characters are shown as visible
            # stand-ins, and the prompt is saved unchanged unless the person edits it.
            yield TextArea(safe_text(self._current), id="system-prompt", soft_wrap=True,
                           show_line_numbers=False, tab_behavior="focus")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (^s)", id="save", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        area = self.query_one("#system-prompt", TextArea)
        area.focus()
        area.move_cursor(area.document.end)

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        text = self.query_one("#system-prompt", TextArea).text
        self.dismiss(self._current if text == safe_text(self._current) else text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
