"""Full-text search over session titles, message text and reasoning (FTS5, trigram tokenizer).

The trigram index answers words of three characters or more at once, in any language; shorter
words cannot use it and are matched with ``LIKE``, which reads messages newest first under a time
budget so typing one letter never freezes the sessions screen. The user's text is never FTS syntax:
each word is quoted, so quotes, ``*``, ``-`` and ``NEAR`` are just text.

A thinking model's reasoning has its own index (``reasoning_fts``, schema version 3): a message
whose words are in its reasoning is a hit that says so (:attr:`SearchHit.in_reasoning`), with the
snippet taken from the reasoning. All the words must be in the same one of the two texts.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from glm_tui.storage.rows import Row

SNIPPET_START = "\x02"
"""Marks the start of a matched stretch in :attr:`SearchHit.snippet` (never occurs in chat text)."""
SNIPPET_END = "\x03"
"""Marks the end of a matched stretch in :attr:`SearchHit.snippet`."""

SEARCH_BUDGET_S = 0.12
"""How long a search may read messages that the index cannot narrow down (1-2 letter words)."""

MIN_FTS_TERM = 3  # the trigram tokenizer cannot look up anything shorter


@dataclass(frozen=True)
class SearchHit:
    """A full-text match: in a session title (``message_id`` None) or in one message.

    ``snippet`` is one line of text around the match, with each matched stretch between
    :data:`SNIPPET_START` and :data:`SNIPPET_END`; :func:`snippet_parts` splits it.
    """

    session_id: str
    title: str
    message_id: int | None
    snippet: str
    updated_at: float
    in_reasoning: bool = False  # the words were found in the message's reasoning, not its text


def snippet_parts(snippet: str) -> list[tuple[str, bool]]:
    """Split a snippet into ``(text, is_match)`` pieces for drawing without any markup."""
    parts: list[tuple[str, bool]] = []
    rest = snippet
    while rest:
        start = rest.find(SNIPPET_START)
        if start < 0:
            parts.append((rest, False))
            break
        if start:
            parts.append((rest[:start], False))
        end = rest.find(SNIPPET_END, start + 1)
        if end < 0:
            parts.append((rest[start + 1 :], True))
            break
        parts.append((rest[start + 1 : end], True))
        rest = rest[end + 1 :]
    return [(text, match) for text, match in parts if text]


def search(
    conn: sqlite3.Connection, query: str, limit: int, time_budget: float
) -> tuple[list[SearchHit], bool]:
    """Title matches first, then message matches, newest first; and whether it was complete.

    Every whitespace-separated word must occur (as a substring, any case). Run inside one read
    transaction. When reading takes longer than ``time_budget`` seconds the search stops with
    the newest matches found so far and the second value is False.
    """
    terms = query.split()
    if not terms or limit <= 0:
        return [], True
    finder = _Finder(conn, terms)
    deadline = time.perf_counter() + time_budget
    conn.set_progress_handler(lambda: time.perf_counter() > deadline, 2000)
    try:
        hits = finder.titles(limit)
        if len(hits) < limit:
            hits += finder.messages(limit - len(hits))
    finally:
        conn.set_progress_handler(None, 0)
    return hits, finder.complete


class _Finder:
    """One search's terms, split by whether the index can look them up."""

    def __init__(self, conn: sqlite3.Connection, terms: list[str]) -> None:
        self.conn = conn
        self.terms = terms
        self.long_terms = [t for t in terms if len(t) >= MIN_FTS_TERM]
        self.short_terms = [t for t in terms if len(t) < MIN_FTS_TERM]
        self.complete = True

    def _rows_in_time(self, sql: str, params: tuple[Any, ...]) -> list[Row]:
        """The rows a query yields before the search's deadline interrupts it."""
        rows: list[Row] = []
        try:
            for row in self.conn.execute(sql, params):
                rows.append(row)
        except sqlite3.OperationalError as exc:
            if "interrupt" not in str(exc).lower():
                raise
            self.complete = False
        return rows

    def titles(self, limit: int) -> list[SearchHit]:
        likes = " ".join("AND s.title LIKE ? ESCAPE '\\'" for _ in self.short_terms)
        like_params = [like_pattern(t) for t in self.short_terms]
        if self.long_terms:
            rows = self._rows_in_time(
                "SELECT s.id, s.title, s.updated_at FROM sessions_fts"
                " JOIN sessions s ON s.num = sessions_fts.rowid"
                f" WHERE sessions_fts MATCH ? {likes} ORDER BY s.updated_at DESC LIMIT ?",
                (fts_query(self.long_terms), *like_params, limit),
            )
        else:
            rows = self._rows_in_time(
                f"SELECT s.id, s.title, s.updated_at FROM sessions s WHERE 1 {likes}"
                " ORDER BY s.updated_at DESC LIMIT ?",
                (*like_params, limit),
            )
        return [
            SearchHit(session_id=r[0], title=r[1], message_id=None,
                      snippet=make_snippet(r[1], self.terms), updated_at=r[2])
            for r in rows
        ]

    def messages(self, limit: int) -> list[SearchHit]:
        """Matches in message text and in reasoning, newest first; a message found in both is
        one hit, its text's."""
        found = self._messages_in("content", "messages_fts", limit)
        found += self._messages_in("reasoning", "reasoning_fts", limit)
        found.sort(key=lambda hit: (hit.message_id or 0, not hit.in_reasoning), reverse=True)
        hits: list[SearchHit] = []
        seen: set[int | None] = set()
        for hit in found:
            if hit.message_id not in seen:
                seen.add(hit.message_id)
                hits.append(hit)
        return hits[:limit]

    def _messages_in(self, column: str, index: str, limit: int) -> list[SearchHit]:
        """Matches in one of the two texts of a message (``column``, indexed by ``index``)."""
        likes = " ".join(f"AND m.{column} LIKE ? ESCAPE '\\'" for _ in self.short_terms)
        like_params = [like_pattern(t) for t in self.short_terms]
        if self.long_terms:
            rows = self._rows_in_time(
                f"SELECT m.session_id, s.title, m.id, m.{column}, s.updated_at"
                f" FROM {index} JOIN messages m ON m.id = {index}.rowid"
                " JOIN sessions s ON s.id = m.session_id"
                f" WHERE {index} MATCH ? {likes} ORDER BY {index}.rowid DESC LIMIT ?",
                (fts_query(self.long_terms), *like_params, limit),
            ) + self._streaming_rows(column, limit)
        else:
            rows = self._rows_in_time(
                f"SELECT m.session_id, s.title, m.id, m.{column}, s.updated_at FROM messages m"
                f" JOIN sessions s ON s.id = m.session_id WHERE m.{column} != '' {likes}"
                " ORDER BY m.id DESC LIMIT ?",
                (*like_params, limit),
            )
        in_reasoning = column == "reasoning"
        return [
            SearchHit(session_id=r[0], title=r[1], message_id=r[2],
                      snippet=make_snippet(r[3], self.terms), updated_at=r[4],
                      in_reasoning=in_reasoning)
            for r in rows
        ]

    def _streaming_rows(self, column: str, limit: int) -> list[Row]:
        """Matches among the messages still streaming, which the indexes leave out until they
        end (schema version 6): a reply being written now, or one a glm-tui died writing.
        They are few, found through the partial index ``messages_streaming``, and read with
        ``LIKE`` (any case, as the trigram index matches)."""
        likes = " ".join(f"AND m.{column} LIKE ? ESCAPE '\\'" for _ in self.terms)
        return self._rows_in_time(
            f"SELECT m.session_id, s.title, m.id, m.{column}, s.updated_at FROM messages m"
            " INDEXED BY messages_streaming JOIN sessions s ON s.id = m.session_id"
            f" WHERE m.status = 'streaming' AND m.{column} != '' {likes}"
            " ORDER BY m.id DESC LIMIT ?",
            (*(like_pattern(t) for t in self.terms), limit),
        )


