"""Key bindings declared once: the README's tables, the palette and ``[keys]`` come from them."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import Screen

import glm_tui.ui.dialogs as dialogs
import glm_tui.ui.screens.conversation
import glm_tui.ui.screens.image_view
import glm_tui.ui.screens.model_picker
import glm_tui.ui.screens.request_view
import glm_tui.ui.screens.sampling
import glm_tui.ui.screens.sessions
import glm_tui.ui.screens.tools
from glm_tui.cli import main
from glm_tui.ui.app import GlmTuiApp
from glm_tui.ui.keymap import (
    APP_BINDINGS,
    README_END,
    README_START,
    all_bindings,
    key_words,
    readme_tables,
    sections,
)
from tests.ui.conftest import conversation, ready, settings_for, wait_for

README = Path(__file__).resolve().parents[2] / "README.md"
SCREEN_MODULES = [
    glm_tui.ui.screens.conversation, glm_tui.ui.screens.model_picker,
    glm_tui.ui.screens.request_view, glm_tui.ui.screens.sampling, glm_tui.ui.screens.sessions,
    glm_tui.ui.screens.tools, glm_tui.ui.screens.image_view, dialogs,
]


def test_the_readme_key_tables_are_the_bindings() -> None:
    text = README.read_text(encoding="utf-8")
    assert README_START in text and README_END in text
    block = text.split(README_START, 1)[1].split(README_END, 1)[0].strip("\n")
    assert block == readme_tables().strip("\n"), (
        "the README's key tables differ from the bindings: paste the output of "
        "`python -m glm_tui.ui.keymap` between the markers")


def test_every_screen_and_dialog_is_in_the_tables_and_every_key_has_an_id_and_a_tooltip() -> None:
    listed = {owner for section in sections() for owner in section.owners}
    for module in SCREEN_MODULES:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Screen) and cls.__module__.startswith("glm_tui.") \
                    and "BINDINGS" in cls.__dict__:
                assert cls in listed, f"{cls.__name__}'s keys are not in the README tables"
    for owner in [*listed]:
        for binding in owner.__dict__.get("BINDINGS", []):
            assert isinstance(binding, Binding)
            if not binding.description:
                continue  # plumbing (arrows forwarded to a list), not an action of its own
            assert binding.id and binding.tooltip, f"{owner.__name__}: {binding} needs both"
    ids = all_bindings()  # raises on a duplicate id
    assert "conversation.regenerate" in ids and "dialog.yes" in ids
    assert all(b.id and b.tooltip for b in APP_BINDINGS if isinstance(b, Binding))


def test_keys_are_written_the_way_people_read_them() -> None:
    assert key_words("ctrl+r") == "Ctrl+R"
    assert key_words("x,delete") == "x / Delete"
    assert key_words("f5") == "F5"
    assert key_words("escape") == "Esc"
    assert key_words("slash") == "/"


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_a_key_remapped_in_config_works_and_the_palette_shows_it(
    glm4_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = _config(tmp_path, '[keys]\n"conversation.new_session" = "f10"\n')
    monkeypatch.setenv("GLM_TUI_CONFIG", str(path))
    app = GlmTuiApp(settings_for(glm4_server))
    async with app.run_test(size=(110, 36)) as pilot:
        first = await ready(pilot)
        first.session.title = "first"
        await pilot.press("ctrl+n")  # the default key no longer starts a session
        await pilot.pause()
        assert conversation(app) is first
        await pilot.press("f10")
        await wait_for(pilot, lambda: conversation(app) is not first, what="a new session")
        await ready(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
        await pilot.press(*"new")
        await wait_for(pilot, lambda: "New (f10)" in _palette_text(app), what="the entry")


def _palette_text(app: GlmTuiApp) -> str:
    from textual.widgets import OptionList

    options = app.screen.query_one(OptionList)
    return "\n".join(str(options.get_option_at_index(i).prompt)
                     for i in range(options.option_count))


@pytest.mark.parametrize(("table", "words"), [
    ('"conversation.no_such_thing" = "f10"', ["line 2", 'keys."conversation.no_such_thing"',
                                              "no key binding has this id"]),
    ('"conversation.regenerate" = "ctrl+nope"', ["line 2", 'keys."conversation.regenerate"',
                                                 "not a key name"]),
    ('"conversation.regenerate" = "control+r"', ["'control' in 'control+r' is not a modifier"]),
    ('"conversation.regenerate" = 5', ["must be a key"]),
])
def test_a_bad_id_or_key_is_refused_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, words: list[str],
) -> None:
    path = _config(tmp_path, f"[keys]\n{table}\n")
    status = main(["--config", str(path), "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert status == 2
    assert str(path.name) in err
    for word in words:
        assert word in err, err
