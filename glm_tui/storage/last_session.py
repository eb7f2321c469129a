"""Which session the person was last in, so that ``--resume`` reopens that one.

The store can say which session was updated last, but reading an old session changes nothing in
it: someone who opens last week's chat, reads it and quits expects ``--resume`` to bring that
chat back. A one-line file beside the database remembers it; when it names a session that no
longer exists (deleted, or never saved), the most recently updated session is used instead.
"""

from __future__ import annotations

from pathlib import Path

from glm_tui.storage.files import atomic_write

LAST_SESSION_FILE = "last_session"


def remember_last_session(data_dir: Path, session_id: str) -> bool:
    """Record ``session_id`` as the one last shown; False when the directory is not writable
    (the hint is lost, nothing else: the store reports its own write problems)."""
    try:
        atomic_write(data_dir / LAST_SESSION_FILE, session_id)
    except OSError:
        return False
    return True


def last_shown_session(data_dir: Path) -> str | None:
    """The id recorded by :func:`remember_last_session`, if any."""
    try:
        text = (data_dir / LAST_SESSION_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if text.isalnum() else None
