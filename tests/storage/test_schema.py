"""The numbered migrations: one per version, no gaps, and a failed step changes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from glm_tui.storage import migrations
from glm_tui.storage.schema import SCHEMA_VERSION, split_sql
from glm_tui.storage.store import SessionStore, StoreError


def test_versions_run_one_by_one_without_gaps() -> None:
    assert sorted(migrations.MIGRATIONS) == list(range(1, SCHEMA_VERSION + 1))
    for script in migrations.MIGRATIONS.values():
        assert split_sql(script), "every step does something"


def test_a_new_database_is_at_the_newest_version(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data")
    try:
        assert store._user_version() == SCHEMA_VERSION
    finally:
        store.close()


def test_a_failing_step_leaves_the_database_at_its_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(data / "sessions.db")
    conn.executescript(migrations.MIGRATIONS[1] + "PRAGMA user_version = 1;")
    conn.close()
    broken = dict(migrations.MIGRATIONS)
    broken[2] = broken[2] + "\nTHIS IS NOT SQL;"
    monkeypatch.setattr("glm_tui.storage.schema.MIGRATIONS", broken)

    with pytest.raises(StoreError):
        SessionStore(data)

    conn = sqlite3.connect(data / "sessions.db")
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        columns = [row[1] for row in conn.execute("PRAGMA table_info(messages)")]
        assert "usage" not in columns, "the half-run step was rolled back"
    finally:
        conn.close()
