"""The store's errors, in a module of their own so every part of the store can raise them.

``glm_tui.storage.store`` re-exports them: callers import them from there.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class StoreError(Exception):
    """Something about saved sessions went wrong; the message is in plain words."""


class StoreCorruptError(StoreError):
    """The database file is not a usable SQLite database (garbage, truncated, damaged).

    ``readable`` is True for damage inside a file whose header is intact: parts of it can still
    be read, so ``sessions list`` and ``sessions export`` (which open it read-only) can salvage
    what is there before it is moved aside.
    """

    def __init__(self, path: Path, reason: str, *, readable: bool = False) -> None:
        super().__init__(f"The session database {path} cannot be read: {reason}")
        self.path = path
        self.reason = reason
        self.readable = readable


class StoreWriteError(StoreError):
    """Writing failed for a reason outside glm-tui (read-only or full disk, a lock held too long).

    Retrying later can succeed, which is why the recorder keeps unsaved writes in memory.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"Cannot save to {path}: {reason}")
        self.path = path
        self.reason = reason


def translate_error(exc: sqlite3.Error, db_path: Path, *, writing: bool) -> StoreError:
    """SQLite's words turned into the store's error kinds, so callers can act on the kind:
    damage (offer to move the file aside), a write that may work later (keep it in memory),
    or anything else."""
    text = str(exc)
    lowered = text.lower()
    if "not a database" in lowered or "malformed" in lowered:
        return StoreCorruptError(db_path, text, readable="malformed" in lowered)
    write_words = ("readonly", "read-only", "disk is full", "disk i/o", "unable to open",
                   "locked", "busy", "no such file or directory", "query_only")
    if any(word in lowered for word in write_words):
        if "locked" in lowered or "busy" in lowered:
            text = "another glm-tui kept the database locked for more than 5 seconds"
        if writing:
            return StoreWriteError(db_path, text)
    return StoreError(f"Session database {db_path}: {text}")
