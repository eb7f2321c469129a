"""Settings: where they come from, in which order, and what a broken config file says."""

from __future__ import annotations

import itertools
from pathlib import Path

import platformdirs
import pytest

from glm_tui.model.sampling import BUILTIN_PRESETS, SamplingParams
from glm_tui.model.server_kind import ServerKind
from glm_tui.settings.config import (
    DEFAULT_API_KEY,
    DEFAULT_BASE_URL,
    DEFAULT_MODEL,
    ConfigError,
    SettingsError,
    load_settings,
    resolve_config_path,
    resolve_data_dir,
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return tmp_path / "config.toml"


def test_no_file_gives_the_reference_clients_defaults(cfg: Path, tmp_path: Path) -> None:
    settings = load_settings(config_path=cfg, data_dir=tmp_path / "d", env={})
    profile = settings.profile
    assert (profile.name, profile.base_url, profile.api_key, profile.model, profile.kind) == (
        "default", "http://127.0.0.1:8000/v1/", "EMPTY", "glm-4", None,
    )
    assert settings.server == "default"
    assert list(settings.servers) == ["default"]
    assert settings.sampling == SamplingParams()
    assert settings.presets == BUILTIN_PRESETS
    assert (settings.connect_timeout, settings.read_timeout, settings.stream) == (10.0, 120.0, True)
    assert settings.warnings == ()
    assert not cfg.exists()  # reading never creates or writes the file


def test_config_path_flag_beats_env_beats_platform_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    default = platformdirs.user_config_path("glm-tui") / "config.toml"
    assert default.is_relative_to(tmp_path)
    env = {"GLM_TUI_CONFIG": str(tmp_path / "env.toml")}
    assert resolve_config_path(tmp_path / "flag.toml", env) == tmp_path / "flag.toml"
    assert resolve_config_path(None, env) == tmp_path / "env.toml"
    assert resolve_config_path(None, {}) == default
    assert load_settings(env={}).config_path == default
    assert load_settings(env=env).config_path == tmp_path / "env.toml"


def test_data_dir_flag_beats_env_beats_platform_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    default = platformdirs.user_data_path("glm-tui")
    env = {"GLM_TUI_DATA_DIR": str(tmp_path / "env-data")}
    assert resolve_data_dir(tmp_path / "flag-data", env) == tmp_path / "flag-data"
    assert resolve_data_dir(None, env) == tmp_path / "env-data"
    assert resolve_data_dir(None, {}) == default
    settings = load_settings(config_path=tmp_path / "c.toml", env=env)
    assert settings.data_dir == tmp_path / "env-data"
    assert load_settings(config_path=tmp_path / "c.toml", data_dir=tmp_path / "x",
                         env=env).data_dir == tmp_path / "x"


# Every combination of (flag given, environment set, file set) for the two values the
# environment can set; the highest source present must win.
@pytest.mark.parametrize(("flag", "env", "file"), list(itertools.product([False, True], repeat=3)))
def test_precedence_flags_over_env_over_file_over_defaults(
    cfg: Path, flag: bool, env: bool, file: bool
) -> None:
    if file:
        write(cfg, '[servers.default]\nbase_url = "http://file:1/v1/"\napi_key = "file-key"\n'
                   'model = "file-model"\n')
    environment = (
        {"OPENAI_BASE_URL": "http://env:2/v1/", "OPENAI_API_KEY": "env-key"} if env else {}
    )
    settings = load_settings(
        config_path=cfg,
        env=environment,
        base_url="http://flag:3/v1/" if flag else None,
        api_key="flag-key" if flag else None,
        model="flag-model" if flag else None,
    )
    profile = settings.profile
    source = "flag" if flag else "env" if env else "file" if file else None
    expected_url = {"flag": "http://flag:3/v1/", "env": "http://env:2/v1/",
                    "file": "http://file:1/v1/", None: DEFAULT_BASE_URL}[source]
    expected_key = {"flag": "flag-key", "env": "env-key", "file": "file-key",
                    None: DEFAULT_API_KEY}[source]
    assert profile.base_url == expected_url
    assert profile.api_key == expected_key
    # There is no environment variable for the model: flag > file > default.
    expected_model = "flag-model" if flag else "file-model" if file else DEFAULT_MODEL
    assert profile.model == expected_model


def test_empty_environment_variables_count_as_unset(cfg: Path) -> None:
    env = {"OPENAI_BASE_URL": "", "OPENAI_API_KEY": "", "GLM_TUI_CONFIG": ""}
    profile = load_settings(config_path=cfg, env=env).profile
    assert (profile.base_url, profile.api_key) == (DEFAULT_BASE_URL, DEFAULT_API_KEY)


LOCAL = """\
server = "local"
connect_timeout = 3
read_timeout = 45.5
stream = false

[servers.local]
base_url = "http://127.0.0.1:9000/v1/"
api_key = "local-key"
model = "glm-4-9b"
kind = "glm4"

[servers.vision]
base_url = "http://127.0.0.1:9001/v1/"
model = "glm-4v-9b"
kind = "glm4v"
"""


def test_named_profiles_and_the_active_one(cfg: Path) -> None:
    settings = load_settings(config_path=write(cfg, LOCAL), env={})
    assert list(settings.servers) == ["default", "local", "vision"]
    assert settings.server == "local"
    local = settings.profile
    assert (local.base_url, local.api_key, local.model, local.kind) == (
        "http://127.0.0.1:9000/v1/", "local-key", "glm-4-9b", ServerKind.GLM4,
    )
    vision = settings.servers["vision"]
    assert (vision.api_key, vision.kind) == ("EMPTY", ServerKind.GLM4V)
    assert (settings.connect_timeout, settings.read_timeout, settings.stream) == (3.0, 45.5, False)


def test_server_flag_chooses_another_profile(cfg: Path) -> None:
    settings = load_settings(config_path=write(cfg, LOCAL), server="vision", env={})
    assert settings.server == "vision"
    assert settings.profile.model == "glm-4v-9b"


def test_unknown_server_flag_is_an_error_listing_the_profiles(cfg: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(config_path=write(cfg, LOCAL), server="nope", env={})
    assert not isinstance(caught.value, ConfigError)
    assert "--server 'nope'" in str(caught.value)
    assert "default, local, vision" in str(caught.value)


def test_a_broken_active_profile_is_reported_even_under_the_server_flag(cfg: Path) -> None:
    write(cfg, LOCAL.replace('server = "local"', 'server = "gone"'))
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=cfg, server="local", env={})
    assert (caught.value.line, caught.value.key) == (1, "server")


def test_environment_applies_to_the_default_profile_only(cfg: Path) -> None:
    """An exported OPENAI_API_KEY must never be sent to a server the user named otherwise."""
    env = {"OPENAI_BASE_URL": "http://env:2/v1/", "OPENAI_API_KEY": "sk-secret"}
    settings = load_settings(config_path=write(cfg, LOCAL), env=env)
    assert settings.profile.api_key == "local-key"
    assert settings.profile.base_url == "http://127.0.0.1:9000/v1/"
    assert settings.servers["vision"].api_key == "EMPTY"
    assert settings.servers["default"].api_key == "sk-secret"
    assert settings.servers["default"].base_url == "http://env:2/v1/"


def test_flags_apply_to_the_active_named_profile(cfg: Path) -> None:
    settings = load_settings(config_path=write(cfg, LOCAL), base_url="http://flag:3/v1/",
                             api_key="flag-key", model="flag-model", env={})
    profile = settings.profile
    assert (profile.name, profile.base_url, profile.api_key, profile.model, profile.kind) == (
        "local", "http://flag:3/v1/", "flag-key", "flag-model", ServerKind.GLM4,
    )
    assert settings.servers["vision"].model == "glm-4v-9b"  # other profiles untouched


def test_api_key_env_reads_the_named_variable(cfg: Path) -> None:
    write(cfg, 'server = "zhipu"\n[servers.zhipu]\nbase_url = '
               '"https://open.bigmodel.cn/api/paas/v4/"\napi_key_env = "ZHIPU_API_KEY"\n'
               'model = "glm-4-flash"\n')
    settings = load_settings(config_path=cfg, env={"ZHIPU_API_KEY": "zk-123",
                                                   "OPENAI_API_KEY": "sk-other"})
    assert settings.profile.api_key == "zk-123"
    assert settings.profile.api_key_env == "ZHIPU_API_KEY"
    assert settings.warnings == ()
    flagged = load_settings(config_path=cfg, api_key="typed", env={"ZHIPU_API_KEY": "zk-123"})
    assert flagged.profile.api_key == "typed"


def test_api_key_env_unset_warns_and_sends_empty(cfg: Path) -> None:
    write(cfg, 'server = "zhipu"\n[servers.zhipu]\napi_key_env = "ZHIPU_API_KEY"\n')
    settings = load_settings(config_path=cfg, env={})
    assert settings.profile.api_key == "EMPTY"
    (warning,) = settings.warnings
    assert warning.startswith(f"{cfg}, line 3, key servers.zhipu.api_key_env: ")
    assert "ZHIPU_API_KEY is not set" in warning


def test_the_api_key_never_shows_in_a_repr(cfg: Path) -> None:
    settings = load_settings(config_path=cfg, api_key="sk-very-secret", env={})
    assert "sk-very-secret" not in repr(settings)
    assert "sk-very-secret" not in repr(settings.profile)


def test_a_bad_url_from_a_flag_or_the_environment_is_refused(cfg: Path) -> None:
    with pytest.raises(SettingsError, match="--base-url 'localhost:8000'"):
        load_settings(config_path=cfg, base_url="localhost:8000", env={})
    with pytest.raises(SettingsError, match="OPENAI_BASE_URL"):
        load_settings(config_path=cfg, env={"OPENAI_BASE_URL": "127.0.0.1:8000"})


# (file text, line, key, words in the message). Each is a file a person could plausibly write.
BROKEN: list[tuple[str, str, int, str | None, str]] = [
    ("syntax", 'server = "default"\nconnect_timeout = \n', 2, "connect_timeout", "not valid TOML"),
    ("unclosed", 'stream = true\n[servers.local\nmodel = "x"\n', 2, None, "not valid TOML"),
    ("duplicate", 'server = "default"\nstream = true\nserver = "x"\n', 3, "server",
     "not valid TOML"),
    ("wrong-type", '\nconnect_timeout = "ten"\n', 2, "connect_timeout",
     "must be a number of seconds, not the string 'ten'"),
    ("not-positive", "read_timeout = 0\n", 1, "read_timeout", "must be a positive number"),
    ("bool", 'stream = "yes"\n', 1, "stream", "must be true or false"),
    ("kind", '[servers.local]\nbase_url = "http://127.0.0.1:8000/v1/"\n\nkind = "glm5"\n', 4,
     "servers.local.kind", "'glm5' is not one of glm4, glm4v, openai"),
    ("dotted-kind", 'servers.local.kind = "glm5"\n', 1, "servers.local.kind", "'glm5'"),
    ("active", '# mine\nserver = "nope"\n[servers.local]\n', 2, "server",
     "no server profile named 'nope'; known: default, local"),
    ("unknown-top", 'stream = true\ncolour = "blue"\n', 2, "colour", "unknown setting"),
    ("unknown-server-key", '[servers.local]\nurl = "http://x/v1/"\n', 2, "servers.local.url",
     "unknown server setting"),
    ("profile-not-table", '[servers]\nlocal = "http://x/v1/"\n', 2, "servers.local",
     "must be a table"),
    ("inline-table", 'servers = { local = { kind = "gpt" } }\n', 1, "servers.local.kind",
     "'gpt' is not one of"),
    ("bad-url", '[servers.local]\nmodel = "m"\nbase_url = "ftp://x"\n', 3,
     "servers.local.base_url", "http:// or https://"),
    ("both-keys", '[servers.z]\napi_key = "a"\napi_key_env = "B"\n', 3, "servers.z.api_key_env",
     "not both"),
    ("unknown-sampling-key", "[sampling]\ntemprature = 0.1\n", 2, "sampling.temprature",
     "unknown sampling setting"),
    ("preset-not-table", '[presets]\nprecise = 0.1\n', 2, "presets.precise", "must be a table"),
    ("sampling-not-table", 'sampling = 0.8\n', 1, "sampling", "must be a table"),
]


@pytest.mark.parametrize(("text", "line", "key", "words"),
                         [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_a_broken_file_names_the_file_the_line_and_the_key(
    cfg: Path, text: str, line: int, key: str | None, words: str
) -> None:
    write(cfg, text)
    before = cfg.read_bytes(), cfg.stat().st_mtime_ns
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=cfg, env={})
    error = caught.value
    assert (error.path, error.line, error.key) == (cfg, line, key)
    where = f"{cfg}, line {line}" + (f", key {key}" if key else "")
    assert str(error).startswith(where + ": ")
    assert words in str(error)
    assert (cfg.read_bytes(), cfg.stat().st_mtime_ns) == before  # never rewritten


def test_a_file_that_is_not_utf8_names_the_line(cfg: Path) -> None:
    cfg.write_bytes(b'stream = true\nserver = "caf\xe9"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=cfg, env={})
    assert caught.value.line == 2
    assert "not valid UTF-8" in str(caught.value)


def test_a_directory_as_config_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings(config_path=tmp_path, env={})


def test_the_error_shows_a_home_path_with_a_tilde(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = write(tmp_path / "config.toml", 'stream = "yes"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=cfg, env={})
    assert str(caught.value).startswith("~/config.toml, line 1, key stream: ")


SAMPLING = """\
[sampling]
temperature = 5
top_p = 0.5
max_tokens = ""
presence_penalty = "high"
seed = 7
stop = ["###"]

[presets.precise]
temperature = 0.1
top_p = 0

[presets.chat]
temperature = 0.3
"""


def test_an_invalid_sampling_value_falls_back_with_a_warning(cfg: Path) -> None:
    settings = load_settings(config_path=write(cfg, SAMPLING), env={})
    assert settings.sampling == SamplingParams(
        temperature=0.8, top_p=0.5, max_tokens=None, presence_penalty=None, seed=7, stop=("###",)
    )
    warnings = settings.warnings
    assert len(warnings) == 3
    assert warnings[0].startswith(f"{cfg}, line 2, key sampling.temperature: ")
    assert "using the default, 0.8" in warnings[0]
    assert warnings[1].startswith(f"{cfg}, line 5, key sampling.presence_penalty: ")
    assert "using the default, unset" in warnings[1]
    assert warnings[2].startswith(f"{cfg}, line 11, key presets.precise.top_p: ")


def test_user_presets_follow_the_builtin_ones_and_may_replace_one(cfg: Path) -> None:
    settings = load_settings(config_path=write(cfg, SAMPLING), env={})
    names = [preset.name for preset in settings.presets]
    assert names == ["chat", "tools", "precise"]
    chat, tools, precise = settings.presets
    assert (chat.builtin, chat.params.temperature) == (False, 0.3)
    assert tools == BUILTIN_PRESETS[1]
    assert precise.params == SamplingParams(temperature=0.1)  # bad top_p fell back to 0.8
    assert not precise.builtin


def test_integer_values_are_accepted_for_float_settings(cfg: Path) -> None:
    settings = load_settings(config_path=write(cfg, "[sampling]\ntemperature = 1\ntop_p = 1\n"),
                             env={})
    assert settings.sampling.temperature == 1.0
    assert settings.warnings == ()


def test_config_loads_neither_textual_nor_openai() -> None:
    import subprocess
    import sys

    code = ("import sys, glm_tui.settings.config\n"
            "print([m for m in ('textual', 'openai', 'httpx') if m in sys.modules])\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("levels", [600, 100_000])
def test_a_deeply_nested_file_is_a_clear_error_not_a_crash(cfg: Path, levels: int) -> None:
    """Issue 13 item 7: a RecursionError traceback became "nested too deeply", exit 2."""
    cfg.write_text("[sampling]\ntemperature = " + "[" * levels + "]" * levels + "\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config_path=cfg)
    assert str(cfg) in str(caught.value) and "nested too deeply" in str(caught.value)


def test_thinking_display_is_read_and_a_wrong_word_names_the_choices(cfg: Path,
                                                                     tmp_path: Path) -> None:
    from glm_tui.settings.config import ThinkingDisplay

    data = tmp_path / "d"
    assert load_settings(config_path=cfg, data_dir=data, env={}).thinking_display \
        is ThinkingDisplay.COLLAPSE
    write(cfg, 'thinking_display = "hide"\n')
    assert load_settings(config_path=cfg, data_dir=data, env={}).thinking_display \
        is ThinkingDisplay.HIDE
    write(cfg, 'stream = true\nthinking_display = "fold"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=cfg, data_dir=data, env={})
    assert caught.value.line == 2
    assert "'fold' is not one of show | collapse | hide" in str(caught.value)
