"""``glm-tui mcp import FILE`` and ``glm-tui mcp list``: MCP tool servers from the command line.

``import`` turns another client's server list into ``[mcp_servers.NAME]`` tables (what can be
imported is decided in :mod:`glm_tui.cli.mcp_import`, written by
:func:`glm_tui.settings.writer.save_mcp_servers`). ``list`` starts every configured server at
once, each within its own startup timeout, prints what it offers and stops them all.

What a person reads goes through :mod:`glm_tui.cli.output`: a server's name, command, tool names
and descriptions and error words all come from outside, and on a terminal they are made
visible-safe. Secret-looking values are never printed: env and header values stay in the config
file, only their names are shown. The ``mcp`` SDK is imported only by ``list`` (through
:mod:`glm_tui.tool_servers`), never when the command line is built.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from glm_tui.cli.mcp_args import EXIT_SERVER_FAILED, EXIT_SOME_LEFT_OUT
from glm_tui.cli.output import emit, error, quiet_on_broken_pipe

if TYPE_CHECKING:
    from glm_tui.cli.mcp_import import SkippedServer
    from glm_tui.model.mcp_profile import McpServerProfile
    from glm_tui.tool_servers.tools import ServerTool

EXIT_OK = 0
EXIT_USAGE = 2
DESCRIPTION_WIDTH = 100
"""A tool's description in ``mcp list`` is its first line, cut to this many characters."""


def run_mcp(args: argparse.Namespace) -> int:
    """Run ``mcp import`` or ``mcp list``; returns the exit status."""
    if args.mcp_command == "import":
        return quiet_on_broken_pipe(lambda: import_servers(args))
    return quiet_on_broken_pipe(lambda: list_servers(args))


def import_servers(args: argparse.Namespace) -> int:
    """Write the servers of ``args.file`` into the config file; see ``mcp import --help``."""
    from glm_tui.cli.mcp_import import ImportFileError, read_client_config
    from glm_tui.settings.config import display_path, resolve_config_path
    from glm_tui.settings.writer import ConfigWriteError, save_mcp_servers

    try:
        plan = read_client_config(args.file)
    except ImportFileError as exc:
        error(f"error: {exc}")
        return EXIT_USAGE
    in_file = [server.source_name for server in plan.servers] + [
        skipped.source_name for skipped in plan.skipped]
    unknown = [name for name in args.names if name not in in_file]
    if unknown:
        error(f"error: {args.file} has no server named {', '.join(unknown)}; it has: "
              f"{', '.join(in_file) or 'none'}")
        return EXIT_USAGE
    wanted = set(args.names or in_file)
    servers = [server for server in plan.servers if server.source_name in wanted]
    skipped = [entry for entry in plan.skipped if entry.source_name in wanted]
    if not servers:
        if not skipped:
            emit(f"{args.file} lists no MCP servers; nothing was written")
            return EXIT_OK
        _say_skipped(skipped)
        error("nothing was written")
        return EXIT_SOME_LEFT_OUT
    config_path = resolve_config_path(args.config)
    taken = [s.profile.name for s in servers if s.profile.name in _configured(config_path)]
    if taken and not args.replace:
        error(f"error: {display_path(config_path)} already has "
              f"{', '.join(f'[mcp_servers.{name}]' for name in taken)}: --replace replaces "
              f"{'them' if len(taken) > 1 else 'it'}, or name the servers to import (glm-tui "
              "mcp import FILE NAME ...); nothing was written")
        return EXIT_USAGE
    try:
        save_mcp_servers(config_path, [server.profile for server in servers],
                         replace=args.replace)
    except ConfigWriteError as exc:
        error(f"error: {exc}")
        return EXIT_USAGE
    for server in servers:
        emit(f"imported {server.profile.name}: {describe_profile(server.profile)}")
        for note in server.notes:
            error(f"{server.profile.name}: {note}")
    _say_skipped(skipped)
    count = len(servers)
    emit(f"{count} server{'s' if count > 1 else ''} written to {display_path(config_path)}; "
         "'glm-tui mcp list' starts them and shows their tools")
    return EXIT_SOME_LEFT_OUT if skipped else EXIT_OK


