"""The arguments of ``glm-tui mcp import|list``, apart from the commands.

Building the command line happens at every start, so this module imports only ``argparse``: the
commands (:mod:`glm_tui.cli.mcp`) and through them the ``mcp`` SDK, pydantic and the tool
server runtime load only when ``glm-tui mcp ...`` runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXIT_SOME_LEFT_OUT = 1
"""``mcp import``: some entries were not imported (each is named with the reason)."""
EXIT_SERVER_FAILED = 1
"""``mcp list``: at least one server did not start or list its tools."""


def add_mcp_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add ``mcp`` with its two commands."""
    parser = subparsers.add_parser(
        "mcp",
        parents=parents,
        help="MCP tool servers: import other clients' servers, list them with their tools",
        description="MCP (Model Context Protocol) tool servers configured as [mcp_servers.NAME] "
        "in config.toml.",
    )
    commands = parser.add_subparsers(dest="mcp_command", metavar="COMMAND", required=True)
    imports = commands.add_parser(
        "import",
        parents=parents,
        help="add the servers of another client's mcpServers JSON to config.toml",
        description="Read the server list of Claude Desktop, Cursor, Claude Code, Windsurf "
        "(\"mcpServers\") or VS Code (\"servers\") and write each server as "
        "[mcp_servers.NAME] in config.toml, keeping the rest of the file and its comments. "
        "Values are written as they are in the file (env values too; a ${VAR} or ${env:VAR} in "
        "a header stays a reference, read from the environment when the server is used). "
        "Entries glm-tui cannot run as intended (the SSE transport, a working directory, a "
        "value VS Code prompts for) are named on stderr with the reason and not written. "
        "Exit status: 0 all imported, 1 some left out (the others were written), 2 nothing "
        "written: the file is unreadable or not JSON (line and column given), a name is "
        "already configured (without --replace), or the config file cannot be updated.",
    )
    imports.add_argument("file", metavar="FILE", type=Path,
                         help="the JSON file (claude_desktop_config.json, .cursor/mcp.json, "
                         ".mcp.json, .vscode/mcp.json, ...)")
    imports.add_argument("names", metavar="NAME", nargs="*",
                         help="import only these servers (default: all of them)")
    imports.add_argument("--replace", action="store_true",
                         help="replace servers already configured under the same name "
                         "(without it, a name already in config.toml stops the import)")
    listing = commands.add_parser(
        "list",
        parents=parents,
        help="start each configured server and show its tools",
        description="Start each configured MCP server (in parallel, each within its "
        "startup_timeout), print whether it started and its tools (name and the first line "
        "of the description), then stop them. A server's stderr goes to "
        "<data dir>/logs/mcp-NAME.log. Exit status: 0 when every server listed its tools, 1 "
        "when any did not start or failed (its error is printed under its name), 2 for a "
        "usage or config error.",
    )
    listing.add_argument("names", metavar="NAME", nargs="*",
                         help="list only these servers (default: all configured)")
    return parser
