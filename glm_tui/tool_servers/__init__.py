"""MCP tool servers: start them on first use, list their tools, call them, stop them.

The middle layer beside client/storage/settings: it imports only ``glm_tui.model``, the standard
library and the ``mcp`` SDK, and nothing in it imports Textual. The SDK (with pydantic, httpx2,
starlette...) is heavy, so it is imported only inside the functions that talk to a server:
importing :mod:`glm_tui.tool_servers.servers` costs nothing at start-up.
"""
