"""The sampling settings screen: change temperature and friends live, with presets and defaults.

Every valid change goes to ``on_change`` at once, so the next request uses it without any
"apply" step; an invalid value stays in its field with the reason beside it and never leaves the
screen. Beside each field is what the current server does with it (server_kinds), because a
setting the server drops should not look like it matters.

Keys: up/down (or ctrl+up/down) nudge the focused number by a sensible step, so "open the screen,
press up" changes temperature in two keys; Enter or Tab moves to the next field; ctrl+r resets
the focused field to its default; ctrl+s saves the values as the config's defaults; Esc closes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from glm_tui.model.sampling import (
    BUILTIN_PRESETS,
    FIELD_SPECS,
    THINKING_FIELD,
    Preset,
    SamplingError,
    SamplingParams,
    format_value,
    nudge,
    parse_field,
)
from glm_tui.model.server_kind import (
    ServerKind,
    describe_kind,
    send_warnings,
)
from glm_tui.settings.writer import (
    ConfigWriteError,
    delete_preset,
    preset_name_problem,
    save_default_sampling,
    save_preset,
)
from glm_tui.ui.dialogs.confirm import ConfirmModal
from glm_tui.ui.literal import literal_line
from glm_tui.ui.widgets.sampling_field import SamplingField
from glm_tui.ui.widgets.thinking_field import ThinkingField

FIELD_ORDER: tuple[str, ...] = tuple(FIELD_SPECS)
NUMERIC_FIELDS = tuple(name for name in FIELD_ORDER if FIELD_SPECS[name].kind != "stops")


class SamplingScreen(ModalScreen[None]):
    """Edit one session's sampling values live; the caller applies each change via ``on_change``."""

    CSS_PATH = Path(__file__).parent.parent / "styles" / "sampling.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="sampling.close",
                tooltip="Apply what is typed and close; an invalid value keeps the previous one"),
        # Priority: the scroll container around the fields binds up/down too. Off a number field
        # the action skips, and the key goes on to the preset list or the scroll as usual.
        Binding("up,ctrl+up", "nudge(1)", "Nudge up", show=False, priority=True,
                id="sampling.nudge_up", tooltip="Nudge the focused value up by one step"),
        Binding("down,ctrl+down", "nudge(-1)", "Nudge down", show=False, priority=True,
                id="sampling.nudge_down", tooltip="Nudge the focused value down by one step"),
        Binding("ctrl+r", "reset_field", "Reset field", id="sampling.reset_field",
                tooltip="Reset the focused field to its default"),
        Binding("delete", "delete_preset_key", "Delete preset", show=False,
                id="sampling.delete_preset",
                tooltip="Delete the highlighted preset (yours; built-ins chat and tools stay)"),
        Binding("ctrl+s", "save_defaults", "Save as my defaults", id="sampling.save_defaults",
                tooltip="Save the current values as my defaults (config.toml)"),
    ]

    def __init__(
        self,
        params: SamplingParams,
        *,
        kind: ServerKind | None,
        presets: Sequence[Preset],
        config_path: Path,
        streaming: bool,
        on_change: Callable[[SamplingParams], None],
        focus_field: str = "temperature",
        defaults: SamplingParams | None = None,
        on_presets_change: Callable[[tuple[Preset, ...]], None] | None = None,
        on_defaults_saved: Callable[[SamplingParams], None] | None = None,
        preserve: bool | None = None,
        on_preserve: Callable[[bool], None] | None = None,
    ) -> None:
        """``preserve``: the session's "preserved thinking", shown with the thinking switch and
        handed to ``on_preserve`` when changed (None: not shown)."""
        super().__init__()
        if focus_field not in FIELD_SPECS:
            raise ValueError(f"unknown sampling field {focus_field!r}")
        self.params = params
        self.kind = kind
        self.presets: tuple[Preset, ...] = tuple(presets)
        self.config_path = config_path
        self.defaults = defaults if defaults is not None else SamplingParams()
        self.focus_field = focus_field
        self._streaming = streaming
        self._on_change = on_change
        self._on_presets_change = on_presets_change
        self._on_defaults_saved = on_defaults_saved
        self._preserve = preserve
        self._on_preserve = on_preserve
        self._invalid: dict[str, str] = {}  # field -> reason, for fields showing a refused value
        self._leaving = False

    # ----------------------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="sampling-box"):
            yield Label(Content("Sampling settings"), id="sampling-title")
            yield Static(Content(self._kind_text()), id="kind-note")
            note = Static(
                Content("A reply is streaming: changes apply to the next reply."),
                id="streaming-note",
            )
            note.set_class(not self._streaming, "-hidden")
            yield note
            for name in FIELD_ORDER:
                yield SamplingField(name, getattr(self.params, name), self.kind, self.defaults)
            yield ThinkingField(self.params.thinking, self.kind, self.defaults.thinking,
                                preserve=self._preserve)
            yield Static("", id="send-warnings", classes="-empty")
            yield Label(Content("Presets"), classes="section")
            yield OptionList(*self._preset_options(), id="presets")
            with Horizontal(classes="buttons"):
                yield Button("Apply preset", id="apply-preset")
                yield Button("Delete preset", id="delete-preset")
            with Horizontal(classes="buttons"):
                yield Input(placeholder="new preset name", id="preset-name", max_length=40)
                yield Button("Save as preset", id="save-preset")
                yield Button("Save as my defaults (ctrl+s)", id="save-defaults")
            yield Static(Content(
                "up/down: nudge · Enter/Tab: apply, next field · ctrl+r: reset field to "
                "default · stop: a JSON list or one string (\\n = newline) · thinking: arrows, "
                "then Enter or Space · presets: Enter applies, Delete deletes · Esc: apply and "
                "close"
            ), id="keys-help")

    def _kind_text(self) -> str:
        if self.kind is None:
            return ("Server kind not known yet: every setting is sent as set; the server may "
                    "ignore some.")
        return f"Server: {describe_kind(self.kind)} (kind {self.kind.value})"

    def _preset_options(self) -> list[Option]:
        options = []
        for index, preset in enumerate(self.presets):
            shadow = not preset.builtin and any(b.name == preset.name for b in BUILTIN_PRESETS)
            tag = " (built in)" if preset.builtin else " (yours, replaces built in)" if shadow \
                else " (yours)"
            text = f"{preset.name}{tag} — {preset.params.summary()}"
            options.append(Option(literal_line(text, limit=300), id=f"preset-{index}"))
        return options

    def on_mount(self) -> None:
        self.query_one(f"#field-{self.focus_field}", Input).focus()
        self._refresh_warnings()

    # ----------------------------------------------------------------------------- public

    def set_streaming(self, streaming: bool) -> None:
        """Tell the screen whether a reply is streaming (changes then apply to the next one)."""
        self._streaming = streaming
        self.query_one("#streaming-note", Static).set_class(not streaming, "-hidden")

    @property
    def invalid_fields(self) -> dict[str, str]:
        """Fields whose text was refused, with the reason (their last valid value stays in use)."""
        return dict(self._invalid)

    # ----------------------------------------------------------------------------- editing

    @on(Input.Changed, ".field-input")
    def _field_changed(self, event: Input.Changed) -> None:
        """Check as the person types; apply only when they commit (Enter, Tab, leaving, Esc).

        Applying on every keystroke would send prefixes: typing 1e309 passes through a valid 1,
        and clearing a field to retype it would briefly mean "server default".
        """
        name = (event.input.id or "").removeprefix("field-")
        self._check(name, event.value)

    @on(Input.Submitted, ".field-input")
    def _field_submitted(self, event: Input.Submitted) -> None:
        self.commit_pending()
        name = (event.input.id or "").removeprefix("field-")
        if name not in self._invalid:
            self.focus_next()  # a refused value keeps the focus, so the next keys fix it

    @on(Input.Blurred, ".field-input")
    def _field_blurred(self, event: Input.Blurred) -> None:
        if not self._leaving:
            self.commit_pending()

    def _check(self, name: str, text: str) -> bool:
        """Show or clear the refusal for a field's text; True when the text is usable."""
        try:
            parse_field(name, text)
        except SamplingError as exc:
            self._show_error(name, exc.reason)
            return False
        self._show_error(name, None)
        return True

    def commit_pending(self) -> None:
        """Apply every field whose typed text is valid, in one ``on_change`` call.

        Fields showing a refused value keep their last valid value.
        """
        params = self.params
        for name in FIELD_ORDER:
            text = self.query_one(f"#field-{name}", Input).value
            try:
                value = parse_field(name, text)
            except SamplingError:
                continue
            params = params.with_value(name, value)
        self._set_params(params)

    def _set_params(self, params: SamplingParams) -> None:
        if params == self.params:
            return
        self.params = params
        self._on_change(params)
        self._refresh_warnings()

    def _show_error(self, name: str, reason: str | None) -> None:
        if reason is None:
            self._invalid.pop(name, None)
        else:
            self._invalid[name] = reason
        kept = format_value(name, getattr(self.params, name)) or "not sent"
        self._field(name).show_error(reason, kept)

    def _field(self, name: str) -> SamplingField:
        return self.query_one(f"#box-{name}", SamplingField)

    def _refresh_warnings(self) -> None:
        warnings = send_warnings(self.kind, self.params)
        box = self.query_one("#send-warnings", Static)
        if warnings:
            text = "\n".join(f"⚠ {w.field}: {w.message}" for w in warnings)
            box.update(Content(text))
            box.remove_class("-empty")
        else:
            box.update("")
            box.add_class("-empty")

    def _set_field_text(self, name: str, value: Any) -> None:
        """Show a value in its field; the resulting Changed event finds nothing new to apply."""
        self._field(name).show_value(value)
        self._show_error(name, None)

    def _focused_field(self) -> str | None:
        focused = self.focused
        if focused is not None and focused.id and focused.id.startswith("field-"):
            return focused.id.removeprefix("field-")  # an Input, or the thinking switch
        return None

    @on(ThinkingField.Changed)
    def _thinking_chosen(self, event: ThinkingField.Changed) -> None:
        """The switch applies at once, like a committed field (there is nothing to type)."""
        self._set_params(self.params.with_value(THINKING_FIELD, event.value))

    @on(ThinkingField.PreserveChanged)
    def _preserve_thinking_changed(self, event: ThinkingField.PreserveChanged) -> None:
        if self._on_preserve is not None:
            self._on_preserve(event.preserve)

    def action_nudge(self, direction: int) -> None:
        name = self._focused_field()
        if name is None or name not in NUMERIC_FIELDS:
            raise SkipAction()
        self.commit_pending()
        current = getattr(self.params, name)
        value = nudge(name, current, direction)
        if value == current and name not in self._invalid:
            edge = "highest" if direction > 0 else "lowest"
            self.notify(f"{name} is at its {edge} allowed value", timeout=2, markup=False)
            return
        self._set_params(self.params.with_value(name, value))
        self._set_field_text(name, value)

    def action_reset_field(self) -> None:
        name = self._focused_field()
        if name is None:
            return
        self.commit_pending()
        value = getattr(self.defaults, name)
        self._set_params(self.params.with_value(name, value))
        if name == THINKING_FIELD:
            self.query_one(ThinkingField).show_value(value)
            return
        self._set_field_text(name, value)

    def action_close(self) -> None:
        self.commit_pending()
        self._leaving = True
        if self._invalid:
            names = ", ".join(self._invalid)
            self.app.notify(f"Not applied (invalid): {names}; their previous values stay.",
                            severity="warning", markup=False)
        self.dismiss(None)

    # ----------------------------------------------------------------------------- presets

    def _selected_preset(self) -> Preset | None:
        option_list = self.query_one("#presets", OptionList)
        index = option_list.highlighted
        if index is None or not 0 <= index < len(self.presets):
            return None
        return self.presets[index]

    @on(OptionList.OptionSelected, "#presets")
    def _preset_chosen(self, event: OptionList.OptionSelected) -> None:
        self.action_apply_preset()

    @on(Button.Pressed, "#apply-preset")
    def action_apply_preset(self) -> None:
        preset = self._selected_preset()
        if preset is None:
            self.notify("Choose a preset in the list first.", severity="warning", markup=False)
            return
        self.apply_params(preset.params)
        self.notify(f"Preset {preset.name} applied.", markup=False, timeout=3)

    def apply_params(self, params: SamplingParams) -> None:
        """Replace every value at once (a preset); one ``on_change`` call, not one per field."""
        self._set_params(params)
        for name in FIELD_ORDER:
            self._set_field_text(name, getattr(params, name))
        self.query_one(ThinkingField).show_value(params.thinking)

    def action_delete_preset_key(self) -> None:
        if self.focused is not self.query_one("#presets", OptionList):
            raise SkipAction()
        self.action_delete_preset()

    @on(Button.Pressed, "#delete-preset")
    def action_delete_preset(self) -> None:
        preset = self._selected_preset()
        if preset is None:
            self.notify("Choose a preset in the list first.", severity="warning", markup=False)
            return
        if preset.builtin:
            self.notify(f"{preset.name} is built in and cannot be deleted.",
                        severity="warning", markup=False)
            return
        try:
            delete_preset(self.config_path, preset.name)
        except ConfigWriteError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        builtin = next((b for b in BUILTIN_PRESETS if b.name == preset.name), None)
        presets = [p for p in self.presets if p.name != preset.name]
        if builtin is not None:  # the user's copy hid the built-in one: it comes back
            presets.insert(BUILTIN_PRESETS.index(builtin), builtin)
        self._set_presets(tuple(presets))
        self.notify(f"Preset {preset.name} deleted.", markup=False, timeout=3)

    @on(Button.Pressed, "#save-preset")
    @on(Input.Submitted, "#preset-name")
    def action_save_preset(self) -> None:
        self.commit_pending()
        name_input = self.query_one("#preset-name", Input)
        name = name_input.value.strip()
        problem = preset_name_problem(name) or self._invalid_problem()
        if problem:
            self.notify(problem, severity="error", markup=False)
            return
        params = self.params
        if any(p.name == name for p in self.presets):
            def answered(replace: bool | None) -> None:
                if replace:
                    self._write_preset(name, params)
                else:
                    self.notify(f"Preset {name} kept as it was.", markup=False, timeout=3)

            self.app.push_screen(
                ConfirmModal("Replace the preset?",
                             f"A preset named '{name}' already exists. Replace it with the "
                             "current values?", confirm="Yes, replace", cancel="No"),
                answered,
            )
            return
        self._write_preset(name, params)

    def _write_preset(self, name: str, params: SamplingParams) -> None:
        try:
            save_preset(self.config_path, name, params)
        except ConfigWriteError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        new = Preset(name, params)
        presets = list(self.presets)
        for i, existing in enumerate(presets):
            if existing.name == name:
                presets[i] = new
                break
        else:
            presets.append(new)
        self._set_presets(tuple(presets))
        self.query_one("#preset-name", Input).value = ""
        self.notify(f"Preset {name} saved in {self.config_path}.", markup=False, timeout=4)

    def _set_presets(self, presets: tuple[Preset, ...]) -> None:
        self.presets = presets
        option_list = self.query_one("#presets", OptionList)
        option_list.clear_options()
        option_list.add_options(self._preset_options())
        if self._on_presets_change is not None:
            self._on_presets_change(presets)

    def _invalid_problem(self) -> str | None:
        if not self._invalid:
            return None
        return f"Fix the invalid value first: {', '.join(self._invalid)}"

    # ----------------------------------------------------------------------------- defaults

    @on(Button.Pressed, "#save-defaults")
    def action_save_defaults(self) -> None:
        self.commit_pending()
        problem = self._invalid_problem()
        if problem:
            self.notify(problem, severity="error", markup=False)
            return
        try:
            save_default_sampling(self.config_path, self.params)
        except ConfigWriteError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.defaults = self.params
        for name in FIELD_ORDER:
            self._field(name).show_defaults(self.defaults)
        self.query_one(ThinkingField).show_default(self.defaults.thinking)
        if self._on_defaults_saved is not None:
            self._on_defaults_saved(self.params)
        self.notify(f"Saved as your defaults in {self.config_path}; new sessions start from "
                    "them.", markup=False, timeout=4)


__all__ = ["SamplingScreen"]
