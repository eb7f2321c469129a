"""Opening the database for reading only, without changing one byte of the data directory.

``sessions list`` and ``sessions export`` must not create, migrate, checkpoint or delete anything:
someone inspecting a broken or foreign data directory needs it left exactly as it was. A plain
``mode=ro`` connection is not enough for a WAL database: SQLite 3.40 still creates ``-wal`` and
``-shm`` beside it, and a writable connection deletes a log it finds invalid. So the way of
reading depends on what is on disk:

* no ``-wal`` file (or an empty one): nobody has the database open and everything is in the main
  file, which is read as ``immutable`` (no lock files, no side files);
* a ``-wal`` file with content (a glm-tui running now, or one that was killed): it is read with
  ``readonly_shm``, so SQLite uses a live ``-shm`` without writing to it, or reads the log into
  private memory when there is none. When SQLite cannot read that log (it is garbage, or its
  ``-shm`` is), the main file alone is read and the caller is told the newest changes may be
  missing.

The caller decides beforehand that a database exists: with no file (or an empty one) there is
nothing to read and nothing is opened.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

PROBE = "SELECT count(*) FROM sqlite_master"


def connect_read_only(db_path: Path, timeout: float) -> tuple[sqlite3.Connection, str | None]:
    """A connection that cannot write, and a warning when the log beside the file was unreadable.

    Raises ``sqlite3.Error`` when even the main file cannot be read.
    """
    wal = Path(f"{db_path}-wal")
    try:
        has_log = wal.stat().st_size > 0
    except OSError:
        has_log = False
    if has_log:
        conn = _connect(db_path, "readonly_shm=1", timeout)
        try:
            conn.execute(PROBE).fetchone()
        except sqlite3.Error as exc:
            conn.close()
            warning = (f"the log beside it ({wal.name}, {wal.stat().st_size:,} bytes) could not "
                       f"be read ({exc}), so changes saved since the last checkpoint may be "
                       "missing here. Starting glm-tui recovers or discards it.")
        else:
            return conn, None
    else:
        warning = None
    conn = _connect(db_path, "immutable=1", timeout)
    try:
        conn.execute(PROBE).fetchone()
    except BaseException:
        conn.close()
        raise
    return conn, warning


def _connect(db_path: Path, option: str, timeout: float) -> sqlite3.Connection:
    uri = f"file:{quote(str(db_path.absolute()))}?mode=ro&{option}"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None,
                           check_same_thread=False)
    try:
        conn.execute("PRAGMA query_only = ON")
    except BaseException:
        conn.close()
        raise
    return conn
