"""How fast the sessions screen is with 10,000 sessions (run by hand, figures are printed).

    /work/venv/bin/python tests/benchmarks/bench_sessions_screen.py [--data-dir DIR] [--messages N]

Fills a store with 10,000 sessions of ``--messages`` messages each (50 by default: 500,000
messages) through ``SessionStore.create_sessions``, once; a data directory that already holds them
is reused. Then, headless, it measures:

- push_screen to the first rows drawn (the target is 150 ms), cold (first push) and warm;
- a key press in the filter to the filtered rows drawn (this includes the typing debounce);
- the last key of a full-text query to the hits drawn (the target is 150 ms), also with debounce;
- the store calls underneath, and what fetching every summary at once would cost instead of pages.

"Drawn" is the moment `SessionList.render_line` first produces a row of the new content, which is
when the compositor paints it; the benchmark wraps that method to see it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: find tests/

from textual.app import App
from textual.strip import Strip

from glm_tui.model.session import Message, Role, Session
from glm_tui.storage.store import SessionStore
from glm_tui.ui.screens.sessions import DEBOUNCE_S, SessionsScreen
from glm_tui.ui.widgets.session_list import ROW_HEIGHT, SessionList
from tests.support.waiting import wait_for

SESSIONS = 10_000
TOPICS = [
    "python",
    "rust",
    "kubernetes",
    "recipe",
    "poetry",
    "travel",
    "finance",
    "physics",
    "history",
    "gardening",
    "chess",
    "music",
    "linux",
    "sqlite",
    "textual",
    "glm",
]
VOCABULARY = """the a model answer question token stream server request reply context window
memory function tool call image vision prompt system user assistant latency cache index query
result error retry timeout buffer render screen widget layout style theme color"""
WORDS = VOCABULARY.split()


def generate(count: int, messages: int, seed: int = 7) -> Iterator[Session]:
    rng = random.Random(seed)
    now = time.time()
    for i in range(count):
        topic = TOPICS[i % len(TOPICS)]
        session = Session(
            title=f"{topic.capitalize()} notes #{i}",
            model="glm-4" if i % 3 else "glm-4-plus",
            created_at=now - i * 600 - 60,
            updated_at=now - i * 600,
        )
        for j in range(messages):
            words = rng.choices(WORDS, k=rng.randint(12, 40))
            if rng.random() < 0.02:
                words.append(f"quokka{i % 97}")
            session.messages.append(
                Message(
                    role=Role.USER if j % 2 == 0 else Role.ASSISTANT,
                    content=f"{topic} " + " ".join(words),
                )
            )
        yield session


def fill(store: SessionStore, messages: int) -> None:
    have = store.count_sessions()
    if have >= SESSIONS:
        print(f"reusing {have:,} sessions in {store.db_path}")
        return
    if have:
        raise SystemExit(f"{store.db_path} holds {have} sessions; use an empty --data-dir")
    started = time.perf_counter()
    batch: list[Session] = []
    for number, session in enumerate(generate(SESSIONS, messages), 1):
        batch.append(session)
        if len(batch) == 500:
            store.create_sessions(batch)
            batch = []
            print(f"  {number:,} sessions stored ({time.perf_counter() - started:.0f} s)")
    if batch:
        store.create_sessions(batch)
    print(
        f"filled {SESSIONS:,} sessions x {messages} messages"
        f" in {time.perf_counter() - started:.1f} s"
    )


class DrawProbe:
    """Wraps `SessionList.render_line` to note when rows are first drawn after `arm`.

    With ``new_rows`` it waits for rows from a different source than the one on screen when it
    was armed (a filter or search result), not a redraw of the old rows.
    """

    def __init__(self) -> None:
        self.drawn_at: float | None = None
        self.armed = False
        self._old_source: object = None
        self._allow_empty = False
        self._widget: SessionList | None = None
        self._original = SessionList.render_line
        probe = self

        def render_line(widget: SessionList, y: int) -> Strip:
            strip = probe._original(widget, y)
            if (
                probe.armed
                and probe.drawn_at is None
                and widget._source is not probe._old_source
                and (
                    # No rows: the "nothing matches" line is the answer on screen.
                    (probe._allow_empty and not widget.row_count)
                    or widget.row_at((widget.scroll_offset.y + y) // ROW_HEIGHT) is not None
                )
            ):
                probe.drawn_at = time.perf_counter()
            return strip

        SessionList.render_line = render_line  # type: ignore[method-assign, assignment]

    def arm(self, session_list: SessionList | None = None, *, new_rows: bool = False) -> None:
        self.drawn_at = None
        self._allow_empty = new_rows
        self._old_source = session_list._source if session_list and new_rows else None
        self.armed = True


class Host(App[None]):
    pass


def figures(name: str, samples_s: list[float], target_ms: float | None = None) -> None:
    ms = sorted(s * 1000 for s in samples_s)
    verdict = ""
    if target_ms is not None:
        verdict = f"  (target {target_ms:.0f} ms: {'met' if ms[-1] <= target_ms else 'MISSED'})"
    print(
        f"{name:<48} median {statistics.median(ms):7.1f} ms  max {ms[-1]:7.1f} ms"
        f"  n={len(ms)}{verdict}"
    )


def timed(call: Callable[[], Any], repeat: int = 5) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


async def measure_screen(store: SessionStore, probe: DrawProbe) -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        current = store.list_sessions(limit=1)[0].id
        opening: list[float] = []
        for _ in range(6):
            probe.arm()
            started = time.perf_counter()
            app.push_screen(SessionsScreen(store, current))
            await wait_for(None, lambda: probe.drawn_at is not None, poll=0.001)
            assert probe.drawn_at is not None
            opening.append(probe.drawn_at - started)
            await pilot.pause()
            if len(opening) < 6:
                app.pop_screen()
                await pilot.pause()
        print(f"push_screen to first rows drawn, cold (first push): {opening[0] * 1000:.1f} ms")
        figures("push_screen to first rows drawn, warm", opening[1:], 150)

        screen = app.screen
        assert isinstance(screen, SessionsScreen)
        session_list = screen.session_list

        async def keystroke(key: str) -> float:
            """Seconds from a key press in the filter to the first row of the new rows drawn."""
            probe.arm(session_list, new_rows=True)
            started = time.perf_counter()
            await pilot.press(key)
            await wait_for(None, lambda: probe.drawn_at is not None, poll=0.001)
            assert probe.drawn_at is not None
            return probe.drawn_at - started

        # Filter: "rust" narrows letter by letter, then is deleted again letter by letter.
        filtering: list[float] = []
        for _ in range(3):
            for key in "rust":
                filtering.append(await keystroke(key))
            for _ in "rust":
                filtering.append(await keystroke("backspace"))
        figures(f"keystroke to filtered rows (debounce {DEBOUNCE_S * 1000:.0f} ms)", filtering)

        searching: list[float] = []
        for word in ["quokka42", "latency", "zzzznothing", "qz"]:
            for key in ["slash", *word[:-1]]:
                await pilot.press(key)
            await wait_for(None, lambda w=word: screen._query_text == "/" + w[:-1],  # type: ignore[misc]
                           poll=0.001)
            # Let the search for the partial word finish first.
            await wait_for(None, lambda: not any(
                w.group == "sessions-search" and not w.is_finished for w in app.workers),
                what="the search for the partial word", poll=0.001)
            searching.append(await keystroke(word[-1]))
            hits = session_list.row_count
            complete = "" if screen._search_complete else " (stopped at the time budget)"
            print(f"  search {word!r}: {hits} hits drawn{complete}")
            for _ in range(len(word) + 1):
                await pilot.press("backspace")
            await wait_for(None, lambda: session_list.row_count == SESSIONS, poll=0.001)
        figures(f"last key to search hits drawn (debounce {DEBOUNCE_S * 1000:.0f} ms)", searching)
        figures(
            "  the same without the debounce",
            [max(0.0, s - DEBOUNCE_S) for s in searching],
            150,
        )

        # Scrolling: a page down re-draws a screenful, fetching a new page now and then.
        session_list.focus()
        await pilot.pause()
        scrolling = []
        for _ in range(20):
            probe.arm()
            started = time.perf_counter()
            await pilot.press("pagedown")
            await wait_for(None, lambda: probe.drawn_at is not None, poll=0.001)
            assert probe.drawn_at is not None
            scrolling.append(probe.drawn_at - started)
        figures("page down to rows drawn", scrolling)
        await pilot.press("end")
        await pilot.pause()
        print(f"rows held in memory after visiting the end: {session_list.cached_row_count}")


def measure_store(store: SessionStore) -> None:
    figures("store.count_sessions()", timed(store.count_sessions))
    figures("store.list_sessions(limit=100)", timed(lambda: store.list_sessions(limit=100)))
    figures(
        "store.list_sessions(limit=100, offset=9,900)",
        timed(lambda: store.list_sessions(limit=100, offset=9_900)),
    )
    figures("store.list_sessions('rust', limit=100)", timed(lambda: store.list_sessions("rust")))
    figures("store.search('quokka42')", timed(lambda: store.search("quokka42")))
    figures("store.search('latency') (very common)", timed(lambda: store.search("latency")))
    figures(
        "all 10,000 summaries at once (not done)",
        timed(lambda: store.list_sessions(limit=SESSIONS), repeat=2),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--messages", type=int, default=50, help="messages per session")
    args = parser.parse_args()
    data_dir = (
        args.data_dir or Path(tempfile.gettempdir()) / f"glm-tui-bench-sessions-{args.messages}"
    )
    store = SessionStore(data_dir)
    fill(store, args.messages)
    measure_store(store)
    probe = DrawProbe()
    asyncio.run(measure_screen(store, probe))
    store.close()


if __name__ == "__main__":
    main()
