"""Settings: the TOML config file, the environment and command-line flags, merged once at start.

Where things are:
  * the config file is ``config.toml`` in ``platformdirs.user_config_path("glm-tui")``; ``--config``
    or ``GLM_TUI_CONFIG`` names another file (tests use this to stay out of the user's home);
  * the data directory (sessions, images) is ``platformdirs.user_data_path("glm-tui")``;
    ``--data-dir`` or ``GLM_TUI_DATA_DIR`` moves it.

Precedence is always flags > environment > file > defaults. The defaults are the reference
client's: base URL ``http://127.0.0.1:8000/v1/``, model ``glm-4``, api key ``EMPTY``.

How the environment applies to server profiles (deliberately narrow):
  * ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` apply to the profile named ``default`` only,
    whether it is built from the defaults or written as ``[servers.default]`` in the file. A
    profile the user named is explicit about where it points, and an ``OPENAI_API_KEY`` exported
    for a hosted API must never be sent to some other server just because it is set in the shell.
  * A named profile reads a key from the environment only when it says so: ``api_key_env = "VAR"``.
  * The ``--base-url``, ``--api-key`` and ``--model`` flags apply to the active profile, whichever
    it is: a flag is what the user typed for this run.

A broken file (bad TOML, a wrong type, an unknown key, an unknown server kind or active profile) is
a :class:`ConfigError` naming the file, the line and the key; glm-tui then exits with status 2 and
never rewrites the file. Sampling values are the exception (issue 4): an invalid one falls back to
its default and a warning goes into :attr:`Settings.warnings`, because a typo in a temperature
should not lock a person out of their chats. In ``[sampling]`` and presets an empty string means
"unset" (not sent, the server's default), since TOML has no null.

This module must stay light (no textual, no openai): ``glm-tui --help`` and the CLI's error paths
load it before anything heavy.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import platformdirs

from glm_tui.model.image_limits import ImageLimits, limit_problem
from glm_tui.model.mcp_profile import McpServerProfile
from glm_tui.model.sampling import (
    BUILTIN_PRESETS,
    Preset,
    SamplingError,
    SamplingParams,
    validate_value,
)
from glm_tui.model.server_kind import ServerKind
from glm_tui.settings.key_locator import KeyLocator, format_key, split_toml_error, toml_type
from glm_tui.settings.keys import KeyRemap, parse_keys
from glm_tui.settings.mcp_servers import parse_mcp_servers

APP_NAME = "glm-tui"
CONFIG_FILE_NAME = "config.toml"
DEFAULT_PROFILE = "default"
DEMO_PROFILE = "demo"  # the in-process demo server of `glm-tui --demo`: never written to a file
DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1/"
DEFAULT_MODEL = "glm-4"
DEFAULT_API_KEY = "EMPTY"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 120.0

ENV_CONFIG = "GLM_TUI_CONFIG"
ENV_DATA_DIR = "GLM_TUI_DATA_DIR"
ENV_BASE_URL = "OPENAI_BASE_URL"
ENV_API_KEY = "OPENAI_API_KEY"

_Choice = TypeVar("_Choice", bound=StrEnum)

_TOP_LEVEL_KEYS = (
    "server", "connect_timeout", "read_timeout", "stream", "servers", "sampling", "presets",
    "keys", "images", "thinking_display", "theme", "mcp_servers",
)
_SERVER_KEYS = ("base_url", "api_key", "api_key_env", "model", "kind")
_SAMPLING_KEYS = tuple(f.name for f in fields(SamplingParams))
_IMAGE_KEYS = tuple(f.name for f in fields(ImageLimits))
IMAGE_DISPLAYS = ("auto", "kitty", "sixel", "halfcell", "text")
"""``[images] display``: how pictures are drawn (glm_tui.ui.image_compat.Display)."""


class ThinkingDisplay(StrEnum):
    """How a thinking model's reasoning is drawn above its answer (``thinking_display``)."""

    SHOW = "show"  # streams live and stays open; stored ones open too
    COLLAPSE = "collapse"  # streams live, folds to one line when the answer starts (default)
    HIDE = "hide"  # never drawn unless asked: one line while thinking, opened by key or click


@dataclass(frozen=True)
class ServerProfile:
    """One server glm-tui can talk to, with its api key already resolved.

    The key is kept out of ``repr`` so that it cannot end up in a log or a traceback; nothing in
    glm-tui writes it anywhere.
    """

    name: str
    base_url: str
    api_key: str = field(repr=False)
    api_key_env: str | None
    model: str
    kind: ServerKind | None  # None: not configured, to be detected from the server


