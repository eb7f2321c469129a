"""MCP costs nothing until it is used: importing glm-tui's MCP code loads no SDK."""

from __future__ import annotations

import subprocess
import sys

MODULES = (
    "glm_tui.tool_servers.servers", "glm_tui.tool_servers.connection",
    "glm_tui.tool_servers.results", "glm_tui.chat.mcp_tools", "glm_tui.chat.tool_loop",
    "glm_tui.chat.result_images", "glm_tui.settings.config", "glm_tui.settings.mcp_servers",
)


def test_importing_the_mcp_code_and_reading_settings_loads_no_sdk() -> None:
    code = (
        "import importlib, sys\n"
        f"for m in {MODULES!r}: importlib.import_module(m)\n"
        "from glm_tui.settings.config import load_settings\n"
        "load_settings()\n"
        "heavy = ('mcp', 'mcp_types', 'pydantic', 'starlette', 'uvicorn', 'httpx2', 'anyio')\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
