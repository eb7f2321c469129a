"""A theme chosen in the palette is remembered in config.toml and applied at start (item 13).

Driven as a person does it: Ctrl+P, the palette's theme command, the theme's name, Enter. The
config file is a real file in the test's directory, read back by a second app as at a restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.command import CommandInput, CommandList, CommandPalette
from textual.pilot import Pilot

from glm_tui.settings.config import load_settings
from tests.support.toasts import ToastLog
from tests.ui.conftest import make_app, ready, wait_for

SIZE = (120, 40)


def listed(pilot: Pilot[Any]) -> list[str]:
    """The palette's entries as drawn (name, then help line)."""
    found = pilot.app.screen.query(CommandList)
    if not found:
        return []
    options = found.first()
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def choose_theme_in_the_palette(pilot: Pilot[Any], name: str) -> None:
    app = pilot.app
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
    await pilot.press(*"theme")
    await wait_for(pilot, lambda: listed(pilot)[:1] == ["Theme\nChange the current theme"],
                   what="the theme command first")
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette)
                   and "themes" in app.screen.query_one(CommandInput).placeholder,
                   what="the theme list")
    await pilot.press(*name)
    await wait_for(pilot, lambda: listed(pilot)[:1] == [name], what=f"{name} listed first")
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.theme == name, what=f"the theme {name}")


async def test_a_theme_chosen_in_the_palette_is_kept_for_the_next_start(
    glm4_server: str, config_path: Path
) -> None:
    config_path.write_text("# my settings\nstream = true  # keep streaming\n", encoding="utf-8")
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await choose_theme_in_the_palette(pilot, "textual-light")
        await wait_for(pilot, lambda: 'theme = "textual-light"' in config_path.read_text(),
                       what="the choice written to config.toml")
    text = config_path.read_text(encoding="utf-8")
    assert "# my settings" in text and "# keep streaming" in text  # the file stays theirs
    assert load_settings().theme == "textual-light"

    again = make_app(glm4_server)
    async with again.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert again.theme == "textual-light"


async def test_an_unknown_theme_in_the_config_is_said_and_the_app_starts(
    glm4_server: str, config_path: Path
) -> None:
    config_path.write_text('theme = "no-such-theme"\n', encoding="utf-8")
    app = make_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: toasts.any_mentions("no-such-theme"), what="the warning")
        assert app.theme == "textual-dark"  # Textual's default