@dataclass(frozen=True)
class Settings:
    """Everything the app and the commands need to know before they start."""

    config_path: Path
    data_dir: Path
    servers: dict[str, ServerProfile]
    server: str  # the active profile's name; always a key of ``servers``
    sampling: SamplingParams  # defaults for new sessions
    presets: tuple[Preset, ...]  # built-in first, then the user's (a user preset may replace one)
    connect_timeout: float
    read_timeout: float  # idle seconds allowed between two chunks of a reply
    stream: bool
    warnings: tuple[str, ...] = ()  # non-fatal problems found in the file, worded for a person
    keys: tuple[KeyRemap, ...] = ()  # [keys]: binding id -> the person's keys (settings.keys)
    images: ImageLimits = field(default_factory=ImageLimits)  # [images]: attached pictures
    image_display: str = "auto"  # [images] display: one of IMAGE_DISPLAYS
    thinking_display: ThinkingDisplay = ThinkingDisplay.COLLAPSE
    # The Textual theme chosen in the palette (the app checks the name: this module has no
    # Textual); None: the app's default.
    theme: str | None = None
    mcp_servers: dict[str, McpServerProfile] = field(default_factory=dict)  # [mcp_servers.NAME]

    @property
    def profile(self) -> ServerProfile:
        return self.servers[self.server]


class SettingsError(Exception):
    """A setting that cannot be used (from a flag, the environment or the file)."""


class ConfigError(SettingsError):
    """The config file cannot be used; says where (file, line, key) and why."""

    def __init__(self, path: Path, line: int | None, key: str | None, message: str) -> None:
        self.path = path
        self.line = line
        self.key = key
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        return _where(self.path, self.line, self.key) + ": " + self.message


def default_config_path() -> Path:
    return platformdirs.user_config_path(APP_NAME) / CONFIG_FILE_NAME


def default_data_dir() -> Path:
    return platformdirs.user_data_path(APP_NAME)


