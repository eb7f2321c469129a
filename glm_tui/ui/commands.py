"""The command palette's entries for the conversation: every action, by name, with its key.

Built from one table so the palette, the Footer and the README cannot disagree about what exists:
each entry names a :class:`~glm_tui.ui.screens.conversation.ConversationScreen` action, and its key
is read from the screen's own bindings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


@dataclass(frozen=True)
class PaletteCommand:
    action: str  # a ConversationScreen action name (without "action_")
    title: str
    help: str


CONVERSATION_COMMANDS: tuple[PaletteCommand, ...] = (
    PaletteCommand("cancel_reply", "Cancel the reply",
                   "Stop the reply in flight; its text is kept and marked cancelled"),
    PaletteCommand("regenerate", "Regenerate the last reply",
                   "Ask again; the previous answer is replaced"),
    PaletteCommand("edit_last", "Edit the last question",
                   "Put it back in the prompt; Enter resends it and drops what followed"),
    PaletteCommand("copy_message", "Copy the message",
                   "The focused message, or the newest reply, to the clipboard"),
    PaletteCommand("copy_code", "Copy the last code block",
                   "Of the focused message, or of the newest reply"),
    PaletteCommand("system_prompt", "Edit the system prompt",
                   "This session's system prompt, saved at once"),
    PaletteCommand("open_settings", "Sampling settings",
                   "Temperature, top_p, max tokens... applied to the next request"),
    PaletteCommand("open_sessions", "Sessions",
                   "Browse, search, open, rename, export saved sessions"),
    PaletteCommand("new_session", "New session", "Start an empty conversation"),
    PaletteCommand("show_request", "Show the request",
                   "The exact JSON the next send makes, and a curl command"),
    PaletteCommand("open_tools", "Tools",
                   "Define, enable and choose function tools and GLM All Tools for this session"),
    PaletteCommand("toggle_stream", "Streaming on/off",
                   "Stream replies as they are written, or ask for them whole"),
    PaletteCommand("pick_model", "Choose the model", "From the server's /models list"),
    PaletteCommand("switch_server", "Switch server", "Another configured server profile"),
)


class ConversationCommands(Provider):
    """Palette hits for the conversation screen's actions (nothing on other screens)."""

    def _commands(self) -> list[tuple[str, PaletteCommand]]:
        from glm_tui.ui.screens.conversation import ConversationScreen

        screen = self.screen
        if not isinstance(screen, ConversationScreen):
            return []
        keys: dict[str, str] = {}
        for binding_list in screen._bindings.key_to_bindings.values():
            for binding in binding_list:
                keys.setdefault(binding.action, self.app.get_key_display(binding))
        out = []
        for command in CONVERSATION_COMMANDS:
            key = keys.get(command.action)
            title = f"{command.title} ({key})" if key else command.title
            out.append((title, command))
        return out

    async def _run(self, action: str) -> None:
        await self.screen.run_action(action)

    async def discover(self) -> Hits:
        for title, command in self._commands():
            yield DiscoveryHit(title, partial(self._run, command.action), help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, command in self._commands():
            score = matcher.match(f"{title} {command.help}")
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self._run, command.action),
                          text=title, help=command.help)
