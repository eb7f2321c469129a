"""The command palette: the current screen's active key bindings, by name, with their keys.

Built from the screen's active bindings (``Screen.active_bindings``, public Textual API), so the
palette, the Footer and the README (generated from the same ``BINDINGS``, see
:mod:`glm_tui.ui.keymap`) cannot disagree about what exists, and a key remapped in ``[keys]``
shows its new key here too. Only glm-tui's own bindings are listed (those with an ``id`` and a
``tooltip``; the tooltip is the help line), and only those the screen allows right now.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode


@dataclass(frozen=True)
class PaletteEntry:
    title: str  # the binding's description and its key, e.g. "Regenerate (^r)"
    help: str  # the binding's tooltip
    binding: Binding
    node: DOMNode  # where the binding is declared: its action runs there


class BindingCommands(Provider):
    """Palette hits for every active, documented binding of the screen the palette was opened on."""

    def entries(self) -> Iterator[PaletteEntry]:
        seen: set[str] = set()
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not (binding.id and binding.tooltip and active.enabled) or binding.id in seen:
                continue
            seen.add(binding.id)
            key = self.app.get_key_display(binding)
            yield PaletteEntry(f"{binding.description} ({key})", binding.tooltip, binding,
                               active.node)

    async def _run(self, entry: PaletteEntry) -> None:
        await self.app.run_action(entry.binding.action, entry.node)

    async def discover(self) -> Hits:
        for entry in self.entries():
            yield DiscoveryHit(entry.title, partial(self._run, entry), help=entry.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in self.entries():
            score = matcher.match(f"{entry.title} {entry.help}")
            if score > 0:
                yield Hit(score, matcher.highlight(entry.title), partial(self._run, entry),
                          text=entry.title, help=entry.help)
