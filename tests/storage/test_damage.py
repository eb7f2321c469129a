"""Issue 13 item 11: damage inside a file whose header is intact is noticed, and salvaged.

The damaged file is real: a store written by SessionStore, checkpointed, then one leaf page of
its ``messages`` table overwritten (tests/support/damage.py). Before the fix the store opened it,
wrote into it, and the damaged session could be neither opened nor exported even in part.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from glm_tui.storage.store import SessionStore, StoreCorruptError
from tests.support.damage import damaged_store, snapshot


def test_opening_for_writing_refuses_a_file_damaged_inside(tmp_path: Path) -> None:
    data = tmp_path / "data"
    damaged_store(data)
    before = (data / "sessions.db").read_bytes()
    with pytest.raises(StoreCorruptError) as caught:
        SessionStore(data)
    assert caught.value.readable
    assert "damaged inside" in str(caught.value) and str(data / "sessions.db") in str(caught.value)
    assert (data / "sessions.db").read_bytes() == before  # nothing written into it


def test_a_healthy_store_passes_the_check(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data")
    store.close()
    SessionStore(tmp_path / "data").close()


def test_salvage_reads_every_readable_message_and_names_the_lost_ones(tmp_path: Path) -> None:
    data = tmp_path / "data"
    before, damaged, after = damaged_store(data)
    untouched = snapshot(data)
    store = SessionStore.open_read_only(data)
    assert store is not None
    try:
        with pytest.raises(StoreCorruptError):
            store.load_session(damaged.id)  # the ordinary read stops at the damaged page

        salvaged = store.salvage_session(damaged.id)
        assert salvaged.session.title == "Damaged chat"
        kept = [m.content for m in salvaged.session.messages]
        originals = [m.content for m in damaged.messages]
        assert 0 < len(kept) < len(originals)
        lost = salvaged.lost_positions
        assert lost and kept == [c for i, c in enumerate(originals) if i not in lost]
        assert f"{len(lost)} message" in salvaged.losses()

        for intact in (before, after):
            assert [m.content for m in store.load_session(intact.id).messages] == [
                m.content for m in intact.messages]
            assert store.salvage_session(intact.id).complete

        summaries, some_lost = store.salvage_summaries()
        assert [s.title for s in summaries] == [
            "After the damage", "Damaged chat", "Before the damage"]
        assert not some_lost  # the sessions table itself is intact
    finally:
        store.close()
    assert snapshot(data) == untouched
