"""The export formats and their file endings: what ``--format`` offers, without the exporter.

Kept apart from :mod:`glm_tui.chat.export` so that building the command line (``--help``, and
every start of the app) does not import the exporter and, through it, the store and images.
"""

from __future__ import annotations

from typing import Literal

ExportFormat = Literal["json", "markdown"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("json", "markdown")
FILE_SUFFIXES: dict[ExportFormat, str] = {"json": ".json", "markdown": ".md"}
"""The file name ending that goes with each format."""
