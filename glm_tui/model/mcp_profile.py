"""How to reach one MCP tool server: a command to run (stdio) or a URL (streamable HTTP).

A profile is what ``[mcp_servers.NAME]`` in ``config.toml`` says, checked. Header and env values
may hold ``${VAR}``: they are kept as written here and expanded from glm-tui's environment only
when the server starts (:func:`expand_variables`), so a secret kept in the environment is never
written to the config, a session, a log or an error message.
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
    # added to the few variables a stdio server inherits (HOME, LOGNAME, PATH, SHELL, TERM, USER);
    # values may hold ${VAR} (a secret kept in glm-tui's environment, not in the config file)
    env: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None  # streamable HTTP
    headers: Mapping[str, str] = field(default_factory=dict)  # values may hold ${VAR}
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT  # start + initialize + list tools
    call_timeout: float = DEFAULT_CALL_TIMEOUT  # one tools/call

    @property
    def transport(self) -> McpTransport:
        return McpTransport.HTTP if self.url is not None else McpTransport.STDIO


class MissingVariable(Exception):
    """A header or env value names an environment variable that is not set (names it, never a
    value)."""

    def __init__(self, key: str, variable: str, what: str = "header") -> None:
        self.key = key
        self.variable = variable
        super().__init__(f'the {what} "{key}" needs the environment variable {variable}, '
                         "which is not set")


def header_variables(value: str) -> list[str]:
    """The ``${VAR}`` names a header (or env) value uses, in order."""
    return _VARIABLE_RE.findall(value)


def expand_variables(values: Mapping[str, str], environ: Mapping[str, str], *,
                     what: str = "header") -> dict[str, str]:
    """Header (or env) values with every ``${VAR}`` replaced from ``environ``, only when the
    server starts: the expanded value is never written anywhere.

    Raises :class:`MissingVariable` for the first variable that is not set (an empty value
    counts as set: the person exported it so); ``what`` names the kind of key in its words.
    """
    expanded: dict[str, str] = {}
    for key, value in values.items():
        for variable in header_variables(value):
            if variable not in environ:
                raise MissingVariable(key, variable, what)
        expanded[key] = _VARIABLE_RE.sub(lambda match: environ[match.group(1)], value)
    return expanded
