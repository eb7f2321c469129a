"""The database's shape: the file header check, the schema version and the upgrade runner.

The schema is versioned with ``PRAGMA user_version`` and upgraded step by step, each step its own
``BEGIN IMMEDIATE`` transaction, using the numbered scripts in :mod:`glm_tui.storage.migrations`.
A database written by a newer glm-tui is refused rather than guessed at.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from glm_tui.storage.errors import StoreCorruptError, StoreError, StoreWriteError
from glm_tui.storage.migrations import MIGRATIONS

SCHEMA_VERSION = max(MIGRATIONS)
"""The version this glm-tui writes: the number of the newest migration."""

WriteTransaction = Callable[[], AbstractContextManager[sqlite3.Connection]]


def migrate(write: WriteTransaction, version: int, db_path: Path) -> None:
    """Bring a database at ``version`` up to :data:`SCHEMA_VERSION`, one transaction per step.

    ``write`` opens the store's write transaction (so errors are translated and the lock is the
    store's); each step re-reads the version inside its transaction because another process may
    have upgraded while this one waited for the write lock.
    """
    refuse_newer(version, db_path)
    for step in range(version + 1, SCHEMA_VERSION + 1):
        with write() as conn:
            if conn.execute("PRAGMA user_version").fetchone()[0] >= step:
                continue
            for statement in split_sql(MIGRATIONS[step]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {step}")


def refuse_newer(version: int, db_path: Path) -> None:
    """A database written by a newer glm-tui is refused rather than guessed at."""
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"The session database {db_path} was written by a newer glm-tui "
            f"(schema {version}; this version understands up to {SCHEMA_VERSION}). "
            "Update glm-tui or use another --data-dir."
        )


def split_sql(script: str) -> list[str]:
    """Statements of a migration script, trigger bodies kept whole.

    ``executescript`` would commit the open transaction first, so a step runs statement by
    statement inside its own.
    """
    statements: list[str] = []
    current = ""
    for line in script.strip().splitlines():
        current += line + "\n"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


def check_header(path: Path) -> None:
    """Refuse garbage and truncated files before SQLite touches them.

    SQLite only notices truncation when it reads a missing page, possibly deep into a session;
    the header's page count lets us say so at once, naming the file, before anything is written.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreWriteError(path, exc.strerror or str(exc)) from exc
    if size == 0:
        return  # an empty file is a new database as far as SQLite is concerned
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
    except OSError as exc:
        raise StoreWriteError(path, exc.strerror or str(exc)) from exc
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        raise StoreCorruptError(path, "file is not a database (no SQLite header)")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    page_count = int.from_bytes(header[28:32], "big")
    change_counter = header[24:28]
    valid_for = header[92:96]
    wal = Path(f"{path}-wal")
    wal_pending = wal.exists() and wal.stat().st_size > 0
    if change_counter == valid_for and page_count and not wal_pending:
        expected = page_count * page_size
        if size < expected:
            raise StoreCorruptError(
                path, f"file is truncated ({size:,} of {expected:,} bytes are there)"
            )


def move_aside(db_path: Path) -> Path:
    """Rename a damaged database (and its -wal/-shm files) to a dated name; never deletes.

    Call only when no store has the file open. Returns the new path of the database file.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = db_path.with_name(f"{db_path.name}.corrupt-{stamp}")
    target = base
    counter = 1
    while any(Path(f"{target}{s}").exists() for s in ("", "-wal", "-shm")):
        target = base.with_name(f"{base.name}-{counter}")
        counter += 1
    try:
        for suffix in ("-wal", "-shm"):
            side = Path(f"{db_path}{suffix}")
            if side.exists():
                side.rename(Path(f"{target}{suffix}"))
        db_path.rename(target)
    except OSError as exc:
        raise StoreWriteError(db_path, f"could not rename it: {exc.strerror or exc}") from exc
    return target
