"""One chunk of a fenced code block, highlighted on its own (see widget.py).

A long fenced block is shown as ``CodeChunk`` widgets of ``CODE_CHUNK_LINES``
lines so that streaming re-highlights only the open chunk, never the block
from its top. The first and last chunk carry the block's padding and margins,
so adjacent chunks read as one block; each chunk is lexed after a few lines
of the previous one (``context``) so a string or comment that started there
keeps its colour.
"""

from __future__ import annotations

from textual.content import Content
from textual.geometry import Size

from glm_tui.ui.markdown.render import highlight_code
from glm_tui.ui.markdown.textual_compat import GrowingWidget, drop_render_cache

__all__ = ["CodeChunk"]


class CodeChunk(GrowingWidget):
    """Up to 40 lines of one fenced code block; adjacent chunks look like one."""

    DEFAULT_CSS = """
    CodeChunk {
        height: auto;
        width: 1fr;
        padding: 0 2;
        color: rgb(210,210,210);
        background: black 10%;
        &:light { background: white 30%; }
        &.-first { margin: 1 0 0 0; padding: 1 2 0 2; }
        &.-last { margin: 0 0 1 0; padding: 0 2 1 2; }
        &.-first.-last { margin: 1 0; padding: 1 2; }
    }
    """

    def __init__(self, code: str, language: str, *, first: bool, last: bool, context: str) -> None:
        super().__init__(classes=("-first" if first else "") + (" -last" if last else ""))
        self.auto_links = False
        self.code = code
        self.language = language
        self._lex_context = context
        self._highlighted: Content | None = Content("")
        self._released_height = (-1, 0)
        self._ready = False

    def on_mount(self) -> None:
        """Highlight once the theme is known."""
        self._ready = True
        self._highlight()

    def set_code(self, code: str, language: str, *, first: bool, context: str) -> None:
        """Show new code (the live chunk only)."""
        self.code = code
        self.language = language
        self._lex_context = context
        self.set_class(first, "-first")
        if self._ready:
            self._highlight()

    def _highlight(self, refresh: bool = True) -> None:
        context = self._lex_context
        ansi = self.app.native_ansi_color
        dark = self.app.current_theme.dark
        if context and self.language:
            whole = highlight_code(f"{context}\n{self.code}", self.language, ansi=ansi, dark=dark)
            content = whole[len(context) + 1 :]
        else:
            content = highlight_code(self.code, self.language, ansi=ansi, dark=dark)
        self._highlighted = content
        if refresh:
            self.refresh(layout=True)

    def render(self) -> Content:
        """The highlighted code (highlighted again after ``release``)."""
        if self._highlighted is None:
            self._highlight(refresh=False)
            assert self._highlighted is not None
        return self._highlighted

    def release(self) -> None:
        """Drop the highlight and cached renders (see FrozenPage)."""
        if self._highlighted is not None:
            self._released_height = (self.size.width, self.size.height)
        self._highlighted = None
        drop_render_cache(self)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """After ``release``, answer layout from the known height (no re-highlight)."""
        if self._highlighted is None and self._released_height[0] == width:
            return self._released_height[1]
        return super().get_content_height(container, viewport, width)
