"""A session's title as the session dialogs quote it: on one line, in bold, never markup."""

from __future__ import annotations

from textual.content import Content

from glm_tui.ui.widgets.session_list import one_line


def quoted_title(title: str) -> Content:
    return Content.styled(f"“{one_line(title) or 'Untitled'}”", "bold")
