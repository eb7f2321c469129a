"""Session store speed with 10,000 sessions and 500,000 messages (run by hand).

    /work/venv/bin/python -m tests.benchmarks.bench_store [--dir DIR] [--keep]

Generates the data (fast bulk insert through ``SessionStore.create_sessions``, 200 sessions per
transaction), then measures what a user waits for: the first page of the sessions screen, the
count, full-text searches, appending a message, and opening the last 50 messages of a
2,000-message session. Prints a table. Targets from issue 3: list and search within 150 ms,
append under 5 ms, a 2,000-message session's last messages within 1 s.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from glm_tui.model.session import Message, MessageStatus, Role, Session, Timings, Usage
from glm_tui.storage.store import SessionStore

SESSIONS = 10_000
MESSAGES = 500_000
BIG_SESSION_MESSAGES = 2_000
BATCH = 200

_SYLLABLES = ["ka", "lo", "mi", "ren", "sha", "tu", "vo", "zen", "qui", "dra", "pel", "nor",
              "ix", "bel", "ost", "ra", "fen", "gu", "hal", "je"]
_REAL = ["python", "asyncio", "database", "function", "request", "server", "model", "token",
         "stream", "error", "weather", "recipe", "garden", "history", "translate", "summary",
         "北京", "天安门", "你好", "模型", "数据库", "翻译", "天气", "代码"]


def _vocabulary(rng: random.Random, size: int = 4000) -> tuple[list[str], list[float]]:
    words = list(_REAL)
    while len(words) < size:
        words.append("".join(rng.choices(_SYLLABLES, k=rng.randint(1, 4))))
    weights = [1.0 / (rank + 1) for rank in range(len(words))]  # Zipf, like real text
    return words, weights


def _texts(rng: random.Random, words: list[str], weights: list[float]) -> Iterator[str]:
    """Endless message texts; assistant replies are longer than questions."""
    while True:
        yield " ".join(rng.choices(words, weights, k=rng.randint(6, 25))) + "?"
        yield " ".join(rng.choices(words, weights, k=rng.randint(30, 120))) + "."


def generate(store: SessionStore, rng: random.Random) -> str:
    """Fill the store; returns the id of the 2,000-message session."""
    words, weights = _vocabulary(rng)
    texts = _texts(rng, words, weights)
    base = time.time() - 400 * 86400
    remaining = MESSAGES - BIG_SESSION_MESSAGES
    per_session = remaining // (SESSIONS - 1)
    big_id = ""
    batch: list[Session] = []
    for index in range(SESSIONS):
        is_big = index == SESSIONS // 2
        count = BIG_SESSION_MESSAGES if is_big else per_session + rng.randint(-20, 20)
        if index == SESSIONS - 1:
            count = max(2, remaining)
        if not is_big:
            remaining -= count
        started = base + index * 3000.0
        session = Session(title=" ".join(rng.choices(words, weights, k=rng.randint(2, 7))),
                          created_at=started, updated_at=started + count * 20.0,
                          model=rng.choice(["glm-4", "glm-4v", "glm-4-plus", "gpt-4o"]))
        for i in range(count):
            role = Role.USER if i % 2 == 0 else Role.ASSISTANT
            message = Message(role, next(texts), created_at=started + i * 20.0)
            if role is Role.ASSISTANT:
                message.usage = Usage(rng.randint(10, 900), rng.randint(5, 400))
                message.timings = Timings(message.created_at, 0.2, 3.1)
            session.messages.append(message)
        if is_big:
            big_id = session.id
        batch.append(session)
        if len(batch) == BATCH:
            store.create_sessions(batch)
            batch = []
    if batch:
        store.create_sessions(batch)
    return big_id


def measure(fn: Callable[[], Any], repeat: int) -> tuple[float, float, float, Any]:
    """(first call, median, p99) in milliseconds, and the last result."""
    times = []
    result: Any = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    first = times[0]
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return first, statistics.median(times), p99, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help="data directory to use/reuse")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    args = parser.parse_args()
    data_dir = args.dir or Path(tempfile.mkdtemp(prefix="glm-tui-bench-"))
    rng = random.Random(20240607)

    rows: list[tuple[str, str, str, str, str]] = []

    def row(name: str, target: str, first: float, median: float, p99: float | None,
            note: str = "") -> None:
        p99_text = "" if p99 is None else f"{p99:8.2f}"
        rows.append((name, f"{first:8.2f}", f"{median:8.2f}", p99_text, f"{target} {note}"))

    store = SessionStore(data_dir)
    big_id = ""
    if store.count_sessions() < SESSIONS:
        start = time.perf_counter()
        big_id = generate(store, rng)
        generated_s = time.perf_counter() - start
        print(f"generated {store.count_sessions():,} sessions in {generated_s:.1f} s")
    else:
        generated_s = 0.0
        big_id = next(s.id for s in store.list_sessions(limit=SESSIONS)
                      if s.message_count == BIG_SESSION_MESSAGES)
    store.close()
    db_mb = sum(p.stat().st_size for p in data_dir.glob("sessions.db*")) / 1e6

    start = time.perf_counter()
    store = SessionStore(data_dir)  # a cold open, as at start-up
    open_ms = (time.perf_counter() - start) * 1000
    row("open store", "-", open_ms, open_ms, None)
    total_messages = store._conn.execute("SELECT count(*) FROM messages").fetchone()[0]

    first, median, p99, page = measure(lambda: store.list_sessions(limit=200), 20)
    row("list_sessions first 200", "<150", first, median, p99, f"({len(page)} rows)")
    first, median, p99, page = measure(lambda: store.list_sessions(limit=50), 20)
    row("list_sessions first 50", "<150", first, median, p99)
    first, median, p99, page = measure(lambda: store.list_sessions("glm-4v", limit=200), 20)
    row("list_sessions filter 'glm-4v'", "<150", first, median, p99)
    first, median, p99, page = measure(lambda: store.list_sessions("zen", limit=200), 20)
    row("list_sessions filter 'zen'", "<150", first, median, p99)
    first, median, p99, _ = measure(store.count_sessions, 20)
    row("count_sessions", "<150", first, median, p99)
    first, median, p99, _ = measure(lambda: store.count_sessions("glm-4v"), 20)
    row("count_sessions filter", "<150", first, median, p99)

    for query in ["python", "database error", "天安门", "weather recipe garden",
                  "ostdra", "nosuchwordanywhere", "ka", "北京", '"NEAR(x) -y*',
                  "qx", "python qx"]:
        first, median, p99, hits = measure(partial(store.search, query), 10)
        partial_note = "" if store.last_search_complete else ", budget reached"
        row(f"search {query!r}", "<150", first, median, p99,
            f"({len(hits)} hits{partial_note})")

    session = Session(title="bench append")
    store.save_session(session)
    appended: list[float] = []
    for i in range(1000):
        message = Message(Role.USER if i % 2 == 0 else Role.ASSISTANT, f"appended {i} " * 20)
        start = time.perf_counter()
        store.append_message(session.id, message)
        appended.append((time.perf_counter() - start) * 1000)
    ordered = sorted(appended)
    row("append_message (1000)", "<5", appended[0], statistics.median(appended),
        ordered[int(0.99 * len(ordered))])
    reply = Message(Role.ASSISTANT, "", status=MessageStatus.STREAMING)
    store.append_message(session.id, reply)
    updated: list[float] = []
    for i in range(300):
        reply.content += f"streamed piece {i} " * 10
        start = time.perf_counter()
        store.update_message(reply)
        updated.append((time.perf_counter() - start) * 1000)
    ordered = sorted(updated)
    row("update_message (growing reply)", "-", updated[0], statistics.median(updated),
        ordered[int(0.99 * len(ordered))], f"({len(reply.content):,} chars at the end)")

    store.close()
    store = SessionStore(data_dir)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    first, median, p99, loaded = measure(lambda: store.load_session(big_id, last=50), 10)
    row("load_session(last=50) of 2,000", "<1000", first, median, p99,
        f"({len(loaded.messages)} msgs)")
    first, median, p99, _ = measure(lambda: store.count_messages(big_id), 10)
    row("count_messages of 2,000", "-", first, median, p99)
    first, median, p99, _older = measure(
        lambda: store.load_messages_before(big_id, 1950, 50), 10)
    row("load_messages_before (50)", "-", first, median, p99)
    first, median, p99, loaded = measure(lambda: store.load_session(big_id), 5)
    row("load_session full 2,000", "-", first, median, p99)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    store.close()

    print(f"\n{SESSIONS:,} sessions, {total_messages:,} messages, database {db_mb:,.0f} MB"
          + (f", generated in {generated_s:.0f} s" if generated_s else ""))
    header = ("operation", "first ms", "median", "p99", "target ms")
    widths = [max(len(r[i]) for r in [*rows, header]) for i in range(4)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=False)) + "  " + header[4])
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[4])
    print(f"\npeak RSS {rss_after:.0f} MB (before the 2,000-message loads: {rss_before:.0f} MB)")
    if not args.keep and args.dir is None:
        shutil.rmtree(data_dir)
    else:
        print(f"data kept in {data_dir}")


if __name__ == "__main__":
    main()
