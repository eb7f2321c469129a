"""The ``[keys]`` table of config.toml is read, with every problem placed (file, line, id)."""

from __future__ import annotations

from pathlib import Path

import pytest

from glm_tui.settings.config import ConfigError, load_settings
from glm_tui.settings.keys import KeyRemap, key_problem


def load(tmp_path: Path, text: str) -> tuple[KeyRemap, ...]:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(config_path=path, env={}).keys


def test_keys_are_read_as_strings_or_lists(tmp_path: Path) -> None:
    remaps = load(tmp_path, '[keys]\n"a.b" = "ctrl+y"\n"c.d" = ["ctrl+n", "f10"]\n'
                            '"e.f" = "question_mark, alt+?"\n')
    assert remaps == (KeyRemap("a.b", "ctrl+y", 2), KeyRemap("c.d", "ctrl+n,f10", 3),
                      KeyRemap("e.f", "question_mark,alt+?", 4))


def test_no_keys_table_means_no_remap(tmp_path: Path) -> None:
    assert load(tmp_path, 'stream = true\n') == ()


@pytest.mark.parametrize("key", ["ctrl+n", "f5", "escape", "pageup", "question_mark", "?", "n",
                                 "shift+tab", "alt+enter", "ctrl+shift+up", "comma", "space"])
def test_textual_key_names_are_accepted(key: str) -> None:
    assert key_problem(key) is None


@pytest.mark.parametrize("key", ["", " f5", "ctrl+nope", "control+r", "f99", "ctrl+", ",", " "])
def test_misspelt_keys_are_refused(key: str) -> None:
    assert key_problem(key) is not None


def test_a_bad_key_names_the_file_the_line_and_the_id(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, 'stream = true\n[keys]\n"conversation.regenerate" = "ctrl+rr"\n')
    error = caught.value
    assert error.line == 3 and error.key == 'keys."conversation.regenerate"'
    assert "not a key name" in str(error) and "config.toml" in str(error)


def test_keys_must_be_a_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a table"):
        load(tmp_path, 'keys = "ctrl+n"\n')
