"""The tools screen's MCP part: each configured server, its state and its tools.

Opening the tools screen starts every configured server that is not running yet (each in its
own worker, so one slow server does not hold up the others or the screen): its section says
"starting…", then lists its tools, or says in the server's own plain words why it failed (the
session goes on; Enter on the failed server tries again). Enter on a tool enables it for the
session (the screen adds its entry) or switches it off again; the detail pane shows the
highlighted tool's description and input schema.

A running server may change its tools (``notifications/tools/list_changed``): the panel watches
:class:`~glm_tui.tool_servers.servers.ToolServers` and redraws that server's section with its new
list, and tells the screen (:class:`ServerToolsPanel.Listed`, also sent after each first listing)
so the session's entries follow it (:func:`~glm_tui.chat.mcp_tools.follow_server_tools`). A tool
of the session that its server no longer lists stays in the section, marked as no longer offered.

Everything a server sends (tool names, descriptions, schemas, errors) is data: drawn through
:mod:`glm_tui.ui.literal`, never as markup, with control characters made visible.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from glm_tui.chat.mcp_tools import is_withdrawn, mcp_origin
from glm_tui.chat.tools import is_enabled, tool_name
from glm_tui.ui.literal import LiteralStatic, one_line_text, safe_text

if TYPE_CHECKING:
    from glm_tui.tool_servers.servers import ToolServers
    from glm_tui.tool_servers.tools import ServerTool

Entries = Callable[[], list[dict[str, Any]]]

NOT_OFFERED = "no longer offered by the server"
ERROR_ROW_LIMIT = 400
"""Characters of a server's error shown in its row (the detail pane shows it whole)."""


@dataclass
class ServerSection:
    """What the panel knows of one server: starting, its tools, or why it failed."""

    name: str
    tools: list[ServerTool] | None = None  # None until listed
    error: str | None = None

    @property
    def starting(self) -> bool:
        return self.tools is None and self.error is None


def session_entry(entries: list[dict[str, Any]], tool: ServerTool) -> dict[str, Any] | None:
    """The session's entry for ``tool`` (enabled or not), if it has one."""
    for entry in entries:
        if mcp_origin(entry) == (tool.server, tool.name):
            return entry
    return None


def _not_listed(section: ServerSection,
                entries: list[dict[str, Any]]) -> list[tuple[ServerTool, dict[str, Any]]]:
    """The session's tools of this running server that it does not list (any more), each as a
    tool made from the session's entry, so the section can still show it."""
    from glm_tui.tool_servers.tools import ServerTool

    if section.tools is None:
        return []
    listed = {tool.name for tool in section.tools}
    found = []
    for entry in entries:
        origin = mcp_origin(entry)
        if origin is None or origin[0] != section.name or origin[1] in listed:
            continue
        function = entry.get("function") or {}
        found.append((ServerTool(server=section.name, name=origin[1],
                                 description=str(function.get("description") or ""),
                                 input_schema=dict(function.get("parameters") or {})), entry))
    return found


