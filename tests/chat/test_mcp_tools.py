"""MCP tools as session entries: names, schemas, and what an import keeps of them."""

from __future__ import annotations

import json
from typing import Any

from glm_tui.chat.mcp_tools import (
    EMPTY_SCHEMA,
    follow_server_tools,
    is_withdrawn,
    mcp_entries,
    mcp_origin,
    server_tool_entry,
)
from glm_tui.chat.tools import (
    WEATHER_TOOL,
    check_tool,
    is_enabled,
    request_tools,
    tool_settings,
    with_settings,
    without_permissions,
)
from glm_tui.tool_servers.tools import ServerTool


def tool(name: str = "get_time", server: str = "time", schema: Any = None,
         description: str = "The time") -> ServerTool:
    return ServerTool(server, name, description,
                      schema if schema is not None else {"type": "object", "properties": {}})


def test_an_entry_is_an_ordinary_function_tool_with_its_origin() -> None:
    schema = {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]}
    entry = server_tool_entry(tool(schema=schema), set())
    assert check_tool(entry) == []
    assert request_tools([entry]) == [{"type": "function", "function": {
        "name": "get_time", "description": "The time", "parameters": schema}}]
    assert mcp_origin(entry) == ("time", "get_time")
    assert tool_settings(entry)["enabled"] is True


def test_a_name_taken_by_another_tool_is_qualified_with_the_server() -> None:
    taken = {"get_time"}
    entry = server_tool_entry(tool(), taken)
    assert entry["function"]["name"] == "time__get_time"
    assert taken == {"get_time", "time__get_time"}
    again = server_tool_entry(tool(), taken)
    assert again["function"]["name"] == "time__get_time_2"


def test_a_name_the_model_api_refuses_is_made_valid() -> None:
    entry = server_tool_entry(tool(name="files.read all", server="fs"), set())
    assert entry["function"]["name"] == "fs__files_read_all"
    long = server_tool_entry(tool(name="x" * 80, server="fs"), set())
    assert len(long["function"]["name"]) == 64
    assert check_tool(long) == []
    assert mcp_origin(long) == ("fs", "x" * 80)


def test_an_odd_or_missing_schema_becomes_an_empty_object_schema() -> None:
    for odd in ({}, {"type": "array"}, {"type": "object", "properties": 3},
                {"type": "object", "required": "tz"}, "nonsense"):
        entry = server_tool_entry(tool(schema=odd), set())
        assert check_tool(entry) == [], odd
    assert server_tool_entry(tool(schema={"type": "array"}), set())["function"][
        "parameters"] == EMPTY_SCHEMA
    assert server_tool_entry(tool(schema={"properties": {"a": {"type": "string"}}}), set())[
        "function"]["parameters"] == {"type": "object", "properties": {"a": {"type": "string"}}}


def test_a_tool_without_a_description_gets_one_naming_its_server() -> None:
    entry = server_tool_entry(tool(description="  "), set())
    assert entry["function"]["description"] == '"get_time" from the MCP server "time"'
    assert check_tool(entry) == []


def test_an_imported_entry_keeps_its_origin_but_loses_always_allow() -> None:
    entry = with_settings(server_tool_entry(tool(), set()), always_allow=True)
    imported = without_permissions(entry)
    assert mcp_origin(imported) == ("time", "get_time")
    assert "always_allow" not in tool_settings(imported)


def test_an_exported_session_imported_again_asks_before_its_mcp_calls() -> None:
    from glm_tui.chat.export import export_json
    from glm_tui.chat.importing import import_json
    from glm_tui.chat.tool_loop import ConfirmServerCall, ToolLoop
    from glm_tui.model.session import Message, MessageStatus, Role, Session, ToolCall

    call = ToolCall("c1", "get_time", "{}")
    session = Session(tools=[with_settings(server_tool_entry(tool(), set()), always_allow=True)],
                      messages=[Message(Role.USER, "time?"),
                                Message(Role.ASSISTANT, "", tool_calls=[call],
                                        status=MessageStatus.COMPLETE)])
    again = import_json(json.dumps(export_json(session)))
    assert mcp_origin(again.tools[0]) == ("time", "get_time")
    assert isinstance(ToolLoop(again).next_step(), ConfirmServerCall)


def test_only_mcp_entries_are_listed_as_such() -> None:
    entry = server_tool_entry(tool(), set())
    broken = with_settings(WEATHER_TOOL, mcp={"server": 3})
    assert mcp_entries([WEATHER_TOOL, entry, broken]) == [entry]
    assert mcp_origin(WEATHER_TOOL) is None


def test_entries_follow_a_server_that_changed_its_tools() -> None:
    echo = ServerTool("s", "echo", "Echo", {"type": "object", "properties": {}})
    off = ServerTool("s", "off", "Off", {"type": "object", "properties": {}})
    other = ServerTool("t", "echo", "Other server's echo", {})
    taken: set[str] = set()
    entries = [server_tool_entry(echo, taken),
               with_settings(server_tool_entry(off, taken), enabled=False),
               server_tool_entry(other, taken)]

    same, changes = follow_server_tools(entries, "s", [echo, off])
    assert same is entries and changes == []  # nothing changed: nothing to store

    dropped, changes = follow_server_tools(entries, "s", [])
    assert [is_enabled(e) for e in dropped] == [False, False, True]
    assert [is_withdrawn(e) for e in dropped] == [True, False, False]  # the person's "off" kept
    assert changes == ["echo is no longer offered by the server (switched off until it is "
                       "offered again)"]
    assert dropped[2] is entries[2]  # another server's tool of the same name: untouched

    louder = ServerTool("s", "echo", "Echo, louder",
                        {"type": "object", "properties": {"loud": {"type": "boolean"}}})
    back, changes = follow_server_tools(dropped, "s", [louder, off])
    assert [is_enabled(e) for e in back] == [True, False, True]
    assert not any(is_withdrawn(e) for e in back)
    assert back[0]["function"] == {"name": "echo", "description": "Echo, louder",
                                   "parameters": louder.input_schema}
    assert len(changes) == 2
