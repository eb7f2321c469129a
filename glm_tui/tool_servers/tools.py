"""One tool as its server lists it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ServerTool:
    """A tool of a running server, as listed (description and schema kept as data)."""

    server: str
    name: str  # the tool's own name on its server
    description: str
    input_schema: dict[str, Any]
