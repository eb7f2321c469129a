"""The session list's rows from the store: one page of summaries at a time, or search hits.

``SessionList`` draws rows from any ``RowSource``; this is the one that reads ``SessionStore``
(filtered by title or model, fetched by offset as the list scrolls), and the conversion of a
full-text search hit, whose snippet marks the matching words, into a row with highlights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from glm_tui.storage.store import (
    SearchHit,
    SessionStore,
    SessionSummary,
    StoreError,
    snippet_parts,
)
from glm_tui.ui.widgets.session_list import RowSource, SessionRow, StaticRows


def summary_row(summary: SessionSummary) -> SessionRow:
    return SessionRow(
        session_id=summary.id,
        title=summary.title,
        updated_at=summary.updated_at,
        detail=summary.preview,
        model=summary.model,
        message_count=summary.message_count,
    )


def hit_row(hit: SearchHit) -> SessionRow:
    """A search hit as a row: the snippet's marked stretches become highlights, marks dropped."""
    pieces: list[str] = []
    highlights: list[tuple[int, int]] = []
    length = 0
    for text, is_match in snippet_parts(hit.snippet):
        if is_match:
            highlights.append((length, length + len(text)))
        pieces.append(text)
        length += len(text)
    return SessionRow(
        session_id=hit.session_id,
        title=hit.title,
        updated_at=hit.updated_at,
        detail="".join(pieces),
        message_id=hit.message_id,
        highlights=tuple(highlights),
    )


class StoreRows:
    """A `RowSource` over `SessionStore.list_sessions`, fetched by offset as the list scrolls.

    Pages are fetched while the list draws, where an exception would end the app; a store
    failure there (a lock held too long by another glm-tui) is reported once through
    ``on_error`` and the page is drawn empty; typing in the filter fetches again.
    """

    def __init__(
        self,
        store: SessionStore,
        filter_text: str = "",
        on_error: Callable[[StoreError], None] | None = None,
    ) -> None:
        self._store = store
        self._filter = filter_text
        self._on_error = on_error
        self._reported = False

    def count(self) -> int:
        return self._store.count_sessions(self._filter)

    def fetch(self, offset: int, limit: int) -> Sequence[SessionRow]:
        try:
            summaries = self._store.list_sessions(self._filter, limit=limit, offset=offset)
        except StoreError as error:
            if self._on_error is None:
                raise
            if not self._reported:
                self._reported = True
                self._on_error(error)
            return []
        return [summary_row(summary) for summary in summaries]

    def position_of(self, session_id: str) -> int | None:
        """The row of ``session_id`` under this filter (``None``: not there, or the store failed
        to say, which only costs the cursor its place)."""
        try:
            return self._store.session_position(session_id, self._filter)
        except StoreError:
            return None


def row_position(source: RowSource, session_id: str) -> int | None:
    """Where a session's (first) row is in ``source``: the store's answer, or a search's rows."""
    if isinstance(source, StoreRows):
        return source.position_of(session_id)
    if isinstance(source, StaticRows):
        rows = source.fetch(0, source.count())
        return next((i for i, row in enumerate(rows) if row.session_id == session_id), None)
    return None