class ServerToolsPanel(Vertical):
    """Every configured MCP server as a section of one list: its state, then its tools."""

    class Toggled(Message):
        """Enter on a tool: enable it for the session, or switch it off."""

        def __init__(self, tool: ServerTool) -> None:
            super().__init__()
            self.tool = tool

    class Listed(Message):
        """A server listed its tools (first, or again after it said they changed): the
        session's entries of that server should follow the list."""

        def __init__(self, server: str, tools: list[ServerTool]) -> None:
            super().__init__()
            self.server = server
            self.tools = tools

    class Showing(Message):
        """The highlighted row changed: the detail pane shows this server or tool."""

        def __init__(self, section: ServerSection, tool: ServerTool | None) -> None:
            super().__init__()
            self.section = section
            self.tool = tool

    def __init__(self, servers: ToolServers, entries: Entries, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.servers = servers
        self._entries = entries
        self.sections = {name: ServerSection(name) for name in servers.names}
        self._rows: list[tuple[ServerSection, ServerTool | None]] = []
        self._gone: set[tuple[str, str]] = set()  # (server, tool) of the session, not listed
        self._unwatch: Callable[[], None] | None = None

    def compose(self) -> ComposeResult:
        yield Label("MCP servers · Enter switches a tool")
        yield OptionList(id="server-tool-list")

    @property
    def listing(self) -> OptionList:
        return self.query_one("#server-tool-list", OptionList)

    def on_mount(self) -> None:
        self.refresh_rows()
        self._unwatch = self.servers.watch(self._tools_changed)
        for name in self.sections:
            self._start(name)

    def on_unmount(self) -> None:
        if self._unwatch is not None:
            self._unwatch()

    def _tools_changed(self, name: str) -> None:
        """Server ``name`` listed its tools again (called on the loop by its holding task)."""
        tools = self.servers.listed(name)
        section = self.sections.get(name)
        if tools is None or section is None or section.starting:
            return  # not running any more, or its first listing is still to come
        section.tools, section.error = tools, None
        self.refresh_rows()
        self.post_message(self.Listed(name, list(tools)))

    def _start(self, name: str) -> None:
        self.sections[name] = ServerSection(name)
        self.refresh_rows()
        self.run_worker(self._list_tools(name), group=f"mcp-start-{name}", exclusive=True,
                        exit_on_error=False)

    async def _list_tools(self, name: str) -> None:
        from glm_tui.tool_servers.errors import ToolServerError

        section = self.sections[name]
        try:
            # Shielded: closing the screen stops waiting, not the server starting.
            tools = await asyncio.shield(self.servers.tools(name))
        except ToolServerError as exc:
            section.error = str(exc) or f"the MCP server {name!r} could not start"
        else:
            section.tools = list(tools)
        if self.sections.get(name) is section:
            self.refresh_rows()
            if section.tools is not None:
                self.post_message(self.Listed(name, list(section.tools)))

    # -- drawing --------------------------------------------------------------------------------

    def refresh_rows(self) -> None:
        """Redraw every section (after a start ended, or the session's tools changed)."""
        entries = self._entries()
        listing = self.listing
        highlighted = listing.highlighted
        self._rows = []
        self._gone = set()
        options: list[Option] = []
        for section in self.sections.values():
            self._rows.append((section, None))
            options.append(Option(self._header(section)))
            for tool in section.tools or []:
                self._rows.append((section, tool))
                options.append(Option(self._tool_row(tool, session_entry(entries, tool))))
            for tool, entry in _not_listed(section, entries):
                self._gone.add((tool.server, tool.name))
                self._rows.append((section, tool))
                options.append(Option(self._tool_row(tool, entry, gone=True)))
        listing.set_options(options)
        if options:
            listing.highlighted = min(highlighted or 0, len(options) - 1)

    @staticmethod
    def _header(section: ServerSection) -> Text:
        text = Text(one_line_text(section.name), style="bold")
        if section.starting:
            text.append("  starting…", style="italic dim")
        elif section.error is not None:
            text.append("  ✗ ", style="bold red")
            text.append(one_line_text(section.error, ERROR_ROW_LIMIT), style="red")
        elif not section.tools:
            text.append("  no tools", style="dim")
        else:
            count = len(section.tools)
            text.append(f"  {count} tool{'s' if count != 1 else ''}", style="dim")
        return text

    @staticmethod
    def _tool_row(tool: ServerTool, entry: dict[str, Any] | None, *, gone: bool = False) -> Text:
        enabled = entry is not None and is_enabled(entry)
        text = Text(f"  {'✗' if gone else '☑' if enabled else '☐'} ")
        text.append(one_line_text(tool.name) or "(unnamed)", style="bold" if enabled else "")
        if entry is not None and tool_name(entry) != tool.name:
            text.append(f" → {one_line_text(tool_name(entry))}", style="dim")
        if gone:
            text.append(f"  {NOT_OFFERED}", style="italic yellow")
            return text
        if tool.description.strip():
            text.append(f"  {one_line_text(tool.description, 80)}", style="dim")
        return text

    # -- keys -----------------------------------------------------------------------------------

    def index_of(self, server: str, tool: str) -> int | None:
        """The row of ``server``'s tool ``tool``, if it is listed."""
        for index, (section, listed) in enumerate(self._rows):
            if section.name == server and listed is not None and listed.name == tool:
                return index
        return None

    def row_at(self, index: int | None) -> tuple[ServerSection, ServerTool | None] | None:
        if index is None or not 0 <= index < len(self._rows):
            return None
        return self._rows[index]

    @on(OptionList.OptionHighlighted, "#server-tool-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        row = self.row_at(event.option_index)
        if row is not None:
            self.post_message(self.Showing(*row))

    @on(OptionList.OptionSelected, "#server-tool-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.toggle_highlighted()

    def toggle_highlighted(self) -> None:
        """Enter (or the enable key): toggle the tool, or try a failed server again."""
        row = self.row_at(self.listing.highlighted)
        if row is None:
            return
        section, tool = row
        if tool is not None and (tool.server, tool.name) in self._gone:
            self.notify(f"{tool.name} is {NOT_OFFERED}: it cannot be switched on until the "
                        "server offers it again.", severity="warning", markup=False)
        elif tool is not None:
            self.post_message(self.Toggled(tool))
        elif section.error is not None:
            self._start(section.name)


class ServerToolDetail(VerticalScroll):
    """The highlighted server or tool in full: description, input schema, or the error."""

    def compose(self) -> ComposeResult:
        yield LiteralStatic("", id="server-tool-text")

    def show(self, section: ServerSection, tool: ServerTool | None,
             entry: dict[str, Any] | None, log_hint: str) -> None:
        self.query_one("#server-tool-text", LiteralStatic).show(
            _tool_words(tool, entry, _gone(section, tool)) if tool is not None
            else _server_words(section, log_hint))
        self.scroll_home(animate=False)


def _gone(section: ServerSection, tool: ServerTool) -> bool:
    """The server runs and does not list ``tool`` (a session's tool it no longer offers)."""
    return section.tools is not None and all(t.name != tool.name for t in section.tools)


def _server_words(section: ServerSection, log_hint: str) -> str:
    if section.starting:
        return f"The MCP server {section.name} is starting…"
    if section.error is not None:
        return (f"{section.error}\n\n{log_hint}\n\n"
                "Enter tries to start it again. The session goes on without its tools.")
    count = len(section.tools or [])
    return f"The MCP server {section.name} is running and offers {count} tool(s)."


def _tool_words(tool: ServerTool, entry: dict[str, Any] | None, gone: bool) -> str:
    lines = [f"{tool.name}  (MCP server {tool.server})"]
    if entry is not None and gone:
        lines.append(f"In this session as {tool_name(entry)}, but {NOT_OFFERED}: it is not "
                     "offered to the model, and a call the model still makes is not run."
                     + (" It is switched back on when the server offers it again."
                        if is_withdrawn(entry) else ""))
    elif entry is None:
        lines.append("Not in this session: Enter enables it.")
    else:
        state = "enabled" if is_enabled(entry) else "disabled"
        lines.append(f"In this session as {tool_name(entry)} ({state}): Enter "
                     f"{'disables' if is_enabled(entry) else 'enables'} it.")
    lines += ["", tool.description.strip() or "(no description)", "", "Input schema:",
              safe_text(json.dumps(tool.input_schema, indent=2, ensure_ascii=False), 20_000)]
    return "\n".join(lines)
