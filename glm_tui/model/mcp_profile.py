"""How to reach one MCP tool server: a command to run (stdio) or a URL (streamable HTTP).

A profile is what ``[mcp_servers.NAME]`` in ``config.toml`` says, checked. Header values may hold
``${VAR}``: they are kept as written here and expanded from glm-tui's environment only when the
connection is made (:func:`expand_headers`), so a secret kept in the environment is never written
to the config, a session, a log or an error message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

SERVER_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_STARTUP_TIMEOUT = 20.0
DEFAULT_CALL_TIMEOUT = 60.0
_VARIABLE_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class McpTransport(StrEnum):
    """How glm-tui talks to a server."""

    STDIO = "stdio"  # runs ``command`` and talks over its stdin/stdout
    HTTP = "http"  # streamable HTTP at ``url``


@dataclass(frozen=True)
class McpServerProfile:
    """One configured MCP server (exactly one of ``command`` and ``url`` is set)."""

    name: str
    command: str | None = None  # stdio
    args: tuple[str, ...] = ()
    # added to the few variables a stdio server inherits (HOME, LOGNAME, PATH, SHELL, TERM, USER)
    env: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None  # streamable HTTP
    headers: Mapping[str, str] = field(default_factory=dict)  # values may hold ${VAR}
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT  # start + initialize + list tools
    call_timeout: float = DEFAULT_CALL_TIMEOUT  # one tools/call

    @property
    def transport(self) -> McpTransport:
        return McpTransport.HTTP if self.url is not None else McpTransport.STDIO


class MissingVariable(Exception):
    """A header names an environment variable that is not set (names it, never a value)."""

    def __init__(self, header: str, variable: str) -> None:
        self.header = header
        self.variable = variable
        super().__init__(f'the header "{header}" needs the environment variable {variable}, '
                         "which is not set")


def header_variables(value: str) -> list[str]:
    """The ``${VAR}`` names a header value uses, in order."""
    return _VARIABLE_RE.findall(value)


def expand_headers(headers: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """Header values with every ``${VAR}`` replaced from ``environ``.

    Raises :class:`MissingVariable` for the first variable that is not set (an empty value
    counts as set: the person exported it so).
    """
    expanded: dict[str, str] = {}
    for header, value in headers.items():
        for variable in header_variables(value):
            if variable not in environ:
                raise MissingVariable(header, variable)
        expanded[header] = _VARIABLE_RE.sub(lambda match: environ[match.group(1)], value)
    return expanded