def resolve_config_path(flag: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The config file to read: ``--config`` > ``GLM_TUI_CONFIG`` > the platform default."""
    env = os.environ if env is None else env
    if flag is not None:
        return Path(flag).expanduser()
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]).expanduser()
    return default_config_path()


def resolve_data_dir(flag: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The data directory: ``--data-dir`` > ``GLM_TUI_DATA_DIR`` > the platform default.

    Separate from :func:`load_settings` so that commands that only touch stored sessions keep
    working while the config file is broken.
    """
    env = os.environ if env is None else env
    if flag is not None:
        return Path(flag).expanduser()
    if env.get(ENV_DATA_DIR):
        return Path(env[ENV_DATA_DIR]).expanduser()
    return default_data_dir()


def display_path(path: Path) -> str:
    """A path as a person would type it: under the home directory it starts with ``~``."""
    try:
        return "~/" + path.expanduser().resolve().relative_to(Path.home().resolve()).as_posix()
    except (ValueError, RuntimeError, OSError):
        return str(path)


def load_settings(
    *,
    config_path: Path | None = None,
    data_dir: Path | None = None,
    server: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    model: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Read the config file (if any) and merge it with the environment and the flags given here.

    Raises :class:`ConfigError` for a broken file and :class:`SettingsError` for an unusable flag
    or environment value. A missing file is not an error: the defaults apply.
    """
    env = os.environ if env is None else env
    path = resolve_config_path(config_path, env)
    text, document = _read_document(path)
    loader = _Loader(path, text)
    for key in document:
        if key not in _TOP_LEVEL_KEYS:
            loader.fail((key,), f"unknown setting; known: {', '.join(_TOP_LEVEL_KEYS)}")

    servers = loader.servers(document.get("servers"), env)
    in_file = loader.string(document, ("server",), DEFAULT_PROFILE)
    if in_file not in servers:  # checked even under --server: a broken file is always reported
        loader.fail(("server",), f"no server profile named '{in_file}'; "
                    f"known: {', '.join(servers)}")
    active = in_file if server is None else server
    if active not in servers:
        raise SettingsError(
            f"--server '{active}': no server profile with that name in {display_path(path)}; "
            f"known: {', '.join(servers)}"
        )
    servers[active] = _apply_flags(servers[active], base_url=base_url, api_key=api_key,
                                   model=model)

    return Settings(
        config_path=path,
        data_dir=resolve_data_dir(data_dir, env),
        servers=servers,
        server=active,
        sampling=loader.sampling(document.get("sampling"), ("sampling",)),
        presets=loader.presets(document.get("presets")),
        connect_timeout=loader.seconds(document, ("connect_timeout",), DEFAULT_CONNECT_TIMEOUT),
        read_timeout=loader.seconds(document, ("read_timeout",), DEFAULT_READ_TIMEOUT),
        stream=loader.boolean(document, ("stream",), True),
        warnings=tuple(loader.warnings),
        keys=parse_keys(document.get("keys"), loader.fail, loader.locator.line_of),
        images=loader.images(document.get("images")),
        image_display=loader.image_display(document.get("images")),
        thinking_display=loader.choice(document, ("thinking_display",), ThinkingDisplay,
                                       ThinkingDisplay.COLLAPSE),
        theme=loader.string(document, ("theme",), "").strip() or None,
        mcp_servers=parse_mcp_servers(document.get("mcp_servers"), loader.fail),
    )


def _apply_flags(
    profile: ServerProfile, *, base_url: str | None, api_key: str | None, model: str | None
) -> ServerProfile:
    if base_url is not None:
        problem = _url_problem(base_url)
        if problem:
            raise SettingsError(f"--base-url '{base_url}': {problem}")
    if model is not None and not model.strip():
        raise SettingsError("--model: the model name cannot be empty")
    return ServerProfile(
        name=profile.name,
        base_url=profile.base_url if base_url is None else base_url,
        api_key=profile.api_key if api_key is None else api_key,
        api_key_env=profile.api_key_env if api_key is None else None,
        model=profile.model if model is None else model,
        kind=profile.kind,
    )


def _read_document(path: Path) -> tuple[str, dict[str, Any]]:
    """The file's text and parsed table; ``("", {})`` when there is no file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return "", {}
    except IsADirectoryError:
        raise ConfigError(path, None, None, "is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(path, None, None, f"cannot be read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(path, bad_line, None, "is not valid UTF-8 text") from None
    try:
        return text, tomllib.loads(text)
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively: a file nested thousands
        # of levels deep exhausts the stack. No real config nests more than a few levels.
        raise ConfigError(path, None, None, "is not valid TOML: its arrays or tables are "
                          "nested too deeply to read") from None
    except tomllib.TOMLDecodeError as exc:
        message, line = split_toml_error(exc, text)
        key_path = KeyLocator(text).path_at(line) if line is not None else None
        key = format_key(key_path) if key_path else None
        raise ConfigError(path, line, key, f"not valid TOML: {message}") from None


class _Loader:
    """Checks one parsed document, turning each problem into an error or warning with its line."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.locator = KeyLocator(text)
        self.warnings: list[str] = []

    def fail(self, key: tuple[str, ...], message: str) -> NoReturn:
        raise ConfigError(self.path, self.locator.line_of(key), format_key(key), message)

    def warn(self, key: tuple[str, ...], message: str) -> None:
        where = _where(self.path, self.locator.line_of(key), format_key(key))
        self.warnings.append(f"{where}: {message}")

    def string(self, table: Mapping[str, Any], key: tuple[str, ...], default: str) -> str:
        value = table.get(key[-1], default)
        if not isinstance(value, str):
            self.fail(key, f"must be a string, not {toml_type(value)}")
        return str(value)

    def boolean(self, table: Mapping[str, Any], key: tuple[str, ...], default: bool) -> bool:
        value = table.get(key[-1], default)
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, not {toml_type(value)}")
        return bool(value)

    def choice(self, table: Mapping[str, Any], key: tuple[str, ...], options: type[_Choice],
               default: _Choice) -> _Choice:
        """One of a fixed set of words (a :class:`StrEnum`); anything else names them all."""
        value = self.string(table, key, default.value)
        try:
            return options(value)
        except ValueError:
            known = " | ".join(option.value for option in options)
            self.fail(key, f"'{value}' is not one of {known}")

    def seconds(self, table: Mapping[str, Any], key: tuple[str, ...], default: float) -> float:
        value = table.get(key[-1], default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, f"must be a number of seconds, not {toml_type(value)}")
        number = float(value)
        if not math.isfinite(number) or number <= 0:
            self.fail(key, f"must be a positive number of seconds, not {value}")
        return number

    def table(self, value: Any, key: tuple[str, ...]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(key, f"must be a table, not {toml_type(value)}")
        return dict(value)

    def servers(self, value: Any, env: Mapping[str, str]) -> dict[str, ServerProfile]:
        tables = self.table(value, ("servers",))
        profiles: dict[str, ServerProfile] = {}
        if DEFAULT_PROFILE not in tables:
            profiles[DEFAULT_PROFILE] = self.profile(DEFAULT_PROFILE, {}, env)
        for name, entry in tables.items():
            if not name.strip():
                self.fail(("servers", name), "a server profile needs a name")
            profiles[name] = self.profile(name, self.table(entry, ("servers", name)), env)
        return profiles

    def profile(self, name: str, table: dict[str, Any], env: Mapping[str, str]) -> ServerProfile:
        def key(k: str) -> tuple[str, ...]:
            return ("servers", name, k)

        for k in table:
            if k not in _SERVER_KEYS:
                self.fail(key(k), f"unknown server setting; known: {', '.join(_SERVER_KEYS)}")
        base_url = self.string(table, key("base_url"), DEFAULT_BASE_URL)
        problem = _url_problem(base_url)
        if problem:
            self.fail(key("base_url"), f"'{base_url}': {problem}")
        model = self.string(table, key("model"), DEFAULT_MODEL)
        if not model.strip():
            self.fail(key("model"), "the model name cannot be empty")
        kind: ServerKind | None = None
        if "kind" in table:
            raw_kind = self.string(table, key("kind"), "")
            try:
                kind = ServerKind(raw_kind)
            except ValueError:
                self.fail(key("kind"), f"'{raw_kind}' is not one of "
                          f"{', '.join(k.value for k in ServerKind)}")
        if "api_key" in table and "api_key_env" in table:
            self.fail(key("api_key_env"), "give api_key or api_key_env, not both")
        api_key = self.string(table, key("api_key"), DEFAULT_API_KEY)
        api_key_env: str | None = None
        if "api_key_env" in table:
            api_key_env = self.string(table, key("api_key_env"), "")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", api_key_env):
                self.fail(key("api_key_env"),
                          f"'{api_key_env}' is not an environment variable name")
            if env.get(api_key_env):
                api_key = env[api_key_env]
            else:
                self.warn(key("api_key_env"), f"the environment variable {api_key_env} is not "
                          f"set; using the api key '{DEFAULT_API_KEY}'")
        if name == DEFAULT_PROFILE:
            if env.get(ENV_BASE_URL):
                base_url = env[ENV_BASE_URL]
                problem = _url_problem(base_url)
                if problem:
                    raise SettingsError(f"{ENV_BASE_URL}='{base_url}': {problem}")
            if env.get(ENV_API_KEY):
                api_key = env[ENV_API_KEY]
        return ServerProfile(name=name, base_url=base_url, api_key=api_key,
                             api_key_env=api_key_env, model=model, kind=kind)

    def sampling(self, value: Any, key: tuple[str, ...]) -> SamplingParams:
        """Sampling values; an invalid one falls back to its default with a warning."""
        table = self.table(value, key)
        defaults = SamplingParams()
        values: dict[str, Any] = {}
        for name, raw in table.items():
            if name not in _SAMPLING_KEYS:
                self.fail((*key, name),
                          f"unknown sampling setting; known: {', '.join(_SAMPLING_KEYS)}")
            if raw == "" and name != "stop":
                values[name] = None  # TOML has no null: "" means "not sent"
                continue
            try:
                values[name] = validate_value(name, raw)
            except SamplingError as exc:
                fallback = getattr(defaults, name)
                shown = "unset (the server's default)" if fallback in (None, ()) else fallback
                self.warn((*key, name), f"{exc.reason}; using the default, {shown}")
        return SamplingParams(**values)

    def images(self, value: Any) -> ImageLimits:
        """``[images]``: ``max_side`` and ``max_bytes``, whole numbers within their bounds."""
        table = self.table(value, ("images",))
        values: dict[str, int] = {}
        for name, raw in table.items():
            if name == "display":
                continue  # how pictures are drawn, not a limit: image_display()
            if name not in _IMAGE_KEYS:
                self.fail(("images", name),
                          f"unknown image setting; known: {', '.join(_IMAGE_KEYS)}, display")
            if isinstance(raw, bool) or not isinstance(raw, int):
                unit = "pixels" if name == "max_side" else "bytes"
                self.fail(("images", name),
                          f"must be a whole number of {unit}, not {toml_type(raw)}")
            problem = limit_problem(name, raw)
            if problem:
                self.fail(("images", name), problem)
            values[name] = raw
        return ImageLimits(**values)

    def image_display(self, value: Any) -> str:
        """``[images] display``: auto, kitty, sixel, halfcell or text."""
        table = self.table(value, ("images",))
        display = self.string(table, ("images", "display"), "auto")
        if display not in IMAGE_DISPLAYS:
            self.fail(("images", "display"), f"must be one of {', '.join(IMAGE_DISPLAYS)}, "
                      f"not {display!r}")
        return display

    def presets(self, value: Any) -> tuple[Preset, ...]:
        tables = self.table(value, ("presets",))
        user: dict[str, Preset] = {}
        for name, entry in tables.items():
            if not name.strip():
                self.fail(("presets", name), "a preset needs a name")
            params = self.sampling(self.table(entry, ("presets", name)), ("presets", name))
            user[name] = Preset(name, params)
        merged = [user.pop(p.name, p) for p in BUILTIN_PRESETS]
        return (*merged, *user.values())


def _url_problem(url: str) -> str | None:
    if not re.match(r"^https?://[^/\s]+", url):
        return "must be an http:// or https:// URL such as " + DEFAULT_BASE_URL
    return None


def _where(path: Path, line: int | None, key: str | None) -> str:
    parts = [display_path(path)]
    if line is not None:
        parts.append(f"line {line}")
    if key:
        parts.append(f"key {key}")
    return ", ".join(parts)
