"""The part of a reply's header that says which answer it shows: ``‹ 2/3 ›  T 0.4 · glm-4``.

Shown only for a reply with alternatives (Ctrl+R keeps the previous answer): its position among
the answers, and the settings the answer shown was made with, so two settings can be compared on
the same question. Alt+Left / Alt+Right move between them.
"""

from __future__ import annotations

from textual.content import Content

from glm_tui.chat.alternatives import count
from glm_tui.model.session import Message
from glm_tui.ui.literal import one_line_text

NOT_RECORDED = "settings not recorded"
"""For an answer made before glm-tui recorded what a reply was made with."""


def alternatives_label(message: Message) -> list[Content | str | tuple[str, str]]:
    """Header pieces for the reply's answers (nothing when it has a single one)."""
    if not message.alternatives:
        return []
    position = f"‹ {message.alternative_position + 1}/{count(message)} ›"
    made_with = message.made_with
    settings = NOT_RECORDED if made_with is None else one_line_text(made_with.summary(), 120)
    return ["  ", (position, "bold $text-accent"), "  ", (settings, "$text-muted")]
