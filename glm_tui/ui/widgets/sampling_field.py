"""One sampling value on the sampling screen: its input, what it means, what this server does.

A row per field: the name, the input (``#field-<name>``) and what the current server does with
the value (``#support-<name>``, flagged when the server ignores or bounds it); under it the
range, default and meaning (``#info-<name>``), and the reason a typed value was refused
(``#error-<name>``). The screen decides what is valid and applies it; the field only shows.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Input, Label, Static

from glm_tui.model.sampling import FIELD_SPECS, SamplingParams, format_value
from glm_tui.model.server_kind import ServerKind, Support, param_support


def default_text(name: str, defaults: SamplingParams) -> str:
    value = getattr(defaults, name)
    if value is None or value == ():
        return "default: not sent"
    return f"default {format_value(name, value)}"


class SamplingField(Vertical):
    """The row of one sampling field (``#box-<name>``); styled by the sampling screen's CSS."""

    def __init__(
        self, name: str, value: Any, kind: ServerKind | None, defaults: SamplingParams
    ) -> None:
        super().__init__(classes="field", id=f"box-{name}")
        self.field_name = name
        self.initial_value = value  # what the input shows first; the screen keeps the live value
        self.kind = kind
        self.defaults = defaults

    def compose(self) -> ComposeResult:
        name = self.field_name
        spec = FIELD_SPECS[name]
        support = param_support(self.kind, name)
        support_line = Static(
            Content(f"this server: {support.note}"),
            classes="field-support",
            id=f"support-{name}",
        )
        support_line.set_class(support.support is Support.IGNORED, "-ignored")
        support_line.set_class(support.support is Support.BOUNDED, "-bounded")
        # One line for the value and what this server does with it, one for its meaning: both
        # fit 120 columns, so every control of the dialog shows at 120x40 (issue 12 item 11).
        with Horizontal(classes="field-row"):
            yield Label(Content(name), classes="field-name")
            yield Input(
                format_value(name, self.initial_value),
                id=f"field-{name}",
                classes="field-input",
                placeholder="not sent" if spec.empty_allowed else "",
                select_on_focus=True,  # typing replaces the value, as in any form
                compact=True,
            )
            yield support_line
        info = f"{spec.range_text} · {default_text(name, self.defaults)} · {spec.meaning}"
        yield Static(Content(info), classes="field-info", id=f"info-{name}")
        yield Static("", classes="field-error -empty", id=f"error-{name}")

    def show_value(self, value: Any) -> None:
        """Show a value in the input, the cursor at its end."""
        field = self.query_one(f"#field-{self.field_name}", Input)
        field.value = format_value(self.field_name, value)
        field.cursor_position = len(field.value)

    def show_defaults(self, defaults: SamplingParams) -> None:
        """New defaults (saved as the user's): the info line names them."""
        self.defaults = defaults
        spec = FIELD_SPECS[self.field_name]
        info = f"{spec.range_text} · {default_text(self.field_name, defaults)} · {spec.meaning}"
        self.query_one(f"#info-{self.field_name}", Static).update(Content(info))

    def show_error(self, reason: str | None, kept: str) -> None:
        """Show why the typed text was refused and which value stays in use; None clears it."""
        error = self.query_one(f"#error-{self.field_name}", Static)
        if reason is None:
            error.update("")
            error.add_class("-empty")
        else:
            error.update(Content(f"✗ {reason} · in use: {kept}"))
            error.remove_class("-empty")
