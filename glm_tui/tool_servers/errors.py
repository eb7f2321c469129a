"""The one error a tool server gives: plain words that name the server."""

from __future__ import annotations


class ToolServerError(Exception):
    """Plain words naming the server: 'the MCP server "time" could not start: ...'.

    Everything in the message that came from the server (its stderr, its error text) is data:
    whoever shows it sanitises it.
    """

    def __init__(self, server: str, message: str) -> None:
        self.server = server
        super().__init__(message)
