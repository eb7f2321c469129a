"""The conversation in a light and a dark theme (issue 12 item 13), chosen through config.toml.

Every app style is written with theme variables, so each built-in theme reads well; in
``textual-light`` the message bars used to be near-white on white. The theme is set the way a
person's choice is kept, as ``theme = ...`` in config.toml, so these pictures also show it is
applied at start. Accept new pictures with ``--snapshot-update`` after looking at them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.ui.test_snapshots import (
    HOME,
    _conversation_ready,
    _settle,
    _snap,
    fixed_place,
)

__all__ = ["fixed_place"]  # the fixture, used by name below


@pytest.mark.parametrize("theme", ["textual-light", "textual-dark"])
def test_conversation_in_a_theme(snap_compare: Any, fixed_place: str, theme: str) -> None:
    Path(HOME / "config.toml").write_text(f'theme = "{theme}"\n', encoding="utf-8")

    async def run_before(pilot: Pilot[Any]) -> None:
        await _conversation_ready(pilot)
        assert pilot.app.theme == theme
        await _settle(pilot)

    _snap(snap_compare, fixed_place, (120, 40), run_before)
