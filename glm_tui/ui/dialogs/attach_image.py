"""Choose an image to attach: a folder tree showing only pictures, and a path field that completes.

Two ways in, both from the keyboard: type (or paste) a path, with the rest of a file or folder
name suggested as you type (Tab or Right takes it), or walk the tree with the arrows; Enter on a
picture attaches it, Enter on a folder path opens it in the tree. The dialog only chooses a file:
whether it really is an image is decided when it is prepared (a text file named ``.jpg`` gets
its own plain message then), so a path typed here is never refused for its name alone.

File names come from the disk, so they are data: the tree draws them literally (a name like
``[bold].png`` is not markup, an escape character is made visible).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, DirectoryTree, Input

from glm_tui.chat.image_prep import IMAGE_SUFFIXES
from glm_tui.model.text import sanitize_for_display
from glm_tui.ui.literal import LiteralLabel, LiteralStatic

SUGGESTION_SCAN_LIMIT = 5_000
"""Entries of one folder read for a completion: a huge folder must not stall typing."""


def is_image_name(path: Path) -> bool:
    """Whether the tree and the completion offer this file (the names a pasted path may have)."""
    return path.suffix.lower() in IMAGE_SUFFIXES


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


class ImageTree(DirectoryTree):
    """A directory tree of folders and pictures; hidden entries left out."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [path for path in paths if not path.name.startswith(".")
                and (is_image_name(path) or _is_dir(path))]

    def process_label(self, label: str | Text) -> Text:
        """A file name is shown as it is: never markup, control characters made visible."""
        if isinstance(label, str):
            return Text(sanitize_for_display(label).replace("\n", " "))
        return label


class PathSuggester(Suggester):
    """Completes the last part of a path with a folder (``name/``) or picture in its folder."""

    def __init__(self) -> None:
        super().__init__(use_cache=True, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        typed = Path(os.path.expanduser(value))
        folder, start = (typed, "") if value.endswith(os.sep) else (typed.parent, typed.name)
        best: str | None = None
        try:
            with os.scandir(folder) as entries:
                for count, entry in enumerate(entries):
                    if count >= SUGGESTION_SCAN_LIMIT:
                        break
                    name = entry.name
                    if not name.startswith(start) or name == start or name.startswith("."):
                        continue
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        continue
                    if not (is_dir or is_image_name(Path(name))):
                        continue
                    candidate = name + (os.sep if is_dir else "")
                    if best is None or candidate < best:
                        best = candidate
        except OSError:
            return None
        if best is None:
            return None
        return value + best[len(start):]


class PathInput(Input):
    """The path field: Tab takes the suggested completion (and moves on when there is none)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", show=False, id="attach.complete",
                tooltip="In the path field: take the suggested completion (Right at the end "
                "too); with none, go to the tree"),
        Binding("down", "to_tree", "Tree", show=False, id="attach.to_tree",
                tooltip="In the path field: go to the folder tree (Enter there attaches)"),
    ]

    def action_to_tree(self) -> None:
        self.screen.query_one(ImageTree).focus()

    def action_complete(self) -> None:
        if self._suggestion and self._suggestion != self.value:
            self.value = self._suggestion
            self.cursor_position = len(self.value)
        else:
            self.screen.focus_next()


class AttachImageModal(ModalScreen[Path | None]):
    """Dismisses with the chosen file, or None when closed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="attach.cancel",
                tooltip="Close without attaching"),
    ]

    def __init__(self, start: Path) -> None:
        super().__init__(classes="dialog-screen")
        self._start = start

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide", id="attach-dialog"):
            yield LiteralLabel("Attach an image", classes="dialog-title")
            yield PathInput(value=_folder_text(self._start), id="attach-path",
                            placeholder="A picture's path (Tab completes)",
                            suggester=PathSuggester())
            yield ImageTree(self._start, id="attach-tree")
            yield LiteralStatic("", id="attach-warning")
            yield LiteralLabel("Tab completes · Down: the tree · Enter attaches · Esc closes",
                               id="attach-hint", classes="dialog-hint", one_line=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="attach-cancel")
                yield Button("Attach", id="attach-go", variant="primary")

    def on_mount(self) -> None:
        path_input = self.query_one("#attach-path", PathInput)
        path_input.focus()
        path_input.cursor_position = len(path_input.value)

    @on(Input.Submitted, "#attach-path")
    @on(Button.Pressed, "#attach-go")
    def _attach_typed(self) -> None:
        raw = self.query_one("#attach-path", PathInput).value.strip()
        if not raw:
            self._warn("Type a picture's path, or choose one in the tree.")
            return
        path = Path(os.path.expanduser(raw))
        if _is_dir(path):
            self.query_one("#attach-tree", ImageTree).path = path
            self.query_one("#attach-path", PathInput).value = _folder_text(path)
            self._warn("")
            return
        if not path.exists():
            self._warn(f"There is no file at {path}.")
            return
        self.dismiss(path)

    @on(DirectoryTree.FileSelected, "#attach-tree")
    def _attach_chosen(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.dismiss(event.path)

    @on(DirectoryTree.DirectorySelected, "#attach-tree")
    def _folder_chosen(self, event: DirectoryTree.DirectorySelected) -> None:
        event.stop()
        self.query_one("#attach-path", PathInput).value = _folder_text(event.path)

    @on(Input.Changed, "#attach-path")
    def _path_changed(self) -> None:
        self._warn("")

    def _warn(self, text: str) -> None:
        warning = self.query_one("#attach-warning", LiteralStatic)
        warning.show(text)
        warning.set_class(bool(text), "-shown")

    @on(Button.Pressed, "#attach-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def _folder_text(path: Path) -> str:
    """A folder as the path field shows it: ending with the separator, ready for a name."""
    text = str(path)
    return text if text.endswith(os.sep) else text + os.sep
