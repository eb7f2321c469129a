"""The sampling settings screen driven from the keyboard: edit, refuse, nudge, presets, defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.app import App
from textual.binding import Binding
from textual.widgets import Input, OptionList, Static

from glm_tui.model.sampling import BUILTIN_PRESETS, Preset, SamplingParams
from glm_tui.model.server_kind import ServerKind
from glm_tui.settings.config import load_settings
from glm_tui.ui.dialogs.confirm import ConfirmModal
from glm_tui.ui.screens.sampling import SamplingScreen

SIZE = (130, 60)


class SamplingHost(App[None]):
    """A stand-in conversation: ``s`` opens the settings, as the real one binds it."""

    BINDINGS = [Binding("s", "settings", "Settings")]

    def __init__(
        self,
        config_path: Path,
        params: SamplingParams | None = None,
        *,
        kind: ServerKind | None = ServerKind.GLM4,
        presets: tuple[Preset, ...] = BUILTIN_PRESETS,
        streaming: bool = False,
        open_now: bool = True,
    ) -> None:
        super().__init__()
        self.config_path = config_path
        self.params = params or SamplingParams()
        self.kind = kind
        self.presets = presets
        self.streaming = streaming
        self.open_now = open_now
        self.changes: list[SamplingParams] = []
        self.preset_lists: list[tuple[Preset, ...]] = []
        self.saved_defaults: list[SamplingParams] = []

    def on_mount(self) -> None:
        if self.open_now:
            self.action_settings()

    def action_settings(self) -> None:
        self.push_screen(SamplingScreen(
            self.params, kind=self.kind, presets=self.presets, config_path=self.config_path,
            streaming=self.streaming, on_change=self._changed,
            on_presets_change=self.preset_lists.append,
            on_defaults_saved=self.saved_defaults.append,
        ))

    def _changed(self, params: SamplingParams) -> None:
        SamplingParams.from_dict(params.to_dict())  # every value handed out must be valid
        self.params = params
        self.changes.append(params)


def text_of(app: App[Any], selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def retype(pilot: Any, field: str, text: str, *, commit: bool = True) -> None:
    """Focus a field, clear it, type ``text`` key by key and press Enter, as a person would."""
    widget = pilot.app.screen.query_one(f"#field-{field}", Input)
    widget.focus()
    await pilot.pause()
    await pilot.press("end", "ctrl+u")
    if text:
        await pilot.press(*[ch if ch.isalnum() else _key_name(ch) for ch in text])
    if commit:
        await pilot.press("enter")
    await pilot.pause()


def _key_name(ch: str) -> str:
    return {".": "full_stop", "-": "minus", "+": "plus", " ": "space", "[": "left_square_bracket",
            "]": "right_square_bracket", '"': "quotation_mark", ",": "comma",
            ":": "colon"}[ch]


async def test_two_keys_change_temperature_mid_conversation(config_path: Path) -> None:
    app = SamplingHost(config_path, open_now=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", "up")
        await pilot.pause()
        assert isinstance(app.screen, SamplingScreen)
        assert app.changes[-1].temperature == pytest.approx(0.9)
        assert app.screen.query_one("#field-temperature", Input).value == "0.9"
        await pilot.press("down", "down")
        assert app.params.temperature == pytest.approx(0.7)
        await pilot.press("escape")
        assert not isinstance(app.screen, SamplingScreen)


async def test_typed_values_apply_when_committed(config_path: Path) -> None:
    app = SamplingHost(config_path)
    async with app.run_test(size=SIZE) as pilot:
        await retype(pilot, "temperature", "1e309", commit=False)
        assert app.changes == []  # the prefix "1" was never sent on its way to a refusal
        await retype(pilot, "temperature", "0.3", commit=False)
        await pilot.press("tab")  # leaving the field applies it
        assert app.changes == [SamplingParams(temperature=0.3)]
        await retype(pilot, "temperature", "1.25")
        await retype(pilot, "max_tokens", "300")
        await retype(pilot, "presence_penalty", "-1.5")
        assert app.params == SamplingParams(temperature=1.25, presence_penalty=-1.5,
                                            max_tokens=300)
        await retype(pilot, "max_tokens", "")  # empty: back to the server's default
        assert app.params.max_tokens is None


@pytest.mark.parametrize(
    ("field", "text", "reason"),
    [
        ("temperature", "abc", "'abc' is not a number"),
        ("temperature", "1e309", "'1e309' is not a finite number"),
        ("temperature", "nan", "'nan' is not a number (NaN)"),
        ("temperature", "inf", "'inf' is not a finite number"),
        ("temperature", "-0", "'-0' is negative zero; type 0"),
        ("temperature", "", "cannot be empty: type a number in [0, 2]"),
        ("temperature", "2.0000001", "'2.0000001' is too large: the highest allowed is 2"),
        ("top_p", "0", "'0' is too small: it must be greater than 0"),
        ("max_tokens", "0", "'0' is too small: the lowest allowed is 1"),
        ("max_tokens", "-5", "'-5' is too small: the lowest allowed is 1"),
    ],
)
async def test_bad_input_is_refused_inline_and_never_applied(
    config_path: Path, field: str, text: str, reason: str
) -> None:
    start = SamplingParams(temperature=0.5, top_p=0.7, max_tokens=100)
    app = SamplingHost(config_path, start)
    async with app.run_test(size=SIZE) as pilot:
        await retype(pilot, field, text)
        shown = text_of(app, f"#error-{field}")
        assert reason in shown
        assert "· in use: " in shown
        assert getattr(app.params, field) == getattr(start, field)
        assert app.screen.invalid_fields.keys() == {field}
        # A valid value clears the refusal and applies.
        await retype(pilot, field, "1")
        assert text_of(app, f"#error-{field}") == ""
        assert getattr(app.params, field) == 1


async def test_a_pasted_10000_character_stop_sequence_is_refused(config_path: Path) -> None:
    app = SamplingHost(config_path)
    async with app.run_test(size=SIZE) as pilot:
        stop = app.screen.query_one("#field-stop", Input)
        stop.focus()
        await pilot.pause()
        stop.post_message(events.Paste("x" * 10_000))
        await pilot.pause()
        assert "a stop sequence is 10,000 characters long; the limit is 256" in text_of(
            app, "#error-stop")
        assert app.changes == []
        await retype(pilot, "stop", '["END", "Observation:"]')
        assert app.params.stop == ("END", "Observation:")


async def test_nudges_step_and_stop_at_the_edges(config_path: Path) -> None:
    app = SamplingHost(config_path, SamplingParams(top_p=0.95))
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#field-max_tokens", Input).focus()
        await pilot.press("up", "up", "ctrl+down")
        assert [c.max_tokens for c in app.changes] == [1024, 2048, 1024]
        app.screen.query_one("#field-top_p", Input).focus()
        await pilot.press("up")
        assert app.params.top_p == 1.0
        count = len(app.changes)
        await pilot.press("up")  # already at the top: nothing changes
        assert len(app.changes) == count
        await pilot.press("ctrl+r")  # back to the default
        assert app.params.top_p == 0.8
        assert app.screen.query_one("#field-top_p", Input).value == "0.8"


async def test_what_the_server_does_with_each_field_is_shown(config_path: Path) -> None:
    app = SamplingHost(config_path, kind=ServerKind.GLM4, streaming=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for name in ("presence_penalty", "frequency_penalty", "seed", "stop"):
            assert "ignored: the GLM-4 local server drops it" in text_of(app, f"#support-{name}")
        assert "used" in text_of(app, "#support-temperature")
        assert "[0, 2] · default 0.8 · randomness" in text_of(app, "#info-temperature")
        assert "default: not sent" in text_of(app, "#info-max_tokens")
        note = app.screen.query_one("#streaming-note", Static)
        assert note.display and "apply to the next reply" in str(note.render())
        app.screen.set_streaming(False)
        await pilot.pause()
        assert not note.display


async def test_hosted_glm_warns_before_sending_a_rejected_value(config_path: Path) -> None:
    app = SamplingHost(config_path, kind=ServerKind.ZHIPU)
    async with app.run_test(size=SIZE) as pilot:
        assert text_of(app, "#send-warnings") == ""
        await retype(pilot, "temperature", "0")
        assert "rejects temperature 0" in text_of(app, "#send-warnings")
        app.screen.query_one("#field-temperature", Input).focus()
        await pilot.press("up")
        assert text_of(app, "#send-warnings") == ""


async def test_apply_a_builtin_preset(config_path: Path) -> None:
    app = SamplingHost(config_path)
    async with app.run_test(size=SIZE) as pilot:
        presets = app.screen.query_one("#presets", OptionList)
        presets.focus()
        await pilot.press("down", "enter")  # the second preset: tools
        await pilot.pause()
        assert app.changes == [BUILTIN_PRESETS[1].params]  # one change, not one per field
        assert app.screen.query_one("#field-top_p", Input).value == "0.1"
        assert app.screen.query_one("#field-max_tokens", Input).value == "256"


async def test_save_replace_and_delete_user_presets(config_path: Path) -> None:
    app = SamplingHost(config_path, SamplingParams(temperature=1.1))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        name = screen.query_one("#preset-name", Input)
        name.focus()
        await pilot.press("w", "a", "r", "m", "enter")
        await pilot.pause()
        saved = {p.name: p for p in load_settings(config_path=config_path, env={}).presets}
        assert saved["warm"].params.temperature == 1.1
        assert [p.name for p in app.preset_lists[-1]] == ["chat", "tools", "warm"]

        # The same name again: asked first; "n" keeps the old one.
        await retype(pilot, "temperature", "1.5")
        name.focus()
        await pilot.press("w", "a", "r", "m", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert "'warm' already exists" in str(app.screen.query_one(".dialog-body", Static).render())
        await pilot.press("n")
        await pilot.pause()
        saved = {p.name: p for p in load_settings(config_path=config_path, env={}).presets}
        assert saved["warm"].params.temperature == 1.1
        # ... and "y" replaces it.
        name.focus()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        saved = {p.name: p for p in load_settings(config_path=config_path, env={}).presets}
        assert saved["warm"].params.temperature == 1.5

        # Built-in presets cannot be deleted; the user's can.
        presets = screen.query_one("#presets", OptionList)
        presets.focus()
        presets.highlighted = 0
        await pilot.press("delete")
        await pilot.pause()
        assert [p.name for p in screen.presets] == ["chat", "tools", "warm"]
        presets.highlighted = 2
        await pilot.press("delete")
        await pilot.pause()
        assert [p.name for p in screen.presets] == ["chat", "tools"]
        names = [p.name for p in load_settings(config_path=config_path, env={}).presets]
        assert names == ["chat", "tools"]


async def test_save_as_my_defaults_keeps_the_config_comments(config_path: Path) -> None:
    config_path.write_text(
        "# my settings, hand written\n[sampling]\ntemperature = 0.6  # a little warm\n",
        encoding="utf-8",
    )
    app = SamplingHost(config_path, SamplingParams(temperature=0.6))
    async with app.run_test(size=SIZE) as pilot:
        await retype(pilot, "temperature", "0.3")
        await retype(pilot, "seed", "42")
        await pilot.press("ctrl+s")
        await pilot.pause()
        text = config_path.read_text(encoding="utf-8")
        assert "# my settings, hand written" in text
        assert "temperature = 0.3  # a little warm" in text
        expected = SamplingParams(temperature=0.3, seed=42)
        assert load_settings(config_path=config_path, env={}).sampling == expected
        assert app.saved_defaults == [expected]
        assert "default 0.3" in text_of(app, "#info-temperature")


async def test_nothing_is_saved_while_a_field_is_invalid(config_path: Path) -> None:
    app = SamplingHost(config_path)
    async with app.run_test(size=SIZE) as pilot:
        await retype(pilot, "temperature", "abc")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not config_path.exists()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SamplingScreen)
        assert app.changes == []