def _say_skipped(skipped: Sequence[SkippedServer]) -> None:
    for entry in skipped:
        error(f"not imported: {entry.source_name}: {entry.reason}")


def _configured(config_path: Path) -> set[str]:
    """The MCP server names the config file has (none when it cannot be read: the writer then
    says why)."""
    import tomllib

    try:
        servers = tomllib.loads(config_path.read_text(encoding="utf-8")).get("mcp_servers")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return set()
    return set(servers) if isinstance(servers, dict) else set()


def describe_profile(profile: McpServerProfile) -> str:
    """How a server runs, in one line; env and header values are left out (they may be secrets)."""
    if profile.command is not None:
        line = shlex.join([profile.command, *profile.args])
        extra = _names("env", profile.env)
    else:
        line = str(profile.url)
        extra = _names("headers", profile.headers)
    return f"{line} ({extra})" if extra else line


def _names(what: str, values: Mapping[str, str]) -> str:
    return f"{what}: {', '.join(values)}" if values else ""


def list_servers(args: argparse.Namespace) -> int:
    """Start the configured servers, print each one's state and tools; see ``mcp list --help``."""
    import asyncio

    from glm_tui.cli.ask import settings_from_args
    from glm_tui.settings.config import display_path

    settings = settings_from_args(args)
    if settings is None:
        return EXIT_USAGE
    configured = settings.mcp_servers
    unknown = [name for name in args.names if name not in configured]
    if unknown:
        error(f"error: no MCP server named {', '.join(unknown)} in "
              f"{display_path(settings.config_path)}; configured: "
              f"{', '.join(configured) or 'none'}")
        return EXIT_USAGE
    if not configured:
        emit(f"No MCP servers are configured in {display_path(settings.config_path)}: add "
             "[mcp_servers.NAME] tables, or 'glm-tui mcp import FILE' another client's list.")
        return EXIT_OK
    names = list(args.names) or list(configured)
    profiles = {name: configured[name] for name in names}
    results = asyncio.run(_start_all(profiles, settings.data_dir / "logs"))
    failed = 0
    for name in names:
        outcome, log = results[name]
        if isinstance(outcome, str):
            failed += 1
            emit(f"{name}: failed: {outcome}")
            emit(f"  its log: {display_path(log)}")
            continue
        count = len(outcome)
        emit(f"{name}: ready, {count} tool{'' if count == 1 else 's'}")
        _print_tools(outcome)
    if failed:
        error(f"{failed} of {len(names)} server{'s' if len(names) > 1 else ''} failed")
        return EXIT_SERVER_FAILED
    return EXIT_OK


def _print_tools(tools: Sequence[ServerTool]) -> None:
    width = max((len(tool.name) for tool in tools), default=0)
    for tool in tools:
        emit(f"  {tool.name.ljust(min(width, 40))}  {first_line(tool.description)}".rstrip())


def first_line(text: str) -> str:
    """The first non-blank line of ``text``, cut to :data:`DESCRIPTION_WIDTH` characters."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= DESCRIPTION_WIDTH else line[: DESCRIPTION_WIDTH - 1] + "…"


async def _start_all(
    profiles: Mapping[str, McpServerProfile], log_dir: Path,
) -> dict[str, tuple[list[ServerTool] | str, Path]]:
    """Each server's tools, or its failure in words, and its log file; every server is stopped
    before returning."""
    import asyncio

    from glm_tui.tool_servers.errors import ToolServerError
    from glm_tui.tool_servers.servers import ToolServers

    servers = ToolServers(profiles, log_dir)

    async def one(name: str) -> tuple[list[ServerTool] | str, Path]:
        try:
            return await servers.tools(name), servers.log_path(name)
        except ToolServerError as exc:
            return str(exc), servers.log_path(name)

    try:
        found = await asyncio.gather(*(one(name) for name in profiles))
    finally:
        await servers.stop_all()
    return dict(zip(profiles, found, strict=True))
