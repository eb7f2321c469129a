"""Choose one tool entry from a titled list (the templates, or the saved tool library)."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from glm_tui.ui.dialogs.dialog import Dialog
from glm_tui.ui.literal import LiteralLabel, literal_line


class PickEntryScreen(Dialog[dict[str, Any] | None]):
    """Dismisses with a copy of the chosen entry, or None (Esc). Labels may come from a file."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="pick_entry.cancel",
                tooltip="Close without adding a tool"),
    ]

    def __init__(self, title: str, entries: list[tuple[str, dict[str, Any]]]) -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._entries = entries

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield LiteralLabel(self._title, classes="dialog-title")
            yield OptionList(*[Option(literal_line(label)) for label, _ in self._entries],
                             classes="dialog-list")

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(copy.deepcopy(self._entries[event.option_index][1]))

    def action_cancel(self) -> None:
        self.dismiss(None)
