"""The ``[images]`` table: how attached pictures are normalised, checked like every other key."""

from __future__ import annotations

from pathlib import Path

import pytest

from glm_tui.chat.image_prep import ImageLimits
from glm_tui.settings.config import ConfigError, load_settings


def test_defaults_without_the_table(tmp_path: Path) -> None:
    settings = load_settings(config_path=tmp_path / "none.toml", env={})
    assert settings.images == ImageLimits() == ImageLimits(1120, 1024 * 1024)


def test_the_table_sets_both_limits(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[images]\nmax_side = 2048\nmax_bytes = 3_000_000\n", encoding="utf-8")
    assert load_settings(config_path=cfg, env={}).images == ImageLimits(2048, 3_000_000)
    cfg.write_text("[images]\nmax_side = 800\n", encoding="utf-8")
    assert load_settings(config_path=cfg, env={}).images == ImageLimits(800, 1024 * 1024)


@pytest.mark.parametrize(("text", "line", "key", "words"), [
    ("[images]\nmax_side = 20\n", 2, "images.max_side",
     "must be between 64 and 8192 pixels, not 20"),
    ("[images]\nmax_side = 1120.5\n", 2, "images.max_side",
     "must be a whole number of pixels, not the number 1120.5"),
    ("[images]\nmax_bytes = \"1 MB\"\n", 2, "images.max_bytes",
     "must be a whole number of bytes, not the string '1 MB'"),
    ("[images]\nmax_bytes = 100\n", 2, "images.max_bytes",
     "must be between 16384 and 52428800 bytes, not 100"),
    ("[images]\nmax_side = true\n", 2, "images.max_side",
     "must be a whole number of pixels, not true/false"),
    ("\n[images]\nquality = 80\n", 3, "images.quality",
     "unknown image setting; known: max_side, max_bytes, display"),
    ("images = 5\n", 1, "images", "must be a table, not the integer 5"),
], ids=["side-small", "side-float", "bytes-string", "bytes-small", "side-bool", "unknown",
        "not-a-table"])
def test_bad_values_stop_with_the_file_line_and_key(tmp_path: Path, text: str, line: int,
                                                     key: str, words: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=cfg, env={})
    assert (caught.value.line, caught.value.key) == (line, key)
    assert str(caught.value) == f"{cfg}, line {line}, key {key}: {words}"
