"""The ``[keys]`` table of config.toml: the person's own keys for glm-tui's actions, by binding id.

```toml
[keys]
"conversation.regenerate" = "ctrl+y"          # one key
"conversation.new_session" = ["ctrl+n", "f10"] # or several (also written "ctrl+n,f10")
```

Each key binding of the app is declared once, with an id (``glm_tui.ui.keymap`` lists them and
the README's key tables are generated from them); this table maps ids to new keys and the app
hands it to Textual's keymap (``App.set_keymap``). This module only reads the table: the shape,
the types and the spelling of each key. Whether an id exists is known only to the UI, which
checks it at start with :func:`unknown_binding` and refuses an unknown one the same way.

A key is written as Textual names it: optional modifiers (``ctrl``, ``alt``, ``shift``, ``meta``,
``super``, ``hyper``) joined by ``+`` to one key: a printable character (``n``, ``?``), a named
key (``escape``, ``enter``, ``f5``, ``pageup``, ``space``, ``slash``...) or a character's Unicode
name in Textual's spelling (``question_mark``, ``full_stop``). A misspelt key would silently never
fire, so it is refused at start, naming the file, the line and the id.

Textual-free (the settings layer is read before anything heavy is imported).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

MODIFIERS = frozenset({"ctrl", "alt", "shift", "meta", "super", "hyper"})

NAMED_KEYS = frozenset({
    "escape", "enter", "tab", "backspace", "delete", "insert", "home", "end", "pageup",
    "pagedown", "up", "down", "left", "right", "space",
    # Textual's short names for some characters (its KEY_NAME_REPLACEMENTS)
    "slash", "backslash", "at", "minus", "plus", "underscore",
    *(f"f{n}" for n in range(1, 25)),
})

Fail = Callable[[tuple[str, ...], str], NoReturn]
"""Raises the config error for a key path (``("keys", id)``) with a message."""


@dataclass(frozen=True)
class KeyRemap:
    """One line of ``[keys]``: the binding ``binding_id`` answers to ``keys`` (comma-separated)."""

    binding_id: str
    keys: str
    line: int | None = None


def key_problem(key: str) -> str | None:
    """Why ``key`` is not a key Textual can bind, or None when it is one."""
    if not key:
        return "an empty key"
    if key != key.strip():
        return f"'{key}' has spaces around it"
    *modifiers, base = key.split("+") if len(key) > 1 else [key]
    for modifier in modifiers:
        if modifier not in MODIFIERS:
            return (f"'{modifier}' in '{key}' is not a modifier "
                    f"(use {', '.join(sorted(MODIFIERS))})")
    if len(base) == 1:
        if base.isprintable() and not base.isspace() and base != ",":
            return None
        return f"'{key}': write a space as 'space' and a comma as 'comma'"
    if base in NAMED_KEYS or base == "comma":
        return None
    if base.islower() and _unicode_character(base) is not None:
        return None
    return f"'{key}' is not a key name (e.g. ctrl+n, f5, escape, pageup, question_mark)"


def _unicode_character(name: str) -> str | None:
    """The character Textual names ``name`` (``question_mark`` -> ``?``), if any."""
    try:
        character = unicodedata.lookup(name.replace("_", " "))
    except KeyError:
        return None
    return character if character.isprintable() else None


def parse_keys(value: Any, fail: Fail, line_of: Callable[[tuple[str, ...]], int | None]
               ) -> tuple[KeyRemap, ...]:
    """Read the ``[keys]`` table (None when absent); every problem goes to ``fail``."""
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        fail(("keys",), "must be a table of binding id = key (see the README's key tables)")
    remaps = []
    for binding_id, raw in value.items():
        where = ("keys", binding_id)
        if isinstance(raw, str):
            keys = [part.strip() for part in raw.split(",")]
        elif isinstance(raw, list) and raw and all(isinstance(k, str) for k in raw):
            keys = [k.strip() for k in raw]
        else:
            fail(where, "must be a key such as \"ctrl+n\", or a list of keys")
        for key in keys:
            problem = key_problem(key)
            if problem:
                fail(where, problem)
        remaps.append(KeyRemap(binding_id, ",".join(keys), line_of(where)))
    return tuple(remaps)


def unknown_binding(remaps: tuple[KeyRemap, ...], known_ids: set[str]) -> KeyRemap | None:
    """The first remap naming a binding id that does not exist, if any."""
    return next((remap for remap in remaps if remap.binding_id not in known_ids), None)
