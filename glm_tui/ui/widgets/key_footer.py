"""A compact Footer that leaves out its least important keys when the screen is narrow.

Textual's Footer puts every shown key in one row and cuts off what does not fit; at 80 columns
that was Sessions, Request and Quit, the keys a new user looks for. This Footer is given the
order in which its keys may go (the least important first) and hides keys in that order until
the rest fits beside the command palette key, again at every resize and every time the Footer is
rebuilt (the focus moved, a binding changed). Keys not in that order are never hidden.

Every hidden key is still in the command palette (Ctrl+P) and in the README's key tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer

PALETTE_BORDER = 1
"""The palette key's left border (``▏``), a cell wide."""


def key_width(key: Widget) -> int:
    """Cells one compact Footer key takes: key, space, description, and its right margin (the
    palette key: its border instead). Reads the attributes Textual's ``FooterKey`` is built with
    (the class itself is not public)."""
    shown = cell_len(str(getattr(key, "key_display", ""))) + 1
    shown += cell_len(str(getattr(key, "description", "")))
    return shown + (PALETTE_BORDER if key.has_class("-command-palette") else 1)


def keys_to_hide(keys: Iterable[Widget], width: int, drop_order: Sequence[str]) -> set[Widget]:
    """The keys to leave out so the rest fits in ``width`` cells, least important first."""
    keys = list(keys)
    needed = sum(key_width(key) for key in keys)
    hidden: set[Widget] = set()
    for action in drop_order:
        if needed <= width:
            break
        for key in keys:
            if getattr(key, "action", None) == action and key not in hidden:
                hidden.add(key)
                needed -= key_width(key)
    return hidden


class FittingFooter(Footer):
    """The compact Footer, fitted to the screen's width (see the module docstring)."""

    def __init__(self, drop_order: Sequence[str]) -> None:
        """``drop_order``: binding actions, the first one hidden first."""
        super().__init__(compact=True)
        self.drop_order = tuple(drop_order)

    def compose(self) -> ComposeResult:
        yield from super().compose()
        self.call_after_refresh(self.fit)

    def on_resize(self) -> None:
        self.fit()

    def fit(self) -> None:
        """Show every key that fits, hiding keys in ``drop_order`` until the rest does."""
        width = self.size.width
        if not width:
            return
        keys = list(self.query("FooterKey"))
        hidden = keys_to_hide(keys, width, self.drop_order)
        for key in keys:
            key.display = key not in hidden
