"""A binding's keys in a person's words (``ctrl+r`` -> ``Ctrl+R``): the README's key tables and
every message that names a key (a toast saying which key continues a reply) write them one way.

A leaf module, so that screens can name their keys without importing :mod:`glm_tui.ui.keymap`,
which imports the screens to list their bindings.
"""

from __future__ import annotations

import re

_KEY_WORDS = {
    "escape": "Esc", "enter": "Enter", "delete": "Delete", "slash": "/", "pageup": "PgUp",
    "pagedown": "PgDn", "up": "Up", "down": "Down", "left": "Left", "right": "Right",
    "tab": "Tab", "space": "Space", "home": "Home", "end": "End", "backspace": "Backspace",
}


def key_words(keys: str) -> str:
    """A binding's keys as the README writes them: ``ctrl+r`` -> ``Ctrl+R``, ``x,delete`` ->
    ``x / Delete``."""
    shown = []
    for key in keys.split(","):
        *modifiers, base = key.strip().split("+")
        if base in _KEY_WORDS:
            word = _KEY_WORDS[base]
        elif re.fullmatch(r"f\d{1,2}", base) or (modifiers and len(base) == 1):
            word = base.upper()
        else:
            word = base
        shown.append("+".join([*(m.capitalize() for m in modifiers), word]))
    return " / ".join(shown)
