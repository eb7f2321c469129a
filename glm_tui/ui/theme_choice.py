"""The theme: the one in config.toml applied at start, and one chosen in the palette remembered.

Textual's palette changes ``App.theme`` ("Theme" command); without this the choice was gone at
the next start. The name is checked here, where the themes are known (settings cannot import
Textual): an unknown one, a typo or a theme of another Textual version, is said in a toast and
the default theme is used, as a bad sampling value is.

A code editor's highlighting is not drawn from theme variables (Textual's TextArea themes carry
their own colours), so :func:`follow_app_theme` gives it a dark or a light one with the app's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.theme import Theme

from glm_tui.settings.writer import ConfigWriteError, remember_theme
from glm_tui.ui.services import Services

if TYPE_CHECKING:
    from textual.widgets import TextArea  # only the tools screen has one: not on start-up


def apply_saved_theme(app: App[Any], services: Services) -> str | None:
    """Apply the config's theme (before the first frame); returns a warning if unusable."""
    theme = services.settings.theme
    if theme is None:
        return None
    if theme not in app.available_themes:
        known = ", ".join(sorted(app.available_themes))
        return (f"{services.settings.config_path}: theme {theme!r} is not a theme glm-tui knows; "
                f"using {app.theme}. Ctrl+P, Theme lists them: {known}.")
    app.theme = theme
    return None


def remember_theme_choices(app: App[Any], services: Services) -> None:
    """From now on, every theme the person picks is written to config.toml (once per change)."""

    def changed(theme: Theme) -> None:
        if theme.name == services.settings.theme:
            return
        services.update_settings(theme=theme.name)
        try:
            remember_theme(services.settings.config_path, theme.name)
        except ConfigWriteError as exc:
            app.notify(f"Theme not remembered for next time: {exc}", severity="warning",
                       markup=False)

    app.theme_changed_signal.subscribe(app, changed)


LIGHT_EDITOR_THEME = "github_light"
DARK_EDITOR_THEME = "css"  # the app's own colours, with VS Code's dark highlighting


def follow_app_theme(editor: TextArea) -> None:
    """Keep ``editor``'s highlighting readable on the app's theme, now and after each change."""
    app = editor.app

    def apply(theme: Theme) -> None:
        editor.theme = DARK_EDITOR_THEME if theme.dark else LIGHT_EDITOR_THEME

    apply(app.current_theme)
    app.theme_changed_signal.subscribe(editor, apply)
