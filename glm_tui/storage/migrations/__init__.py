"""Numbered schema migrations, one module per schema version (the shape of oterm's upgrades).

Module ``vNNNN_<what>.py`` holds ``VERSION = NNNN`` and ``SQL``, the script that turns a version
``NNNN - 1`` database into version ``NNNN``. Adding a version means adding one module here and one
line to :data:`MIGRATIONS`; a test checks the versions run 1, 2, 3 ... without gaps.
"""

from __future__ import annotations

from types import ModuleType

from glm_tui.storage.migrations import (
    v0001_initial,
    v0002_usage_timings_search,
    v0003_reasoning,
    v0004_drafts,
    v0005_alternatives,
    v0006_index_finished_replies,
)

_MODULES: tuple[ModuleType, ...] = (v0001_initial, v0002_usage_timings_search, v0003_reasoning,
                                    v0004_drafts, v0005_alternatives, v0006_index_finished_replies)

MIGRATIONS: dict[int, str] = {int(module.VERSION): str(module.SQL) for module in _MODULES}
"""Step ``n`` (its SQL script) turns a version ``n-1`` database into version ``n``."""
