"""Outside text on screen: the one way a title, label, border title or placeholder is made.

Text that came from a model, a server, a file or the person (a tool name, a session title, a model
id, a profile name, an error body) is data. Put on screen raw, two things go wrong: Textual parses
a plain ``str`` as markup (``[/]`` raises, ``[@click=app.quit]`` becomes a live action), and control
characters pass through the renderer to the terminal (``ESC ] 52`` writes the clipboard, ``ESC ] 2``
retitles the window). These helpers take ``str`` and return :class:`~textual.content.Content` built
from :func:`~glm_tui.model.text.sanitize_for_display`, so the safe form is also the only form: a
dialog or widget that takes outside text takes a ``str`` and calls one of them itself, and there is
nothing to remember at the call site.

One-line places (titles, border titles, placeholders, list rows) fold whitespace and are cut to a
bounded length: a 1 MB tool name must not make a dialog title take a second to lay out.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Label, Static

from glm_tui.model.text import sanitize_for_display

LINE_LIMIT = 200
"""Characters kept of outside text shown on one line (a title, a border title, a placeholder)."""

BLOCK_LIMIT = 20_000
"""Characters kept of outside text shown as a block in a dialog (a command, arguments, a URL)."""


def safe_text(text: str, limit: int | None = None) -> str:
    """``text`` with every terminal-active character made visible, cut to ``limit`` characters.

    For places that need a ``str`` (a toast, an Input's value); everything drawn as a widget's
    content uses :func:`literal` or :func:`literal_line` instead.
    """
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return sanitize_for_display(text)


def one_line_text(text: str, limit: int = LINE_LIMIT) -> str:
    """Outside text for one row: made visible-safe, whitespace folded, cut to ``limit``."""
    # Cut before folding too: folding a 1 MB line costs more than the row can ever show.
    return safe_text(" ".join(text[: limit * 4].split()), limit)


def literal(text: str, limit: int | None = BLOCK_LIMIT) -> Content:
    """Outside text as inert content: never markup, no escape sequence, bounded in length."""
    return Content(safe_text(text, limit))


def literal_line(text: str, limit: int = LINE_LIMIT) -> Content:
    """Outside text as one inert line (a title, a border title, a placeholder, a list row)."""
    return Content(one_line_text(text, limit))


class LiteralLabel(Label):
    """A label whose text is always shown literally (one line by default)."""

    def __init__(self, text: str, *, one_line: bool = True, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(literal_line(text) if one_line else literal(text), id=id,
                         classes=classes)


class LiteralStatic(Static):
    """A block of text always shown literally; :meth:`show` replaces it the same way."""

    def __init__(self, text: str = "", *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(literal(text), id=id, classes=classes)

    def show(self, text: str) -> None:
        """Replace the text (sanitised, never markup)."""
        self.update(literal(text))
