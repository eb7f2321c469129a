"""The tools screen: a session's tools, a JSON editor with live checks, tool_choice and the library.

Every change that passes the checks is handed to ``on_change`` at once (the conversation stores it
with the session); a definition with problems stays in the editor with the problems listed and
never reaches a request.

The tools of the configured MCP servers are listed below the session's own
(:mod:`glm_tui.ui.screens.server_tools`): enabling one adds its entry to the session, named as the
server names it unless another tool has that name already (then ``server__tool``).

A handler that came from an imported file is switched off (:func:`without_permissions`): the list
marks it "handler off", the field shows its command with a line saying why it does not run, and
Enter in the field asks, showing the exact program and arguments, before switching it on.
"""

from __future__ import annotations

import copy
import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from glm_tui.chat.mcp_tools import follow_server_tools, mcp_origin, server_tool_entry
from glm_tui.chat.tool_library import ToolLibrary, ToolLibraryError
from glm_tui.chat.tools import (
    TEMPLATES,
    TOOL_CHOICE_MODES,
    check_tool_set,
    handler_is_off,
    handler_of,
    is_enabled,
    parse_tool_text,
    spec_only,
    stored_handler,
    tool_choice_label,
    tool_choice_value,
    tool_name,
    tool_settings,
    with_settings,
)
from glm_tui.ui.dialogs.confirm import ConfirmModal
from glm_tui.ui.dialogs.pick_entry import PickEntryScreen
from glm_tui.ui.literal import literal_line, one_line_text, safe_text
from glm_tui.ui.screens.server_tools import ServerToolDetail, ServerToolsPanel, session_entry
from glm_tui.ui.theme_choice import follow_app_theme

if TYPE_CHECKING:
    from glm_tui.tool_servers.servers import ToolServers

ToolsChanged = Callable[[list[dict[str, Any]], str | dict[str, Any] | None], None]


