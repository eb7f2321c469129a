"""Choose Markdown or JSON and where to write a session; the path follows the format until edited.

An existing file is replaced only after a second Enter, with a warning naming it in between.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, RadioButton, RadioSet

from glm_tui.chat.export import FILE_SUFFIXES, ExportFormat
from glm_tui.ui.dialogs.dialog import Dialog
from glm_tui.ui.dialogs.rename_session import quoted
from glm_tui.ui.literal import LiteralLabel, LiteralStatic, one_line_text

EXPORT_DIR_NAME = "glm-tui-exports"



def safe_file_stem(title: str, session_id: str) -> str:
    """A file name stem from a title: letters, digits, dot, dash and underscore only, plus id8."""
    stem = re.sub(r"[^\w.-]+", "-", one_line_text(title)).strip("-._")[:60].rstrip("-._")
    return f"{stem or 'session'}-{session_id[:8]}"


def default_export_path(title: str, session_id: str, fmt: ExportFormat) -> Path:
    return Path.home() / EXPORT_DIR_NAME / (safe_file_stem(title, session_id) + FILE_SUFFIXES[fmt])


@dataclass(frozen=True)
class ExportChoice:
    fmt: ExportFormat
    path: Path


class ExportSessionModal(Dialog[ExportChoice | None]):
    """Dismisses with the format and path chosen, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="export.cancel",
                tooltip="Close without exporting"),
    ]

    def __init__(self, title: str, session_id: str) -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._session_id = session_id
        self._fmt: ExportFormat = "markdown"
        self._replace_confirmed: Path | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield LiteralLabel(f"Export {quoted(self._title)}", id="export-question",
                               classes="dialog-title")
            with RadioSet(id="export-format"):
                yield RadioButton("Markdown", value=True, id="export-markdown")
                yield RadioButton("JSON (OpenAI messages + settings)", id="export-json")
            yield Input(
                value=str(default_export_path(self._title, self._session_id, "markdown")),
                id="export-path",
            )
            yield LiteralStatic("", id="export-warning")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="export-cancel")
                yield Button("Export", id="export-go", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(RadioSet.Changed, "#export-format")
    def _format_changed(self, event: RadioSet.Changed) -> None:
        fmt: ExportFormat = "json" if event.pressed.id == "export-json" else "markdown"
        path_input = self.query_one("#export-path", Input)
        if path_input.value == str(default_export_path(self._title, self._session_id, self._fmt)):
            path_input.value = str(default_export_path(self._title, self._session_id, fmt))
        self._fmt = fmt

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-go")
    def _go(self) -> None:
        raw = self.query_one("#export-path", Input).value.strip()
        if not raw:
            self.notify("Give a file path to export to.", severity="warning")
            return
        path = Path(raw).expanduser()
        if path.is_dir():
            self._warn(f"{path} is a folder: add a file name.")
            return
        if path.exists() and path != self._replace_confirmed:
            self._replace_confirmed = path
            self._warn(f"{path} already exists. Export again to replace it.")
            return
        self.dismiss(ExportChoice(self._fmt, path))

    def _warn(self, text: str) -> None:
        warning = self.query_one("#export-warning", LiteralStatic)
        warning.show(text)
        warning.add_class("-shown")

    @on(Input.Changed, "#export-path")
    def _path_changed(self) -> None:
        self._replace_confirmed = None
        self.query_one("#export-warning", LiteralStatic).remove_class("-shown")

    @on(Button.Pressed, "#export-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