def like_pattern(term: str) -> str:
    """``%term%`` with LIKE's wildcards escaped (use with ``ESCAPE '\\'``)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def filter_clause(filter_text: str) -> tuple[str, tuple[str, ...]]:
    """The sessions list's filter: a WHERE clause matching title or model as a substring."""
    text = filter_text.strip()
    if not text:
        return "", ()
    pattern = like_pattern(text)
    return "WHERE (s.title LIKE ? ESCAPE '\\' OR s.model LIKE ? ESCAPE '\\')", (pattern, pattern)


def fts_query(terms: list[str]) -> str:
    """Each word as a quoted FTS5 string (quotes doubled): AND of literal substrings."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


def make_snippet(text: str, terms: list[str], width: int = 140) -> str:
    """One line around the first match, every match between SNIPPET_START and SNIPPET_END."""
    flat = " ".join(text.replace(SNIPPET_START, " ").replace(SNIPPET_END, " ").split())
    folded = flat.casefold()
    needles = [t.casefold() for t in terms]
    first = min((i for i in (folded.find(n) for n in needles) if i >= 0), default=0)
    start = max(0, first - width // 3)
    end = min(len(flat), start + width)
    start = max(0, min(start, end - width))
    window, window_folded = flat[start:end], folded[start:end]
    # When casefold changed lengths (ß) the positions do not line up: give up on marking.
    same = len(window_folded) == len(window)
    marked = _mark(window, window_folded, needles) if same else window
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(flat) else ""
    return f"{prefix}{marked}{suffix}"


def _mark(window: str, window_folded: str, needles: list[str]) -> str:
    spans: list[tuple[int, int]] = []
    for needle in needles:
        pos = window_folded.find(needle)
        while needle and pos >= 0:
            spans.append((pos, pos + len(needle)))
            pos = window_folded.find(needle, pos + len(needle))
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    pieces: list[str] = []
    cursor = 0
    for a, b in merged:
        pieces += [window[cursor:a], SNIPPET_START, window[a:b], SNIPPET_END]
        cursor = b
    pieces.append(window[cursor:])
    return "".join(pieces)
