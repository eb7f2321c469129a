"""Writes the few things glm-tui remembers into the user's config.toml, keeping the file theirs.

The config file is hand-written: comments, ordering and spacing carry meaning to its owner. So it
is edited as a document (tomlkit), never re-serialised from a dict: only the keys being saved
change. What can be written is deliberately narrow: ``[sampling]`` defaults, ``[presets.NAME]``
tables, the active profile (``server``), a profile's ``model``, the ``theme`` and
``[mcp_servers.NAME]`` tables (``glm-tui mcp import``). An API key is
never written: there is no way to ask this module to write one.

A file that is not valid TOML is left untouched and a :class:`ConfigWriteError` names it. Writes
go through :func:`glm_tui.storage.files.atomic_write` (temporary file, fsync, rename), so a crash
mid-write cannot leave half a config behind; a new config is created 0600, an existing one keeps
its mode.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import InlineTable, Table
from tomlkit.toml_document import TOMLDocument

from glm_tui.model.mcp_profile import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_STARTUP_TIMEOUT,
    McpServerProfile,
)
from glm_tui.model.sampling import BUILTIN_PRESETS, SamplingParams, Thinking

# The one deliberate exception to "settings and storage are independent siblings": the config is
# written with the tree's single atomic_write. glm_tui.storage.files imports nothing of glm_tui,
# so this pulls no store into settings (pyproject.toml's layers contract names this import).
from glm_tui.storage.files import atomic_write

MAX_PRESET_NAME = 40


class ConfigWriteError(Exception):
    """The config file could not be updated; the message says which file and why."""


def save_default_sampling(config_path: Path, params: SamplingParams) -> None:
    """Write ``params`` as the ``[sampling]`` defaults that new sessions start from."""
    document = _load(config_path)
    table = _table(document, "sampling")
    _write_sampling(table, params)
    _save(config_path, document)


def save_preset(config_path: Path, name: str, params: SamplingParams) -> None:
    """Write (or replace) the user preset ``[presets.NAME]``.

    Asking before replacing an existing name is the caller's job: it knows the full list of
    presets, built-in ones included (a user preset named like a built-in one replaces it).
    """
    problem = preset_name_problem(name)
    if problem:
        raise ConfigWriteError(problem)
    document = _load(config_path)
    presets = _table(document, "presets", super_table=True)
    if name not in presets:
        presets[name] = tomlkit.table()
    table = presets[name]
    if not isinstance(table, Table):
        raise ConfigWriteError(f"{config_path}: presets.{name} is not a table")
    _write_sampling(table, params)
    _save(config_path, document)


def delete_preset(config_path: Path, name: str) -> bool:
    """Remove the user preset ``[presets.NAME]``; ``False`` when the file has no such preset.

    Removing a user preset that shared a built-in's name brings the built-in back.
    """
    document = _load(config_path)
    presets = document.get("presets")
    if not isinstance(presets, Table | dict) or name not in presets:
        return False
    del presets[name]
    if not presets:
        del document["presets"]
    _save(config_path, document)
    return True


def remember_choice(
    config_path: Path, *, server: str | None = None, model: str | None = None
) -> None:
    """Remember the active profile (``server = ...``) and/or its model (``[servers.NAME]``).

    ``model`` is stored on the profile named by ``server`` or, without one, on the file's active
    profile (``default`` when the file names none), so each server keeps its own model.
    """
    if server is not None and not server.strip():
        raise ConfigWriteError("a server profile name cannot be empty")
    if model is not None and not model.strip():
        raise ConfigWriteError("a model name cannot be empty")
    document = _load(config_path)
    if server is not None:
        document["server"] = server
    if model is not None:
        profile = server if server is not None else str(document.get("server", "default"))
        servers = _table(document, "servers", super_table=True)
        if profile not in servers:
            servers[profile] = tomlkit.table()
        table = servers[profile]
        if not isinstance(table, Table):
            raise ConfigWriteError(f"{config_path}: servers.{profile} is not a table")
        table["model"] = model
    _save(config_path, document)


def remember_theme(config_path: Path, theme: str) -> None:
    """Remember the theme chosen in the palette (``theme = ...``), applied at the next start."""
    if not theme.strip():
        raise ConfigWriteError("a theme name cannot be empty")
    document = _load(config_path)
    document["theme"] = theme
    _save(config_path, document)


def save_mcp_servers(config_path: Path, profiles: Iterable[McpServerProfile], *,
                     replace: bool = False) -> None:
    """Write each profile as ``[mcp_servers.NAME]`` (what ``glm-tui mcp import`` saves).

    A name already in the file is refused, naming it, before anything is written, unless
    ``replace``: then that table is written anew. Header values are written as given (with their
    ``${VAR}``), never expanded. Only settings that differ from the defaults are written.
    """
    profiles = list(profiles)
    document = _load(config_path)
    servers = _table(document, "mcp_servers", super_table=True)
    clashes = [profile.name for profile in profiles if profile.name in servers]
    if clashes and not replace:
        raise ConfigWriteError(f"{config_path} already has MCP server(s) named "
                               f"{', '.join(clashes)}; nothing was written")
    for profile in profiles:
        servers[profile.name] = _mcp_table(profile)
    _save(config_path, document)


def _mcp_table(profile: McpServerProfile) -> Table:
    table = tomlkit.table()
    if profile.url is not None:
        table["url"] = profile.url
        if profile.headers:
            table["headers"] = _inline(profile.headers)
    else:
        table["command"] = profile.command or ""
        if profile.args:
            table["args"] = list(profile.args)
        if profile.env:
            table["env"] = _inline(profile.env)
    if profile.startup_timeout != DEFAULT_STARTUP_TIMEOUT:
        table["startup_timeout"] = profile.startup_timeout
    if profile.call_timeout != DEFAULT_CALL_TIMEOUT:
        table["call_timeout"] = profile.call_timeout
    return table


def _inline(values: Mapping[str, str]) -> InlineTable:
    inline = tomlkit.inline_table()
    inline.update(values)
    return inline


def preset_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a preset, or ``None`` when it can."""
    if not name.strip():
        return "a preset needs a name"
    if name != name.strip():
        return "a preset name cannot start or end with spaces"
    if len(name) > MAX_PRESET_NAME:
        return f"a preset name is at most {MAX_PRESET_NAME} characters"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "a preset name cannot contain control characters"
    return None


