"""Styles: one .tcss per screen through CSS_PATH plus the shared app.tcss, no rule twice."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import tomllib
from pathlib import Path

from textual.screen import Screen

import glm_tui.ui.dialogs as dialogs
import glm_tui.ui.screens.conversation
import glm_tui.ui.screens.image_view
import glm_tui.ui.screens.model_picker
import glm_tui.ui.screens.request_view
import glm_tui.ui.screens.sampling
import glm_tui.ui.screens.sessions
import glm_tui.ui.screens.tools

ROOT = Path(__file__).resolve().parents[2]
STYLES = ROOT / "glm_tui" / "ui" / "styles"
SCREENS = [glm_tui.ui.screens.conversation, glm_tui.ui.screens.model_picker,
           glm_tui.ui.screens.request_view, glm_tui.ui.screens.sampling,
           glm_tui.ui.screens.sessions, glm_tui.ui.screens.tools,
           glm_tui.ui.screens.image_view]


def _own_screens(modules: list[object]) -> list[type[Screen[object]]]:
    found = []
    for module in modules:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Screen) and cls.__module__ == module.__name__:  # type: ignore[attr-defined]
                found.append(cls)
    return found


def test_each_screen_takes_its_styles_from_a_file_and_dialogs_from_app_tcss() -> None:
    for screen in _own_screens(SCREENS):  # type: ignore[arg-type]
        assert "DEFAULT_CSS" not in screen.__dict__, screen
        path = Path(screen.__dict__["CSS_PATH"])
        assert path.parent == STYLES and path.is_file(), screen
    dialog_modules = [importlib.import_module(f"glm_tui.ui.dialogs.{info.name}")
                      for info in pkgutil.iter_modules(dialogs.__path__)]
    assert len(dialog_modules) >= 7
    for dialog in _own_screens(dialog_modules):
        assert "DEFAULT_CSS" not in dialog.__dict__ and "CSS" not in dialog.__dict__, dialog


def _rules(text: str) -> list[str]:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    selectors = []
    for match in re.finditer(r"([^{}]+)\{", text):
        for selector in match.group(1).split(","):
            selectors.append(" ".join(selector.split()))
    return selectors


def test_no_rule_is_declared_twice() -> None:
    seen: dict[str, str] = {}
    for path in sorted(STYLES.glob("*.tcss")):
        for selector in _rules(path.read_text(encoding="utf-8")):
            assert selector not in seen, f"{selector!r} in {path.name} and {seen[selector]}"
            seen[selector] = path.name
    assert len(seen) > 40


def test_the_style_files_are_packaged() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "ui/styles/*.tcss" in config["tool"]["setuptools"]["package-data"]["glm_tui"]
