"""Saving defaults, presets and choices into config.toml keeps the user's comments and layout."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from glm_tui.model.sampling import SamplingParams
from glm_tui.settings.config import load_settings
from glm_tui.settings.writer import (
    ConfigWriteError,
    delete_preset,
    preset_name_problem,
    remember_choice,
    save_default_sampling,
    save_preset,
)

HAND_WRITTEN = """\
# My glm-tui config.   Written by hand; keep my notes!
server = "local"

[servers.local]   # the box under my desk
base_url = "http://127.0.0.1:8000/v1/"
api_key = "EMPTY"   # the GLM-4 server wants no key

[servers.hosted]
base_url = "https://open.bigmodel.cn/api/paas/v4/"
api_key_env = "ZHIPU_KEY"
model = "glm-4-plus"

[sampling]
temperature = 0.5   # warm but not wild
# top_p stays at the server default
"""


def test_save_defaults_keeps_comments_and_reads_back(config_path: Path) -> None:
    config_path.write_text(HAND_WRITTEN, encoding="utf-8")
    params = SamplingParams(temperature=0.7, top_p=0.9, max_tokens=300, stop=("\n\n",))
    save_default_sampling(config_path, params)
    text = config_path.read_text(encoding="utf-8")
    assert "# My glm-tui config.   Written by hand; keep my notes!" in text
    assert "temperature = 0.7   # warm but not wild" in text
    assert "# top_p stays at the server default" in text
    assert "[servers.local]   # the box under my desk" in text
    assert "ZHIPU" not in text.replace('api_key_env = "ZHIPU_KEY"', "")  # nothing new about keys
    assert load_settings(config_path=config_path, env={}).sampling == params


def test_unset_values_are_written_so_they_read_back_unset(config_path: Path) -> None:
    config_path.write_text(HAND_WRITTEN, encoding="utf-8")
    save_default_sampling(config_path, SamplingParams(max_tokens=5, seed=1))
    save_default_sampling(config_path, SamplingParams(temperature=None, max_tokens=None))
    settings = load_settings(config_path=config_path, env={})
    assert settings.sampling == SamplingParams(temperature=None, max_tokens=None)
    assert not [w for w in settings.warnings if "sampling" in w]
    text = config_path.read_text(encoding="utf-8")
    assert "max_tokens" not in text and "seed" not in text
    assert 'temperature = ""' in text


def test_missing_file_is_created_privately(config_path: Path) -> None:
    assert not config_path.exists()
    save_default_sampling(config_path, SamplingParams(temperature=1.0))
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    assert load_settings(config_path=config_path, env={}).sampling.temperature == 1.0


def test_presets_save_replace_and_delete(config_path: Path) -> None:
    config_path.write_text(HAND_WRITTEN, encoding="utf-8")
    save_preset(config_path, "precise", SamplingParams(temperature=0.1, top_p=0.5))
    save_preset(config_path, "my fav", SamplingParams(temperature=1.1, stop=("END",)))
    save_preset(config_path, "precise", SamplingParams(temperature=0.2, top_p=0.5))  # replace
    presets = {p.name: p for p in load_settings(config_path=config_path, env={}).presets}
    assert presets["precise"].params == SamplingParams(temperature=0.2, top_p=0.5)
    assert presets["my fav"].params.stop == ("END",)
    assert presets["chat"].builtin
    assert delete_preset(config_path, "precise") is True
    assert delete_preset(config_path, "precise") is False
    names = [p.name for p in load_settings(config_path=config_path, env={}).presets]
    assert names == ["chat", "tools", "my fav"]
    assert "# My glm-tui config." in config_path.read_text(encoding="utf-8")


def test_a_user_preset_named_like_a_builtin_replaces_it_until_deleted(config_path: Path) -> None:
    save_preset(config_path, "chat", SamplingParams(temperature=1.5))
    chat = load_settings(config_path=config_path, env={}).presets[0]
    assert (chat.name, chat.builtin, chat.params.temperature) == ("chat", False, 1.5)
    delete_preset(config_path, "chat")
    chat = load_settings(config_path=config_path, env={}).presets[0]
    assert (chat.builtin, chat.params.temperature) == (True, 0.4)
    assert "presets" not in config_path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "problem"), [
    ("", "a preset needs a name"),
    (" x", "cannot start or end with spaces"),
    ("x" * 41, "at most 40 characters"),
    ("a\nb", "control characters"),
])
def test_bad_preset_names_are_refused(config_path: Path, name: str, problem: str) -> None:
    assert problem in (preset_name_problem(name) or "")
    with pytest.raises(ConfigWriteError, match=problem):
        save_preset(config_path, name, SamplingParams())
    assert not config_path.exists()


def test_remember_server_and_model_without_writing_keys(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path.write_text(HAND_WRITTEN, encoding="utf-8")
    monkeypatch.setenv("ZHIPU_KEY", "sk-secret-abc")
    remember_choice(config_path, server="hosted", model="glm-4-flash")
    remember_choice(config_path, model="glm-4-air")  # on the now active profile
    text = config_path.read_text(encoding="utf-8")
    assert "sk-secret-abc" not in text
    assert text.count("api_key") == 2  # the two the user wrote, nothing more
    settings = load_settings(config_path=config_path)
    assert settings.server == "hosted"
    assert settings.profile.model == "glm-4-air"
    assert settings.servers["local"].model == "glm-4"
    assert "[servers.local]   # the box under my desk" in text


def test_remember_model_on_the_implicit_default_profile(config_path: Path) -> None:
    remember_choice(config_path, model="glm-4-9b")
    settings = load_settings(config_path=config_path, env={})
    assert settings.server == "default"
    assert settings.profile.model == "glm-4-9b"
    assert settings.profile.base_url == "http://127.0.0.1:8000/v1/"


def test_invalid_toml_is_never_overwritten(config_path: Path) -> None:
    broken = "[sampling\ntemperature = 0.5\n"
    config_path.write_text(broken, encoding="utf-8")
    with pytest.raises(ConfigWriteError, match="not valid TOML") as caught:
        save_default_sampling(config_path, SamplingParams())
    assert str(config_path) in str(caught.value)
    assert config_path.read_text(encoding="utf-8") == broken


def test_an_unwritable_location_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the config directory should be", encoding="utf-8")
    with pytest.raises(ConfigWriteError, match="Not a directory"):
        save_default_sampling(blocker / "config.toml", SamplingParams())