def is_builtin_preset_name(name: str) -> bool:
    return any(p.name == name for p in BUILTIN_PRESETS)


def _write_sampling(table: Table, params: SamplingParams) -> None:
    """Set each field in place, so a comment after ``temperature = 0.8  # warm`` survives.

    An unset value whose built-in default is also unset is removed; an unset value whose default
    is set (temperature, top_p) is written as ``""``, the config's spelling of "not sent".
    """
    defaults = SamplingParams()
    for f in fields(SamplingParams):
        value: Any = getattr(params, f.name)
        if f.name == "stop":
            if value:
                table[f.name] = list(value)
            elif f.name in table:
                del table[f.name]
            continue
        if value is None:
            if getattr(defaults, f.name) is None:
                if f.name in table:
                    del table[f.name]
            else:
                table[f.name] = ""
            continue
        table[f.name] = value.value if isinstance(value, Thinking) else value


def _table(document: TOMLDocument, key: str, *, super_table: bool = False) -> Table:
    existing = document.get(key)
    if existing is None:
        created = tomlkit.table(is_super_table=super_table)
        document[key] = created
        existing = document[key]
    if not isinstance(existing, Table):
        raise ConfigWriteError(f"'{key}' in the config file is not a table; fix it by hand")
    return existing


def _load(path: Path) -> TOMLDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return tomlkit.document()
    except UnicodeDecodeError:
        raise ConfigWriteError(f"{path} is not UTF-8 text; it was left unchanged") from None
    except OSError as exc:
        raise ConfigWriteError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigWriteError(
            f"{path} is not valid TOML ({exc}); it was left unchanged"
        ) from None


def _save(path: Path, document: TOMLDocument) -> None:
    text = tomlkit.dumps(document)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text)
    except OSError as exc:
        raise ConfigWriteError(f"{path}: cannot be written ({exc.strerror or exc})") from None
