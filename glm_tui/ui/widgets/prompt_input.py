"""The multi-line prompt: Enter sends, Ctrl+J or Shift+Enter starts a new line.

A :class:`~textual.widgets.TextArea` inserts a newline on Enter; a chat prompt sends instead. Most
terminals (and tmux) cannot tell Shift+Enter from Enter, so Ctrl+J, which every terminal sends as
a line feed, is the newline key that always works. Up in an empty prompt asks to edit the last
question, the way shells recall history. Pasted text that names one picture file (a file dragged
onto the terminal arrives as its path) is handed to the screen as :class:`ImagePathPasted`
instead of being typed in.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea

from glm_tui.chat.image_prep import dropped_image_path

NEWLINE_KEYS = frozenset({"ctrl+j", "shift+enter", "alt+enter"})
SCREEN_KEYS = frozenset({"f6", "f7", "pageup", "pagedown"})
"""Keys TextArea binds that the conversation screen uses instead."""


class PromptInput(TextArea, inherit_bindings=False):
    """Where the user types; posts :class:`Submitted` on Enter and never clears itself.

    The screen clears the prompt only once the question is safely in the session, so a request
    that cannot be sent never loses what was typed.
    """

    # TextArea binds F6/F7 to "select line/all" and PageUp/PageDown to move the cursor a page;
    # in the prompt those keys belong to the screen (tools, streaming, scrolling the
    # conversation), and a hidden binding here would also hide F6/F7 from the Footer.
    BINDINGS: ClassVar[list[BindingType]] = [
        *(b for b in TextArea.BINDINGS
          if not (isinstance(b, Binding) and b.key in SCREEN_KEYS)),
        # Not in the Footer (the placeholder says both); the keys are handled in _on_key.
        Binding("enter", "submit", "Send", show=False),
        Binding("ctrl+j", "newline", "Newline", show=False),
    ]

    class Submitted(Message):
        """The user pressed Enter; ``text`` is the prompt exactly as typed."""

        def __init__(self, prompt: PromptInput, text: str) -> None:
            super().__init__()
            self.prompt = prompt
            self.text = text

        @property
        def control(self) -> PromptInput:
            return self.prompt

    class EditLastRequested(Message):
        """Up was pressed in an empty prompt: the user wants their last question back."""

    class ImagePathPasted(Message):
        """The pasted text names one existing picture file (quoted, ``file://``, ``~``...)."""

        def __init__(self, path: Path, text: str) -> None:
            super().__init__()
            self.path = path
            self.text = text

    def __init__(self, *, id: str | None = None, placeholder: str = "") -> None:
        super().__init__(
            id=id,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            compact=True,
            placeholder=placeholder,
            highlight_cursor_line=False,
        )

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.action_submit()
            return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.action_newline()
            return
        if event.key == "up" and not self.text:
            event.stop()
            event.prevent_default()
            self.post_message(self.EditLastRequested())
        # Anything else falls through to TextArea's own handler (Textual walks the MRO).

    async def _on_paste(self, event: events.Paste) -> None:
        path = dropped_image_path(event.text)
        if path is not None:
            event.stop()
            event.prevent_default()  # TextArea's own handler would type the path in
            self.post_message(self.ImagePathPasted(path, event.text))

    def action_submit(self) -> None:
        self.post_message(self.Submitted(self, self.text))

    def action_newline(self) -> None:
        start, end = self.selection
        self._replace_via_keyboard("\n", start, end)

    def set_prompt(self, text: str) -> None:
        """Replace the prompt's text and put the cursor at its end."""
        self.load_text(text)
        self.move_cursor(self.document.end)
