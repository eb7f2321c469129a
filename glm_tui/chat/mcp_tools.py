"""MCP tools as session tool entries: the request sends them as ordinary function tools.

A session keeps an enabled MCP tool as a plain function entry whose ``glm_tui`` block says where
it lives::

    {"type": "function",
     "function": {"name": SENT_NAME, "description": ..., "parameters": SCHEMA},
     "glm_tui": {"mcp": {"server": "time", "tool": "get_current_time"}, "enabled": true}}

So the store, export, import and the request need nothing new, a resumed session knows which
server a call goes to, and :func:`~glm_tui.chat.tools.without_permissions` drops an imported
entry's "always allow" as for any tool. The name sent to the model is the tool's own when that is
a valid function name not already taken in the session; otherwise it is qualified with the server
(``time__get_current_time``), made valid and unique. The input schema is normalised so the entry
passes :func:`~glm_tui.chat.tools.check_tool` (a server's odd or missing schema becomes an empty
object schema rather than a tool the server would refuse).

A server may change its tools while it runs (:func:`follow_server_tools`): an entry follows its
tool's new description and schema, and an enabled tool the server stopped listing is switched off
and marked ``"withdrawn": true`` in its ``mcp`` block (so it is not offered to the model), until
the server lists it again.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from glm_tui.chat.tools import (
    SETTINGS_KEY,
    TOOL_NAME_RE,
    check_parameters_schema,
    is_enabled,
    tool_name,
    tool_settings,
)
from glm_tui.tool_servers.tools import ServerTool

MCP_KEY = "mcp"
QUALIFIER = "__"
EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
_INVALID_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def server_tool_entry(tool: ServerTool, taken: set[str]) -> dict[str, Any]:
    """The session entry for ``tool``, with a name not in ``taken`` (which gains it)."""
    name = sent_name(tool, taken)
    taken.add(name)
    description = tool.description.strip() or f'"{tool.name}" from the MCP server "{tool.server}"'
    return {
        "type": "function",
        "function": {"name": name, "description": description,
                     "parameters": normalised_schema(tool.input_schema)},
        SETTINGS_KEY: {MCP_KEY: {"server": tool.server, "tool": tool.name}, "enabled": True},
    }


def sent_name(tool: ServerTool, taken: set[str]) -> str:
    """The function name the model sees: the tool's own, else ``server__tool`` made unique."""
    if TOOL_NAME_RE.match(tool.name) and tool.name not in taken:
        return tool.name
    base = _INVALID_NAME_CHARS.sub("_", f"{tool.server}{QUALIFIER}{tool.name}")[:64]
    candidate, number = base, 2
    while candidate in taken:
        suffix = f"_{number}"
        candidate, number = base[: 64 - len(suffix)] + suffix, number + 1
    return candidate


def normalised_schema(schema: Any) -> dict[str, Any]:
    """An object JSON Schema that passes the tool checks (``EMPTY_SCHEMA`` when it cannot)."""
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        return copy.deepcopy(EMPTY_SCHEMA)
    normalised = copy.deepcopy(schema)
    normalised["type"] = "object"
    if not isinstance(normalised.get("properties"), dict):
        normalised["properties"] = {}
    if check_parameters_schema(normalised):
        return copy.deepcopy(EMPTY_SCHEMA)
    return normalised


def mcp_origin(entry: dict[str, Any]) -> tuple[str, str] | None:
    """``(server, tool)`` for an MCP tool entry, ``None`` for any other tool."""
    origin = tool_settings(entry).get(MCP_KEY)
    if not isinstance(origin, dict):
        return None
    server, tool = origin.get("server"), origin.get("tool")
    if isinstance(server, str) and isinstance(tool, str) and server and tool:
        return server, tool
    return None


def mcp_entries(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The session's MCP tool entries (enabled or not), in order."""
    return [entry for entry in entries if mcp_origin(entry) is not None]


WITHDRAWN_KEY = "withdrawn"
"""In an entry's ``mcp`` block: the server stopped listing this tool while it was enabled."""


def is_withdrawn(entry: dict[str, Any]) -> bool:
    """The server no longer offers this (MCP) tool: it stays in the session, switched off."""
    origin = tool_settings(entry).get(MCP_KEY)
    return isinstance(origin, dict) and origin.get(WITHDRAWN_KEY) is True


def follow_server_tools(entries: list[dict[str, Any]], server: str,
                        tools: Iterable[ServerTool]) -> tuple[list[dict[str, Any]], list[str]]:
    """The session's entries brought in line with what ``server`` lists now, and what changed
    (in words; empty when nothing did, and then the entries are the same objects).

    A tool the server still lists takes its new description and schema (the name sent to the
    model stays). An enabled tool it no longer lists is switched off and marked withdrawn, so it
    is not offered to the model, yet kept: when the server lists it again it is switched back on.
    A tool switched off by the person stays off either way.
    """
    listed = {tool.name: tool for tool in tools}
    out: list[dict[str, Any]] = []
    changes: list[str] = []
    for entry in entries:
        origin = mcp_origin(entry)
        if origin is None or origin[0] != server:
            out.append(entry)
            continue
        name = tool_name(entry)
        tool = listed.get(origin[1])
        followed = copy.deepcopy(entry)
        block = followed.setdefault(SETTINGS_KEY, {})
        mcp_block = block[MCP_KEY]
        if tool is None:
            if is_enabled(entry):
                block["enabled"] = False
                mcp_block[WITHDRAWN_KEY] = True
                changes.append(f"{name} is no longer offered by the server (switched off "
                               "until it is offered again)")
        else:
            fresh = server_tool_entry(tool, set())["function"]
            function = followed["function"]
            if (function.get("description"), function.get("parameters")) != (
                    fresh["description"], fresh["parameters"]):
                function["description"] = fresh["description"]
                function["parameters"] = fresh["parameters"]
                changes.append(f"{name} has a new description or input schema")
            if mcp_block.pop(WITHDRAWN_KEY, None) is not None:
                block["enabled"] = True
                changes.append(f"{name} is offered again (switched back on)")
        out.append(followed if followed != entry else entry)
    return (out, changes) if changes else (entries, [])
