"""The library of saved tools, reusable across sessions: one JSON file in the data directory.

A plain file (not a table in the sessions database) because people copy tool definitions between
machines and edit them by hand; it is written with :func:`~glm_tui.storage.files.atomic_write`
so a crash never leaves half a library, and a damaged file is reported, never overwritten.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from glm_tui.chat.tools import check_tool, tool_name
from glm_tui.storage.files import atomic_write

LIBRARY_FILE = "tool_library.json"


class ToolLibraryError(Exception):
    """The library file cannot be read or written; the message names the file."""


class ToolLibrary:
    """Saved tool entries keyed by name, in the order they were added."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LIBRARY_FILE

    def load(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ToolLibraryError(f"the tool library {self.path} cannot be read: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("tools"), list):
            raise ToolLibraryError(f"the tool library {self.path} is not a glm-tui tool library")
        entries = data["tools"]
        return [entry for entry in entries if isinstance(entry, dict) and not check_tool(entry)]

    def save(self, entries: list[dict[str, Any]]) -> None:
        body = json.dumps({"version": 1, "tools": entries}, indent=2, ensure_ascii=False)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, body)
        except OSError as exc:
            raise ToolLibraryError(
                f"the tool library {self.path} cannot be written: {exc.strerror or exc}"
            ) from exc

    def put(self, entry: dict[str, Any]) -> None:
        """Add a tool, replacing a saved one of the same name."""
        name = tool_name(entry)
        entries = [e for e in self.load() if tool_name(e) != name]
        entries.append(entry)
        self.save(entries)

    def remove(self, name: str) -> None:
        self.save([e for e in self.load() if tool_name(e) != name])
