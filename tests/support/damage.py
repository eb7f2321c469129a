"""Real damage inside a real store: pages of a SQLite file written by SessionStore overwritten.

The header (page 1) is left intact, so the file still opens; what breaks is what SQLite reads
later, as after a bad disk block or a half-written page. ``dbstat`` (compiled into the SQLite that
Python ships with) says which pages hold the ``messages`` table's rows, in b-tree order.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from glm_tui.model.session import Message, Role, Session
from glm_tui.storage.store import SessionStore

BIG = 1500
"""Characters of a message in the damaged session: two or so fill a 4 KiB page."""


def damaged_store(data_dir: Path) -> tuple[Session, Session, Session]:
    """A store of three sessions whose middle one has a page of its messages destroyed.

    Returns (before, damaged, after) as they were saved; the first and last are intact.
    """
    before = Session(title="Before the damage", updated_at=1000.0)
    before.messages = [Message(Role.USER, "first question"), Message(Role.ASSISTANT, "answer")]
    damaged = Session(title="Damaged chat", updated_at=2000.0)
    damaged.messages = [
        Message(Role.USER if i % 2 == 0 else Role.ASSISTANT, f"message {i} " + "x" * BIG)
        for i in range(30)
    ]
    after = Session(title="After the damage", updated_at=3000.0)
    after.messages = [Message(Role.USER, "later question"), Message(Role.ASSISTANT, "reply")]
    store = SessionStore(data_dir)
    for session in (before, damaged, after):
        store.create_session(session)
    store.close()  # checkpointed: everything is in sessions.db, no -wal left
    destroy_middle_leaf(data_dir / "sessions.db", "messages")
    return before, damaged, after


def destroy_middle_leaf(db_path: Path, table: str) -> int:
    """Overwrite the middle leaf page of ``table`` with garbage; returns its page number."""
    conn = sqlite3.connect(db_path)
    try:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        leaves = [row[0] for row in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY path",
            (table,))]
    finally:
        conn.close()
    assert len(leaves) >= 5, f"{table} has too few pages to damage one in the middle"
    page = leaves[len(leaves) // 2]
    assert page > 1
    with db_path.open("r+b") as handle:
        handle.seek((page - 1) * page_size)
        handle.write(bytes(range(7, 256)) * (page_size // 249) + b"\xff" * (page_size % 249))
    return page


def snapshot(folder: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every path under ``folder``: size, mtime (ns), mode and content hash (files)."""
    result = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        result[str(path.relative_to(folder))] = (
            info.st_size, info.st_mtime_ns, info.st_mode, digest)
    return result
