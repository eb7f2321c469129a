"""The ``[mcp_servers.NAME]`` tables of config.toml: the MCP tool servers glm-tui may start.

```toml
[mcp_servers.time]                     # stdio: glm-tui runs the command
command = "uvx"
args = ["mcp-server-time", "--local-timezone=Europe/Paris"]
env = { TZ_DEBUG = "1" }               # added to HOME, LOGNAME, PATH, SHELL, TERM, USER

[mcp_servers.search]                   # streamable HTTP
url = "https://mcp.example.com/mcp"
headers = { Authorization = "Bearer ${SEARCH_TOKEN}" }   # expanded at connect time only
call_timeout = 120                     # seconds for one call (default 60)
startup_timeout = 30                   # seconds to start and list tools (default 20)
```

A stdio server inherits only ``HOME``, ``LOGNAME``, ``PATH``, ``SHELL``, ``TERM`` and ``USER``
from glm-tui's environment (the SDK's safe set), plus its ``env``: an ``OPENAI_API_KEY`` exported
for glm-tui never reaches a tool server unless the profile passes it on.

Exactly one of ``command`` and ``url``. A mistake (an unknown key, a wrong type, both or neither,
a name that is not 1-64 of ``A-Z a-z 0-9 _ -``) is the config error every other part of the file
gives: file, line, key. Reading only: writing profiles is :func:`glm_tui.settings.writer.
save_mcp_server`. Light (no ``mcp`` import): the settings are read at every start.
"""

from __future__ import annotations

import math
import re
from typing import Any

from glm_tui.model.mcp_profile import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_STARTUP_TIMEOUT,
    SERVER_NAME_RE,
    McpServerProfile,
    header_variables,
)
from glm_tui.settings.key_locator import toml_type
from glm_tui.settings.keys import Fail

TABLE = "mcp_servers"
KEYS = ("command", "args", "env", "url", "headers", "startup_timeout", "call_timeout")
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP token (RFC 9110)


def parse_mcp_servers(value: Any, fail: Fail) -> dict[str, McpServerProfile]:
    """Every ``[mcp_servers.NAME]`` table, in the file's order, checked."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        fail((TABLE,), f"must be a table of servers, not {toml_type(value)}")
    return {name: _profile(name, table, fail) for name, table in value.items()}


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name an MCP server (it appears in tool names and log file names)."""
    if SERVER_NAME_RE.match(name):
        return None
    if not name:
        return "an MCP server needs a name"
    if len(name) > 64:
        return f"the name is {len(name)} characters; the limit is 64"
    return "a server name may only use letters, digits, _ and - (no spaces or dots)"


def _profile(name: str, table: Any, fail: Fail) -> McpServerProfile:
    def key(k: str) -> tuple[str, ...]:
        return (TABLE, name, k)

    problem = name_problem(name)
    if problem:
        fail((TABLE, name), problem)
    if not isinstance(table, dict):
        fail((TABLE, name), f"must be a table, not {toml_type(table)}")
    for k in table:
        if k not in KEYS:
            fail(key(k), f"unknown MCP server setting; known: {', '.join(KEYS)}")
    if ("command" in table) == ("url" in table):
        fail((TABLE, name), "give either command (a program to run) or url (streamable "
             "HTTP), not " + ("both" if "command" in table else "neither"))
    startup = _seconds(table, key("startup_timeout"), DEFAULT_STARTUP_TIMEOUT, fail)
    call = _seconds(table, key("call_timeout"), DEFAULT_CALL_TIMEOUT, fail)
    if "url" in table:
        for k in ("args", "env"):
            if k in table:
                fail(key(k), f"{k} is for a server started with command, not one at a url")
        url = _string(table, key("url"), fail)
        if not re.match(r"^https?://[^/\s]+", url):
            fail(key("url"), f"'{url}' must be an http:// or https:// URL")
        headers = _strings(table, key("headers"), fail)
        for header, header_value in headers.items():
            if not _HEADER_NAME_RE.match(header):
                fail((*key("headers"), header), "not a valid HTTP header name")
            if "\n" in header_value or "\r" in header_value:
                fail((*key("headers"), header), "a header value cannot span lines")
            if header_value.count("${") != len(header_variables(header_value)):
                fail((*key("headers"), header), "write an environment variable as ${NAME}")
        return McpServerProfile(name=name, url=url, headers=headers, startup_timeout=startup,
                                call_timeout=call)
    if "headers" in table:
        fail(key("headers"), "headers are for a server at a url, not one started with command")
    command = _string(table, key("command"), fail)
    if not command.strip():
        fail(key("command"), "the command cannot be empty")
    args = table.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        fail(key("args"), f"must be an array of strings, not {toml_type(args)}")
    env = _strings(table, key("env"), fail)
    return McpServerProfile(name=name, command=command, args=tuple(args), env=env,
                            startup_timeout=startup, call_timeout=call)


def _string(table: dict[str, Any], key: tuple[str, ...], fail: Fail) -> str:
    value = table[key[-1]]
    if not isinstance(value, str):
        fail(key, f"must be a string, not {toml_type(value)}")
    return value


def _strings(table: dict[str, Any], key: tuple[str, ...], fail: Fail) -> dict[str, str]:
    value = table.get(key[-1], {})
    if not isinstance(value, dict):
        fail(key, f"must be a table of strings, not {toml_type(value)}")
    for name, item in value.items():
        if not isinstance(item, str):
            fail((*key, name), f"must be a string, not {toml_type(item)}")
    return dict(value)


def _seconds(table: dict[str, Any], key: tuple[str, ...], default: float, fail: Fail) -> float:
    value = table.get(key[-1], default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        fail(key, f"must be a number of seconds, not {toml_type(value)}")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        fail(key, f"must be a positive number of seconds, not {value}")
    return number
