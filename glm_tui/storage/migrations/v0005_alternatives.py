"""Schema version 5: a reply's alternatives and the settings it was made with.

Asking for a reply again keeps the previous answer as an alternative (glm_tui.model.alternatives).
The chosen answer stays in the message's own columns (``content``, ``reasoning``, ...), so the
full-text index, the sessions list and everything else read it unchanged; ``alternatives`` holds
the others with the chosen one's position as compact JSON (NULL for the many replies without
any), ``made_with`` the model and sampling settings of the chosen answer (NULL for replies
written before this version).
"""

from __future__ import annotations

VERSION = 5

SQL = """
ALTER TABLE messages ADD COLUMN made_with TEXT;
ALTER TABLE messages ADD COLUMN alternatives TEXT;
"""
