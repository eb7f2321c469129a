"""For the command-line MCP tests: config files naming the test servers, and stray-process checks.

The test servers themselves are :mod:`tests.support.mcp_servers`. A config written here starts
them with this interpreter, the repository on ``PYTHONPATH`` and a ``marker`` argument the
server ignores: the marker is unique per test, so :func:`processes_with` finds exactly this
test's server processes (and a test can prove none outlived the command).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.mcp_servers import RECORD_ENV, REPO_ROOT


def stdio_table(kind: str, *, marker: str, record: Path | None = None,
                **options: float) -> dict[str, Any]:
    """A ``[mcp_servers.NAME]`` table that runs test server ``kind`` over stdio."""
    env = {"PYTHONPATH": str(REPO_ROOT)}
    if record is not None:
        env[RECORD_ENV] = str(record)
    return {"command": sys.executable,
            "args": ["-m", "tests.support.mcp_servers", kind, f"marker={marker}"],
            "env": env, **options}


def http_table(url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {"url": url, "headers": headers or {}}


def toml_text(servers: dict[str, dict[str, Any]], preamble: str = "") -> str:
    """``[mcp_servers.NAME]`` tables (strings quoted as JSON, which TOML reads alike)."""
    lines = [preamble] if preamble else []
    for name, table in servers.items():
        lines.append(f"[mcp_servers.{name}]")
        for key, value in table.items():
            if isinstance(value, dict):
                pairs = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in value.items())
                lines.append(f"{key} = {{ {pairs} }}")
            else:
                lines.append(f"{key} = {json.dumps(value)}")
        lines.append("")
    return "\n".join(lines)


def processes_with(marker: str) -> list[int]:
    """The ids of running processes whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def run_glm_tui(*args: str, env: dict[str, str] | None = None, stdin: str = "",
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m glm_tui ARGS`` with the test's environment (plus ``env``), output captured."""
    return subprocess.run(
        [sys.executable, "-m", "glm_tui", *args], input=stdin, capture_output=True, text=True,
        encoding="utf-8", timeout=timeout,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})},
    )
