"""WAL checkpoints on a background thread, so a user's write never waits for one.

In WAL mode SQLite copies the log back into the database (a checkpoint, with an fsync) on the
commit that happens to cross the size threshold. Measured on the 500,000-message benchmark, that
turned 1 % of ``append_message`` calls into 10-20 ms stalls. The store therefore turns automatic
checkpoints off on its own connection and pokes this thread when the log grows; a PASSIVE
checkpoint on a second connection never blocks writers, and Python's sqlite3 releases the GIL
while it runs. Closing the store's last connection still checkpoints everything.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

WAL_CHECKPOINT_BYTES = 4 * 1024 * 1024
"""Log size after which a checkpoint is requested (SQLite's own default is ~4 MB too)."""


class Checkpointer:
    """A lazily started daemon thread that checkpoints one database when poked."""

    def __init__(self, db_path: Path, busy_timeout_s: float) -> None:
        self.db_path = db_path
        self.wal_path = Path(f"{db_path}-wal")
        self.busy_timeout_s = busy_timeout_s
        self.last_error: str | None = None
        self.checkpoints = 0
        self._event = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def maybe_poke(self) -> None:
        """Request a checkpoint if the log has grown past the threshold (cheap: one stat)."""
        try:
            size = self.wal_path.stat().st_size
        except OSError:
            return  # no log file right now: nothing to checkpoint
        if size >= WAL_CHECKPOINT_BYTES:
            self.poke()

    def poke(self) -> None:
        with self._lock:
            if self._stopping:
                return
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"glm-tui checkpoint {self.db_path.name}", daemon=True
                )
                self._thread.start()
        self._event.set()

    def close(self) -> None:
        """Stop the thread (waiting for a running checkpoint to finish)."""
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._event.set()
        if thread is not None:
            thread.join(timeout=30)

    def _run(self) -> None:
        conn = sqlite3.connect(self.db_path, timeout=self.busy_timeout_s, isolation_level=None,
                               check_same_thread=False)
        try:
            while True:
                self._event.wait()
                self._event.clear()
                if self._stopping:
                    return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                    self.last_error = None
                except sqlite3.Error as exc:
                    # Nothing is lost: the log keeps every commit and the next poke (or the
                    # final close) checkpoints again. Kept for diagnostics.
                    self.last_error = str(exc)
        finally:
            conn.close()
