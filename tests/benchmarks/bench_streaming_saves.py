"""Benchmark: the autosave of a streaming thinking reply, in a real SQLite store.

Run by hand: ``python tests/benchmarks/bench_streaming_saves.py [--runs 5] [--schema 5]``.
Not collected by pytest; it measures and reports, it does not assert (issue 10: client CPU
linear in the reply's length, x2 size <= x2.2 CPU).

A reply of 100 KB of reasoning then 20 KB of answer (and one twice that) grows as it does at
2,000 tokens/s (about 8 KB a second) and is saved as the conversation saves it: through
:class:`~glm_tui.storage.recorder.SessionRecorder`, every 0.5 s of stream, so every 4 KB, then
once more when it ends. Reported: the CPU of all those saves (``process_time``, the writer thread
included), at each size, and the ratio.

``--schema 5`` stops the store's upgrades at version 5, where every save put the whole text so
far into the full-text indexes again (the triggers version 6 replaced), for the "before" figures.
The text is the demo server's own reasoning and answer, so the index sees real words.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: find glm_tui

from glm_tui.model.session import Message, MessageStatus, Role, Session
from glm_tui.storage.recorder import SessionRecorder
from glm_tui.storage.store import SessionStore

REASONING = 102_400
ANSWER = 20_480
STEP = 4_096
"""Characters between two saves: 0.5 s (the recorder's interval) of a 2,000 tokens/s stream."""


def words(length: int, seed: int) -> str:
    """``length`` characters of varied English prose (the index's cost depends on the words)."""
    vocabulary = ("the model weighs each option before it answers, checking units, edge cases "
                  "and what the question really asks; then it writes the steps down in order "
                  f"with numbers like {seed} and names such as Paris, Tokyo or Nairobi. ").split()
    out: list[str] = []
    size = 0
    index = seed
    while size < length:
        word = vocabulary[index % len(vocabulary)] + str(index % 97)
        out.append(word)
        size += len(word) + 1
        index = index * 1103515245 + 12345 & 0x7FFFFFFF
    return " ".join(out)[:length]


def saves_cpu(scale: int) -> float:
    """CPU seconds of every save of one streaming reply at ``scale`` times the size."""
    reasoning, answer = words(REASONING * scale, 1), words(ANSWER * scale, 2)
    with tempfile.TemporaryDirectory() as tmp:
        store = SessionStore(Path(tmp) / "data")
        try:
            session = Session(title="bench")
            recorder = SessionRecorder(store, session, interval=0.0)
            recorder.add_message(Message(Role.USER, "think, then say"))
            reply = Message(Role.ASSISTANT, "", status=MessageStatus.STREAMING)
            recorder.add_message(reply)
            start = time.process_time()
            for end in range(STEP, len(reasoning) + len(answer) + STEP, STEP):
                reply.reasoning = reasoning[:end]
                reply.content = answer[:max(0, end - len(reasoning))]
                recorder.update_message(reply, force=True)
            reply.status = MessageStatus.COMPLETE
            recorder.update_message(reply)
            recorder.flush()
            return time.process_time() - start
        finally:
            store.close()


def main(runs: int) -> None:
    figures = {scale: [saves_cpu(scale) for _ in range(runs)] for scale in (1, 2)}
    for scale, values in figures.items():
        print(f"x{scale} ({REASONING * scale // 1024} KB + {ANSWER * scale // 1024} KB, a save "
              f"every {STEP:,} characters): CPU median {statistics.median(values) * 1000:.0f} ms "
              f"(runs: {', '.join(f'{v * 1000:.0f}' for v in values)})")
    ratio = statistics.median(figures[2]) / statistics.median(figures[1])
    print(f"x2 / x1: x{ratio:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--schema", type=int, default=None,
                        help="stop the store's upgrades at this version (5: before the change)")
    args = parser.parse_args()
    if args.schema is not None:
        from glm_tui.storage import migrations, schema

        kept = {v: sql for v, sql in migrations.MIGRATIONS.items() if v <= args.schema}
        schema.MIGRATIONS.clear()
        schema.MIGRATIONS.update(kept)
        schema.SCHEMA_VERSION = args.schema
        import glm_tui.storage.database as database
        import glm_tui.storage.store as store_module

        database.SCHEMA_VERSION = store_module.SCHEMA_VERSION = args.schema  # type: ignore[misc]
    main(args.runs)
