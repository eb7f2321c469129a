"""Choosing the model (from the server's ``/v1/models``) and the server profile.

Listing models is a network call that may be slow, missing (llama.cpp builds, some proxies) or
refused, so it runs in a worker behind a visible "asking" line, and the model id can always be
typed by hand: a failed list says why and puts the cursor in the box, it never blocks the choice.

Model ids come from the server, so they are drawn through ``sanitize_for_display`` (an escape
sequence in an id shows as ``␛[2J``, it does not clear the screen); the option's id stays the
real model id, which is what gets chosen and sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, LoadingIndicator, OptionList, Static
from textual.widgets.option_list import Option

from glm_tui.client.client import ChatClient
from glm_tui.client.errors import ClientError
from glm_tui.model.server_kind import describe_kind
from glm_tui.settings.config import ServerProfile
from glm_tui.ui.dialogs.dialog import Dialog
from glm_tui.ui.literal import literal, literal_line, one_line_text

PICKER_CSS = Path(__file__).parent.parent / "styles" / "model_picker.tcss"


class ModelPickerScreen(Dialog[str | None]):
    """Dismisses with the chosen model id, or ``None`` when cancelled."""

    CSS_PATH = PICKER_CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="model_picker.cancel",
                tooltip="Keep the current model"),
    ]

    def __init__(self, client: ChatClient, current: str) -> None:
        super().__init__()
        self.client = client
        self.current = current
        self.models: list[str] = []
        self.failure: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(literal_line(f"Model (now: {self.current})"), classes="picker-title")
            yield Static(literal(f"Asking {self.client.display_url} for its models…"),
                         id="model-status", classes="picker-status")
            yield LoadingIndicator(id="model-loading")
            yield OptionList(id="model-list", classes="-empty")
            yield Input(one_line_text(self.current, limit=1000),
                        placeholder="type a model id", id="model-input",
                        select_on_focus=True)
            yield Static(literal("Enter: choose · Tab: list/typed id · Esc: cancel"),
                         classes="picker-help")

    def on_mount(self) -> None:
        self.query_one("#model-input", Input).focus()
        self._load_models()

    @work(exclusive=True, exit_on_error=False, group="model-picker")
    async def _load_models(self) -> None:
        try:
            models = await self.client.list_models()
        except ClientError as exc:
            self._show_failure(f"Could not list the models: {exc.message} Type the model id.")
            return
        try:
            self._show_models(models)
        except Exception as exc:  # a list it cannot draw must not leave the picker spinning
            self._show_failure(f"Could not show the models ({type(exc).__name__}: {exc}). "
                               "Type the model id.")

    def _show_models(self, models: list[str]) -> None:
        self.query_one("#model-loading", LoadingIndicator).display = False
        status = self.query_one("#model-status", Static)
        if not models:
            self.failure = "the server listed no models"
            status.update(literal("The server listed no models. Type the model id."))
            status.add_class("-error")
            return
        self.models = list(dict.fromkeys(models))  # each id once: option ids must be unique
        option_list = self.query_one("#model-list", OptionList)
        option_list.clear_options()
        option_list.add_options(
            [Option(literal_line(m, limit=300) + ("  (current)" if m == self.current else ""),
                    id=m)
             for m in self.models]
        )
        option_list.remove_class("-empty")
        option_list.highlighted = self.models.index(self.current) \
            if self.current in self.models else 0
        option_list.focus()
        count = len(self.models)
        status.update(literal(f"{count} model{'s' if count != 1 else ''} on "
                              f"{self.client.display_url}; or type another id below."))

    def _show_failure(self, message: str) -> None:
        self.failure = message
        self.query_one("#model-loading", LoadingIndicator).display = False
        status = self.query_one("#model-status", Static)
        status.update(literal(message))
        status.add_class("-error")
        self.query_one("#model-input", Input).focus()

    @on(OptionList.OptionSelected, "#model-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.dismiss(event.option.id)

    @on(Input.Submitted, "#model-input")
    def _typed(self, event: Input.Submitted) -> None:
        model = event.value.strip()
        if model == one_line_text(self.current, limit=1000):
            model = self.current  # shown visible-safe, chosen as it is
        if not model:
            self.notify("Type a model id, or press Esc.", severity="warning", markup=False)
            return
        self.dismiss(model)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ServerPickerScreen(Dialog[str | None]):
    """Dismisses with the chosen server profile's name, or ``None`` when cancelled.

    Shows each profile's URL, model and kind; never its API key.
    """

    CSS_PATH = PICKER_CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="server_picker.cancel",
                tooltip="Stay on the current server"),
    ]

    def __init__(self, servers: dict[str, ServerProfile], current: str) -> None:
        super().__init__()
        self.servers = dict(servers)
        self.current = current

    def compose(self) -> ComposeResult:
        options: list[Any] = []
        for name, profile in self.servers.items():
            kind = describe_kind(profile.kind) if profile.kind else "kind detected on connect"
            mark = "  (current)" if name == self.current else ""
            options.append(Option(
                literal_line(name, limit=120) + mark + "\n  "
                + literal_line(f"{profile.base_url} · {profile.model} · {kind}"),
                id=name,
            ))
        with Vertical():
            yield Static(literal_line(f"Server (now: {self.current})"), classes="picker-title")
            yield OptionList(*options, id="server-list")
            yield Static(literal("Enter: switch · Esc: cancel · profiles live in the config "
                                 "file's [servers.NAME] tables"), classes="picker-help")

    def on_mount(self) -> None:
        option_list = self.query_one("#server-list", OptionList)
        names = list(self.servers)
        if self.current in names:
            option_list.highlighted = names.index(self.current)
        option_list.focus()

    @on(OptionList.OptionSelected, "#server-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