class ToolsScreen(Screen[None]):
    """Edit the current session's tools; changes apply to the next request."""

    CSS_PATH = Path(__file__).parent.parent / "styles" / "tools.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="tools.close",
                tooltip="Back to the conversation (asks before dropping an edit not applied)"),
        Binding("ctrl+s", "apply", "Apply edit", priority=True, id="tools.apply",
                tooltip="Apply the edited JSON (only when it passes every check)"),
        Binding("ctrl+n", "add_template", "Add from template", id="tools.add_template",
                tooltip="Add a tool from a template"),
        Binding("ctrl+l", "add_from_library", "Add from library", id="tools.add_from_library",
                tooltip="Add a tool from your saved tool library"),
        Binding("ctrl+b", "save_to_library", "Save to library", id="tools.save_to_library",
                tooltip="Save the selected tool to the library (shared by all sessions)"),
        Binding("ctrl+d", "duplicate", "Duplicate", id="tools.duplicate",
                tooltip="Duplicate the selected tool"),
        Binding("ctrl+x", "delete", "Delete", id="tools.delete",
                tooltip="Delete the selected tool (asks first)"),
        Binding("ctrl+e", "toggle_enabled", "Enable/disable", id="tools.toggle_enabled",
                tooltip="Enable or disable the selected tool for this session"),
    ]

    def __init__(
        self,
        tools: list[dict[str, Any]],
        tool_choice: str | dict[str, Any] | None,
        *,
        library: ToolLibrary,
        on_change: ToolsChanged,
        servers: ToolServers | None = None,
    ) -> None:
        """``servers``: the configured MCP servers (None when there are none)."""
        super().__init__()
        self.servers = servers
        self.tools = copy.deepcopy(tools)
        self.tool_choice = tool_choice
        self.library = library
        self._on_change = on_change
        self._selected: int | None = 0 if tools else None
        self._check_timer: Any = None
        self._loaded_text = ""  # what the editor showed before the person typed

    def compose(self) -> ComposeResult:
        yield Static(Text("Tools for this session", style="bold"), id="tools-title")
        with Horizontal(id="tools-body"):
            with Vertical(id="tools-side"):
                yield OptionList(id="tools-list")
                yield Label("tool_choice")
                yield Select[str](
                    [(mode, mode) for mode in TOOL_CHOICE_MODES], id="tool-choice",
                    allow_blank=False, value="auto",
                )
                yield Label("Handler command (run only after you confirm each call)")
                yield Input(placeholder=one_line_text("e.g. /usr/local/bin/weather --json"),
                            id="tool-handler")
                yield Static("", id="tool-handler-state", markup=False)
                if self.servers is not None and self.servers.names:
                    yield ServerToolsPanel(self.servers, lambda: self.tools, id="server-tools")
            with Vertical(id="tools-editor-box"):
                yield TextArea.code_editor("", language="json", id="tool-editor")
                yield Static("", id="tool-problems")
                yield ServerToolDetail(id="server-tool-detail")
        yield Footer()

    def on_mount(self) -> None:
        follow_app_theme(self.query_one("#tool-editor", TextArea))
        self._refresh_list()
        self._refresh_choice()
        self._load_selected()

    # ---- drawing -----------------------------------------------------------------------------

    def _row(self, entry: dict[str, Any]) -> Text:
        mark = "☑" if is_enabled(entry) else "☐"
        text = Text(f"{mark} ")
        text.append(one_line_text(tool_name(entry)) or "(unnamed)",
                    style="bold" if is_enabled(entry) else "dim")
        if entry.get("type") != "function":
            text.append("  built-in", style="italic dim")
        origin = mcp_origin(entry)
        if origin is not None:
            text.append(f"  ⇄ {one_line_text(origin[0], 40)}", style="dim")
        if handler_of(entry):
            text.append("  ⚙ handler", style="dim")
        elif handler_is_off(entry):
            text.append("  ⚙ handler off", style="bold yellow")
        return text

    def _refresh_list(self) -> None:
        listing = self.query_one("#tools-list", OptionList)
        listing.set_options([Option(self._row(entry)) for entry in self.tools])
        if not self.tools:
            listing.add_option(Option(Text("No tools yet: ctrl+n adds one from a template",
                                           style="dim"), disabled=True))
        elif self._selected is not None:
            listing.highlighted = self._selected

    def _refresh_choice(self) -> None:
        names = [tool_name(e) for e in self.tools if e.get("type") == "function" and is_enabled(e)]
        options = [(mode, mode) for mode in TOOL_CHOICE_MODES] + [
            (literal_line(f"only {name}"), name) for name in names
        ]
        select = self.query_one("#tool-choice", Select)
        select.set_options(options)
        current = tool_choice_label(self.tool_choice)
        select.value = current if current in {v for _, v in options} else "auto"

    def _load_selected(self) -> None:
        editor = self.query_one("#tool-editor", TextArea)
        handler_input = self.query_one("#tool-handler", Input)
        if self._selected is None or self._selected >= len(self.tools):
            editor.load_text("")
            self._loaded_text = ""
            handler_input.value = ""
            self._show_handler_state(None)
            self._show_problems([])
            return
        entry = self.tools[self._selected]
        # Visible-safe: a tool from an imported session may hold C1 or bidi controls, which
        # JSON does not escape and the editor would draw as they are.
        self._loaded_text = safe_text(json.dumps(spec_only(entry), indent=2, ensure_ascii=False))
        editor.load_text(self._loaded_text)
        handler = stored_handler(entry)
        handler_input.value = shlex.join(handler) if handler else ""
        self._show_handler_state(entry)
        self._show_problems([])

    def _show_handler_state(self, entry: dict[str, Any] | None) -> None:
        """Say so under the field when the handler shown there is switched off."""
        state = self.query_one("#tool-handler-state", Static)
        state.display = entry is not None and handler_is_off(entry)
        if entry is not None and handler_is_off(entry):
            state.update(Text(
                "⚠ Switched off: this handler came from an imported file and never runs. "
                "Enter in the field shows its exact command and asks before switching it on.",
                style="yellow",
            ))
        else:
            state.update("")

    def _show_problems(self, problems: list[str], ok_text: str = "") -> None:
        label = self.query_one("#tool-problems", Static)
        if problems:
            label.update(Text(safe_text("\n".join(f"✗ {p}" for p in problems), 20_000),
                              style="bold red"))
            label.add_class("-invalid")
        else:
            label.update(Text(ok_text, style="green"))
            label.remove_class("-invalid")

    # ---- changes ------------------------------------------------------------------------------

    def _commit(self, note: str | None = None) -> None:
        """Hand the tools (as they are now) to the session and redraw.

        ``tool_choice`` is sent explicitly as ``"auto"`` once there are tools, as the reference
        client does, so what the request view shows is what the server gets.
        """
        if self.tools and self.tool_choice is None:
            self.tool_choice = "auto"
        self._on_change(copy.deepcopy(self.tools), self.tool_choice)
        self._refresh_list()
        self._refresh_choice()
        for panel in self.query(ServerToolsPanel):
            panel.refresh_rows()
        if note:
            self.notify(note, markup=False)

    @on(OptionList.OptionHighlighted, "#tools-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self.tools and event.option_index != self._selected:
            self._selected = event.option_index
            self._load_selected()

    @on(TextArea.Changed, "#tool-editor")
    def _edited(self) -> None:
        if self._check_timer is not None:
            self._check_timer.stop()
        self._check_timer = self.set_timer(0.15, self._check_editor)

    def _check_editor(self) -> tuple[dict[str, Any] | None, list[str]]:
        text = self.query_one("#tool-editor", TextArea).text
        spec, problems = parse_tool_text(text)
        messages = [str(p) for p in problems]
        if spec is not None:
            others = [e for i, e in enumerate(self.tools) if i != self._selected]
            messages += check_tool_set([*others, spec])
        self._show_problems(messages, "✓ valid: ctrl+s applies it" if text.strip() else "")
        return (spec if not messages else None), messages

    def action_apply(self) -> None:
        spec, problems = self._check_editor()
        if spec is None:
            self.notify("Not applied: " + problems[0], severity="error", markup=False)
            return
        settings = tool_settings(self.tools[self._selected]) if self._selected is not None else {}
        entry = with_settings(spec, **settings)
        if self._selected is None:
            self.tools.append(entry)
            self._selected = len(self.tools) - 1
        else:
            self.tools[self._selected] = entry
        self._loaded_text = self.query_one("#tool-editor", TextArea).text
        self._commit(f"Applied {tool_name(entry)}")

    @on(Input.Submitted, "#tool-handler")
    def _handler_submitted(self, event: Input.Submitted) -> None:
        if self._selected is None:
            return
        try:
            argv = shlex.split(event.value)
        except ValueError as exc:
            self.notify(f"Handler not set: {exc}", severity="error", markup=False)
            return
        entry = self.tools[self._selected]
        if argv and entry.get("type") != "function":
            self.notify("Only function tools can have a handler", severity="error")
            return
        if argv and mcp_origin(entry) is not None:
            self.notify(f"{tool_name(entry)} is run by its MCP server; it takes no handler",
                        severity="error", markup=False)
            return
        if argv and handler_is_off(entry):
            self._confirm_switch_on(self._selected, entry, argv)
            return
        self.tools[self._selected] = with_settings(entry, handler=argv or None, handler_off=None)
        self._commit(f"Handler {'set' if argv else 'removed'} for {tool_name(entry)}")

    def _confirm_switch_on(self, index: int, entry: dict[str, Any], argv: list[str]) -> None:
        """Ask before an imported handler may run, showing each argument exactly (as JSON
        strings: spaces, quotes and control characters cannot hide in them)."""
        shown = [f"  program: {json.dumps(argv[0], ensure_ascii=False)}"] + [
            f"  argument {number}: {json.dumps(arg, ensure_ascii=False)}"
            for number, arg in enumerate(argv[1:], 1)
        ]
        body = (
            f"The tool {tool_name(entry)} came from an imported file, so its handler is off. "
            "Switched on, glm-tui runs exactly this for its calls (each call still asks first):"
            "\n\n" + "\n".join(shown)
        )

        def answered(switch_on: bool | None) -> None:
            if not switch_on or index >= len(self.tools) or self.tools[index] is not entry:
                return
            self.tools[index] = with_settings(entry, handler=argv, handler_off=None)
            self._commit(f"Handler switched on for {tool_name(entry)}")
            if self._selected == index:
                self._show_handler_state(self.tools[index])

        self.app.push_screen(ConfirmModal(
            "Switch this handler on?", body, confirm="Switch on", cancel="Keep it off",
            danger=True,
        ), answered)

    @on(Select.Changed, "#tool-choice")
    def _choice_changed(self, event: Select.Changed) -> None:
        if not isinstance(event.value, str):
            return
        value = tool_choice_value(event.value)
        if value != (self.tool_choice or "auto"):
            self.tool_choice = value
            self._on_change(copy.deepcopy(self.tools), self.tool_choice)

    def _add(self, entry: dict[str, Any] | None) -> None:
        if entry is None:
            return
        problems = check_tool_set([*self.tools, entry])
        if problems:
            # Keep it in the editor so the user can rename it; it is not added half-formed.
            self._selected = None
            self.query_one("#tool-editor", TextArea).load_text(json.dumps(entry, indent=2))
            self._show_problems(problems)
            self.query_one("#tool-editor", TextArea).focus()
            return
        self.tools.append(entry)
        self._selected = len(self.tools) - 1
        self._commit(f"Added {tool_name(entry)}")
        self._load_selected()

    def action_add_template(self) -> None:
        entries = [(label, entry) for label, entry in TEMPLATES.items()]
        self.app.push_screen(PickEntryScreen("Add a tool from a template", entries), self._add)

    def action_add_from_library(self) -> None:
        try:
            saved = self.library.load()
        except ToolLibraryError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        if not saved:
            self.notify("The tool library is empty: ctrl+b saves the selected tool to it.")
            return
        entries = [(tool_name(e), e) for e in saved]
        self.app.push_screen(PickEntryScreen("Add a tool from your library", entries), self._add)

    def action_save_to_library(self) -> None:
        if self._selected is None:
            return
        entry = self.tools[self._selected]
        try:
            self.library.put(entry)
        except ToolLibraryError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.notify(f"Saved {tool_name(entry)} to the library", markup=False)

    def action_duplicate(self) -> None:
        if self._selected is None:
            return
        entry = copy.deepcopy(self.tools[self._selected])
        if entry.get("type") != "function":
            self.notify("A built-in tool can be added only once", severity="warning")
            return
        names = {tool_name(e) for e in self.tools}
        base = tool_name(entry)[:58]
        number = 2
        while f"{base}_{number}" in names:
            number += 1
        entry["function"]["name"] = f"{base}_{number}"
        self._add(entry)

    def action_delete(self) -> None:
        """Ctrl+X: delete the selected tool, once the person said yes (as sessions do)."""
        if self._selected is None:
            return
        index = self._selected
        entry = self.tools[index]

        def answered(delete: bool | None) -> None:
            if not delete or index >= len(self.tools) or self.tools[index] is not entry:
                return
            removed = self.tools.pop(index)
            self._selected = min(index, len(self.tools) - 1) if self.tools else None
            if tool_choice_label(self.tool_choice) == tool_name(removed):
                self.tool_choice = None
            self._commit(f"Deleted {tool_name(removed)}")
            self._load_selected()

        self.app.push_screen(ConfirmModal(
            "Delete this tool?",
            f"Delete the tool {tool_name(entry)} from this session? Its definition and handler "
            "go with it (Ctrl+B saves it to the library first).",
            confirm="Delete", cancel="Keep", danger=True,
        ), answered)

    # ---- MCP servers ---------------------------------------------------------------------------

    @on(ServerToolsPanel.Toggled)
    def _server_tool_toggled(self, event: ServerToolsPanel.Toggled) -> None:
        """Enter on a server's tool: add its entry to the session, or toggle the one it has."""
        entry = session_entry(self.tools, event.tool)
        if entry is not None:
            self._selected = self.tools.index(entry)
            self._toggle_selected()
            return
        entry = server_tool_entry(event.tool, {tool_name(e) for e in self.tools})
        problems = check_tool_set([*self.tools, entry])
        if problems:
            self.notify(f"{event.tool.name} cannot be enabled: {problems[0]}",
                        severity="error", markup=False)
            return
        self.tools.append(entry)
        self._selected = len(self.tools) - 1
        self._commit(f"{tool_name(entry)} enabled (MCP server {event.tool.server})")
        self._load_selected()

    @on(ServerToolsPanel.Listed)
    def _server_listed(self, event: ServerToolsPanel.Listed) -> None:
        """The session's tools of that server follow what it lists now (see the panel)."""
        self.tools, changes = follow_server_tools(self.tools, event.server, event.tools)
        if changes:
            unedited = self.query_one("#tool-editor", TextArea).text.strip() == \
                self._loaded_text.strip()
            self._commit(f"MCP server {event.server}: " + "; ".join(changes))
            if unedited:
                self._load_selected()

    @on(ServerToolsPanel.Showing)
    def _server_row_shown(self, event: ServerToolsPanel.Showing) -> None:
        assert self.servers is not None  # the panel is there only with servers
        log = self.servers.log_path(event.section.name)
        entry = None if event.tool is None else session_entry(self.tools, event.tool)
        self.query_one(ServerToolDetail).show(event.section, event.tool, entry,
                                              f"What the server wrote is in {log}.")

    @on(events.DescendantFocus)
    def _focus_moved(self, event: events.DescendantFocus) -> None:
        """The detail pane takes the editor's place while the server list has the focus."""
        on_servers = event.widget.id == "server-tool-list"
        self.query_one("#tool-editor").display = not on_servers
        self.query_one("#tool-problems").display = not on_servers
        self.query_one(ServerToolDetail).display = on_servers

    def action_toggle_enabled(self) -> None:
        if isinstance(self.focused, OptionList) and self.focused.id == "server-tool-list":
            self.query_one(ServerToolsPanel).toggle_highlighted()
        else:
            self._toggle_selected()

    def _toggle_selected(self) -> None:
        if self._selected is None:
            return
        entry = self.tools[self._selected]
        self.tools[self._selected] = with_settings(entry, enabled=None if not is_enabled(entry)
                                                   else False)
        state = "enabled" if is_enabled(self.tools[self._selected]) else "disabled"
        self._commit(f"{tool_name(entry)} {state}")

    def action_close(self) -> None:
        """Esc: close, but never drop an edit that was not applied without asking."""
        editor_text = self.query_one("#tool-editor", TextArea).text
        if editor_text.strip() == self._loaded_text.strip():
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmModal(
            "Discard your edit?",
            "The tool in the editor was changed but not applied (Ctrl+S applies it when it "
            "passes the checks).",
            confirm="Discard", cancel="Keep editing", danger=True,
        ), answered)
