"""Small dialogs: confirm, edit the system prompt, open a link, a damaged session database.

Every text that came from a model, a user or a file is drawn literally (``markup=False`` or
:class:`~textual.content.Content`), so a URL or a file name with brackets in it is shown as it is.
Styles live in ``app.tcss`` under each dialog's class.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static, TextArea

from glm_tui.model.text import sanitize_for_display


class ConfirmModal(ModalScreen[bool]):
    """A yes/no question; Esc answers no."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, body: str, *, confirm: str = "OK",
                 cancel: str = "Cancel", danger: bool = False) -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._body = body
        self._confirm = confirm
        self._cancel = cancel
        self._danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title, classes="dialog-title", markup=False)
            yield Static(sanitize_for_display(self._body), classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._confirm, id="confirm",
                             variant="error" if self._danger else "primary")
                yield Button(self._cancel, id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel" if self._danger else "#confirm", Button).focus()

    @on(Button.Pressed, "#confirm")
    def _confirmed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)


class LinkConfirmModal(ConfirmModal):
    """Asked before any link in a reply opens: the URL is shown in full, exactly as written."""

    def __init__(self, url: str) -> None:
        super().__init__(
            "Open this link?",
            f"The reply links to:\n\n{url}\n\nOpen it in your browser?",
            confirm="Open",
            cancel="Don't open",
            danger=True,
        )
        self.url = url


class SystemPromptModal(ModalScreen[str | None]):
    """Edit the session's system prompt; dismisses with the new text, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(self, current: str, *, note: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self._current = current
        self._note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Label("System prompt for this session", classes="dialog-title")
            yield Static(
                "Sent first in every request of this session. Empty: no system message."
                + (f"\n{self._note}" if self._note else ""),
                classes="dialog-body",
                markup=False,
            )
            yield TextArea(self._current, id="system-prompt", soft_wrap=True,
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
        self.dismiss(self.query_one("#system-prompt", TextArea).text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class DamagedDatabaseChoice(StrEnum):
    MOVE_ASIDE = "move-aside"
    QUIT = "quit"


@dataclass(frozen=True)
class DamagedDatabase:
    path: Path
    reason: str
    readable: bool = False
    """Damage inside an intact file: the ``sessions`` commands can still salvage from it."""

    def advice(self) -> str:
        """What the user can do besides the two buttons."""
        text = ("glm-tui will not write over it. Moving it aside renames it to a dated name in "
                "the same folder (nothing is deleted) and starts a new, empty database.")
        if self.readable:
            text += ("\n\nMost of it can still be read. To save what is readable first, quit "
                     "and run 'glm-tui sessions list' and 'glm-tui sessions export ID -o FILE' "
                     "(they only read, and say what was lost), then start glm-tui again.")
        return text


class DamagedDatabaseModal(ModalScreen[DamagedDatabaseChoice]):
    """The session database cannot be read: say which file and why, and let the user decide.

    The file is never overwritten: the only ways out are moving it aside (renamed, kept) or
    quitting to deal with it by hand.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "quit_app", "Quit")]

    def __init__(self, damaged: DamagedDatabase) -> None:
        super().__init__(classes="dialog-screen")
        self.damaged = damaged

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide -danger"):
            yield Label("The session database is damaged", classes="dialog-title")
            yield Static(
                f"File: {sanitize_for_display(str(self.damaged.path))}\n"
                f"Problem: {sanitize_for_display(self.damaged.reason)}\n\n{self.damaged.advice()}",
                classes="dialog-body",
                markup=False,
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


class HandlerChoice(StrEnum):
    RUN_ONCE = "run-once"
    ALWAYS = "always"  # run this tool's handler without asking for the rest of the session
    BY_HAND = "by-hand"


class HandlerConfirmModal(ModalScreen[HandlerChoice]):
    """Asked before a tool's local handler runs: the exact command and the exact arguments.

    Nothing runs unless the person picks "Run"; Esc answers by hand.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "by_hand", "Answer by hand")]

    def __init__(self, tool: str, command: str, arguments: str) -> None:
        super().__init__(classes="dialog-screen")
        self._tool = tool
        self._command = command
        self._arguments = arguments

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Label(f"Run the handler of {sanitize_for_display(self._tool)}?",
                        classes="dialog-title", markup=False)
            yield Static("glm-tui will run this command (no shell):", markup=False)
            yield Static(sanitize_for_display(self._command), classes="dialog-code",
                         markup=False)
            yield Static("with these arguments on its standard input:", markup=False)
            yield Static(sanitize_for_display(self._arguments), classes="dialog-code",
                         markup=False)
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
