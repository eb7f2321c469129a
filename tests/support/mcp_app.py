"""Driving the app with real MCP servers: config.toml profiles, the F6 path, server processes.

The servers are the small real ones of :mod:`tests.support.mcp_servers`, started by the app over
stdio exactly as a person's ``[mcp_servers.NAME]`` table starts theirs. Whether a server process
runs is read from ``/proc`` (the app's own children whose command line names the test servers),
so a test sees what ``ps`` would show, not what the app believes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import OptionList

from glm_tui.ui.screens.conversation import ConversationScreen
from glm_tui.ui.screens.server_tools import ServerToolsPanel
from glm_tui.ui.screens.tools import ToolsScreen
from tests.support.waiting import wait_for

SERVERS_MODULE = "tests.support.mcp_servers"
REPO_ROOT = Path(__file__).resolve().parents[2]


def server_table(name: str, kind: str = "kit", *, env: dict[str, str] | None = None,
                 **extra: float) -> str:
    """One ``[mcp_servers.NAME]`` table starting test server ``kind`` over stdio."""
    lines = [f"[mcp_servers.{name}]",
             f"command = {json.dumps(sys.executable)}",
             f"args = {json.dumps(['-m', SERVERS_MODULE, kind])}"]
    lines += [f"{key} = {value}" for key, value in extra.items()]
    merged = {"PYTHONPATH": str(REPO_ROOT), **(env or {})}
    lines.append("[mcp_servers." + name + ".env]")
    lines += [f"{key} = {json.dumps(value)}" for key, value in merged.items()]
    return "\n".join(lines) + "\n"


def write_servers(config_path: Path, *tables: str) -> None:
    """config.toml holding only these MCP server tables (the demo server is the active one)."""
    config_path.write_text("\n".join(tables), encoding="utf-8")


def server_processes() -> list[int]:
    """Process ids of this process's children that run a test MCP server."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == me and SERVERS_MODULE.encode() in cmdline:
            found.append(int(entry.name))
    return found


async def open_tools(pilot: Pilot[Any]) -> ToolsScreen:
    await pilot.press("f6")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ToolsScreen), what="F6")
    screen = pilot.app.screen
    assert isinstance(screen, ToolsScreen)
    return screen


def panel(pilot: Pilot[Any]) -> ServerToolsPanel:
    return pilot.app.screen.query_one(ServerToolsPanel)


async def wait_listed(pilot: Pilot[Any], server: str) -> ServerToolsPanel:
    """Wait until ``server``'s section on the tools screen is no longer starting."""
    await wait_for(pilot, lambda: not panel(pilot).sections[server].starting,
                   what=f"the MCP server {server} to start or fail")
    return panel(pilot)


async def toggle_server_tool(pilot: Pilot[Any], server: str, tool: str) -> None:
    """On the tools screen: the server list focused, the tool's row highlighted, Enter."""
    found = await wait_listed(pilot, server)
    listing = found.query_one("#server-tool-list", OptionList)
    listing.focus()
    index = found.index_of(server, tool)
    assert index is not None, f"{server}/{tool} is not listed"
    listing.highlighted = index
    await pilot.press("enter")


async def enable_server_tools(pilot: Pilot[Any], server: str, *tools: str) -> None:
    """F6, Enter on each tool of ``server``, Esc: back in the conversation."""
    screen = await open_tools(pilot)
    for tool in tools:
        count = len(screen.tools)
        await toggle_server_tool(pilot, server, tool)
        await wait_for(pilot, lambda count=count: len(screen.tools) > count,  # type: ignore[misc]
                       what=f"{tool} added to the session")
    await pilot.press("escape")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConversationScreen),
                   what="back to the conversation")
