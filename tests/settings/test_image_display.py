"""``[images] display``: how pictures are drawn, beside the image limits in the same table."""

from __future__ import annotations

from pathlib import Path

import pytest

from glm_tui.settings.config import IMAGE_DISPLAYS, ConfigError, load_settings


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(config_path=path, data_dir=tmp_path / "d", env={})


def test_display_defaults_to_auto_and_takes_each_renderer(tmp_path: Path) -> None:
    assert load_settings(config_path=tmp_path / "none.toml", data_dir=tmp_path / "d",
                         env={}).image_display == "auto"
    for display in IMAGE_DISPLAYS:
        settings = _load(tmp_path, f'[images]\nmax_side = 800\ndisplay = "{display}"\n')
        assert settings.image_display == display  # type: ignore[attr-defined]
        assert settings.images.max_side == 800  # type: ignore[attr-defined]


@pytest.mark.parametrize(("value", "words"), [
    ('"iterm"', "must be one of auto, kitty, sixel, halfcell, text, not 'iterm'"),
    ("3", "must be a string, not"),
])
def test_a_wrong_display_stops_with_the_file_line_and_key(tmp_path: Path, value: str,
                                                          words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, f"[images]\n\ndisplay = {value}\n")
    assert (caught.value.line, caught.value.key) == (3, "images.display")
    assert words in caught.value.message
