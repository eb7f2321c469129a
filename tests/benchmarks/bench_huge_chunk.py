"""Benchmark: the real app receiving ONE 10 MB SSE chunk while a person types.

Run by hand: ``/work/venv/bin/python tests/benchmarks/bench_huge_chunk.py [--mb 10] [--case both]``.
Not collected by pytest. Measured and reported, not asserted (issue 13 item 10: the UI must stay
under 100 ms per key press and memory must stay bounded).

The server is the byte-exact ``tests/support/raw_server.py`` RawServer in this (parent) process:
it answers the chat request with ONE ``data:`` frame whose ``delta.content`` is the whole text
(sent as one HTTP chunk), then a ``finish_reason: stop`` frame and ``[DONE]``. Two texts:

- ``paragraphs``: Markdown-ish prose: paragraphs with **bold**, `code` and links, headings,
  short lists, now and then a fenced code block;
- ``line``: the same words as ONE line (no newline at all), the case nothing can cut at a line;
- ``reasoning`` (with ``--case reasoning`` or ``all``): the ``paragraphs`` text as a thinking
  model's reasoning (``delta.reasoning_content``) and no answer after it, so the thinking block
  stays open, drawing all of it (issue 10: bad input, a huge reasoning).

Each ends with a marker no other line holds. A fresh child runs the real ``GlmTuiApp`` headless
at 120x40 (as ``bench_keypress.py``): it sends the question, then a thread types one key every
``GAP_S`` exactly as the terminal driver's input thread delivers one (``Driver.send_message``
of an ``events.Key``, thread-safe) until the marker is on screen and the reply has closed.
Typing from a thread matters: a typist on the app's own loop could only send a key once the
loop was free, so a stall between two keys would never show. Reported per case:

- key press latency (median / p95 / max): from ``send_message`` to the first frame handed to the
  driver (``App._display``, wrapped) that shows the prompt's new text;
- reply on screen: from Enter to the first frame showing the end marker (the view follows the
  reply, so the marker's frame is the reply's last part on screen);
- the child's CPU time from Enter until the reply is on screen and closed (``process_time``:
  steadier than wall-clock figures on a busy machine), and the longest time its event loop
  was held (a task that wakes every 10 ms notes the longest gap past its sleep);
- peak RSS of the child (``ru_maxrss`` of ``resource.getrusage(RUSAGE_SELF)`` at its end) and
  its RSS just before the question (the app's own size), so the growth is the reply's cost;
- whether the stored message (the session store in the child's temporary data directory) holds
  exactly the text sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from bench_app_streaming import make_app, start_conversation, wait_for  # noqa: E402
from bench_keypress import PER_LINE, _frame_text, _summary  # noqa: E402

GAP_S = 0.1
END_MARK = "ENDOFHUGEREPLY"
WAIT_S = 600.0
_PHRASE = ("the model answers every question with care and a long list of reasons why tokens "
           "stream slowly over a busy network while the terminal keeps drawing lines of text "
           "about parsers widgets layouts frames memory and time")
WORDS = _PHRASE.split(" ")


def huge_text(size: int, case: str, seed: int = 13) -> str:
    """About ``size`` characters of Markdown-ish text, ending with END_MARK."""
    rng = random.Random(seed)
    parts: list[str] = []
    total = 0
    block = 0
    while total < size:
        block += 1
        words = [rng.choice(WORDS) for _ in range(rng.randint(60, 140))]
        words[rng.randrange(len(words))] = f"**{rng.choice(WORDS)}**"
        words[rng.randrange(len(words))] = f"`{rng.choice(WORDS)}()`"
        words[rng.randrange(len(words))] = f"[{rng.choice(WORDS)}](https://example.com/{block})"
        if case == "line":
            piece = " ".join(words) + " "
        elif block % 17 == 0:
            piece = "```python\n" + "\n".join(
                f"def f{block}_{n}(x):  # {rng.choice(WORDS)}\n    return x + {n}"
                for n in range(6)) + "\n```\n\n"
        elif block % 11 == 0:
            piece = f"## Section {block}\n\n" + "".join(
                f"- {' '.join(words[n:n + 8])}\n" for n in range(0, 40, 8)) + "\n"
        else:
            piece = " ".join(words) + ".\n\n"
        parts.append(piece)
        total += len(piece)
    return "".join(parts) + f"{END_MARK}\n"


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "glm-4",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _stored_text(data_dir: str, field: str = "content") -> str | None:
    """The newest assistant message's text (``content``) or reasoning as the store holds it
    (read after the app has closed)."""
    column = "reasoning" if field == "reasoning_content" else "content"
    with sqlite3.connect(Path(data_dir) / "sessions.db") as db:
        row = db.execute(f"SELECT {column} FROM messages WHERE role = 'assistant' "
                         "ORDER BY rowid DESC LIMIT 1").fetchone()
    return None if row is None else str(row[0])


class FrameProbe:
    """Watches every frame handed to the driver: which typed keys it shows, and the end marker.

    Keys are typed by :class:`Typist` from its own thread; ``waiting`` holds (text the prompt
    shows once the key is in, time it was sent) in order. A frame showing one key's text shows
    every earlier key's text too (a prefix), so keys are matched oldest first.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting: list[tuple[str, float]] = []
        self.latencies: list[float] = []
        self.all_seen = threading.Event()
        self.all_seen.set()
        self.end_seen_at: float | None = None

    def install(self, app_cls: type[Any]) -> None:
        display = app_cls._display
        probe = self

        def timed_display(app: Any, screen: Any, renderable: Any) -> None:
            text = _frame_text(renderable)  # read first: a line of strips may be an iterator
            display(app, screen, renderable)
            now = time.monotonic()
            if probe.end_seen_at is None and END_MARK in text:
                probe.end_seen_at = now
            with probe.lock:
                while probe.waiting and probe.waiting[0][0] in text:
                    probe.latencies.append(now - probe.waiting.pop(0)[1])
                if not probe.waiting:
                    probe.all_seen.set()

        app_cls._display = timed_display


class Typist(threading.Thread):
    """Presses a key every GAP_S from its own thread, as a terminal's input thread does.

    Typing from the app's own event loop would hide every stall: a key could only be sent once
    the loop was free again. Here the clock of a key starts when it is sent, whatever the loop
    is doing, so a stall shows in the keys that arrive during it. Every ``PER_LINE`` keys the
    typist waits for the line to be on screen and clears the prompt (not timed).
    """

    def __init__(self, app: Any, screen: Any, probe: FrameProbe) -> None:
        super().__init__(name="typist", daemon=True)
        self.app, self.screen, self.probe = app, screen, probe
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def _clear(self) -> None:
        self.screen.prompt.load_text("ZQ")
        self.screen.prompt.move_cursor(self.screen.prompt.document.end)

    def run(self) -> None:
        from textual import events

        try:
            typed, index, next_at = "", 0, time.monotonic()
            while not self.stop.is_set():
                if index % PER_LINE == 0:
                    if not self.probe.all_seen.wait(WAIT_S):
                        raise RuntimeError("typed keys not on screen in time")
                    self.app.call_from_thread(self._clear)
                    typed, next_at = "ZQ", time.monotonic() + GAP_S
                char = str(index % 10)
                typed += char
                time.sleep(max(0.0, next_at - time.monotonic()))
                with self.probe.lock:
                    self.probe.waiting.append((typed, time.monotonic()))
                    self.probe.all_seen.clear()
                self.app._driver.send_message(events.Key(char, char))
                index += 1
                next_at += GAP_S
        except BaseException as exc:  # reported by the coroutine that started it
            self.error = exc


class LoopWatch:
    """Notes the longest time the event loop was held: a task sleeps 10 ms at a time, and any
    wake-up later than that means something else held the loop for the difference."""

    SLEEP_S = 0.01

    def __init__(self) -> None:
        self.longest = 0.0
        self.stop = False

    async def run(self) -> None:
        last = time.perf_counter()
        while not self.stop:
            await asyncio.sleep(self.SLEEP_S)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last - self.SLEEP_S)
            last = now


async def measure(base_url: str) -> dict[str, Any]:
    from glm_tui.ui.app import GlmTuiApp

    probe = FrameProbe()
    probe.install(GlmTuiApp)
    app = make_app(base_url)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await start_conversation(pilot)
        before_mb = _rss_mb()
        screen.prompt.load_text("Tell me everything.")
        await pilot.pause()
        held = LoopWatch()
        watch = asyncio.create_task(held.run())
        sent, cpu = time.monotonic(), time.process_time()
        await pilot.press("enter")
        typist = Typist(app, screen, probe)
        typist.start()
        await wait_for(None, lambda: (probe.end_seen_at is not None and not screen.reply_running)
                       or typist.error is not None, WAIT_S, "the whole reply on screen")
        cpu = time.process_time() - cpu
        held.stop = True
        await watch
        await wait_for(None, lambda: len(probe.latencies) >= 10 or typist.error, WAIT_S,
                       "ten keys on screen")
        typist.stop.set()
        await wait_for(None, lambda: probe.all_seen.is_set() or typist.error, WAIT_S,
                       "the last keys on screen")
        if typist.error is not None:
            raise typist.error
        typist.join(WAIT_S)
        assert probe.end_seen_at is not None
        result = {"keys": probe.latencies, "on_screen_s": probe.end_seen_at - sent,
                  "rss_before_mb": before_mb, "cpu_s": cpu, "held_ms": held.longest * 1000}
    result["peak_mb"] = _peak_mb()
    return result


def run_case(case: str, size: int) -> dict[str, Any]:
    from tests.support.raw_server import RawServer, Script, json_script, sse

    text = huge_text(size, "paragraphs" if case == "reasoning" else case)
    field = "reasoning_content" if case == "reasoning" else "content"
    frames = sse(_chunk({"role": "assistant", field: text}), _chunk({}, "stop"))
    models = json_script(200, {"object": "list", "data": [{"id": "glm-4"}]})
    stream = Script(body=[b"".join(frames)])

    def answer(request: Any) -> Script:
        return stream if request.method == "POST" else models

    with RawServer() as raw, tempfile.TemporaryDirectory() as tmp:
        raw.add(*([answer] * 8))
        env = {**os.environ, "GLM_TUI_DATA_DIR": f"{tmp}/data",
               "GLM_TUI_CONFIG": f"{tmp}/config.toml"}
        env.pop("OPENAI_BASE_URL", None)
        out = subprocess.run([sys.executable, __file__, "--child", raw.base_url + "/"],
                             env=env, capture_output=True, text=True, timeout=WAIT_S * 2)
        if out.returncode:
            raise SystemExit(out.stderr[-3000:])
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        stored = _stored_text(f"{tmp}/data", field)
    result["stored_equal"] = stored == text
    result["size"] = len(text)
    return result


def main(size: int, cases: list[str], repeats: int) -> None:
    print(f"one SSE chunk of {size / 1e6:.1f} MB, real GlmTuiApp 120x40 headless, "
          f"one key every {GAP_S} s")
    for case in cases:
        keys: list[float] = []
        screens, peaks, befores, equal, cpus, helds = [], [], [], [], [], []
        for _ in range(repeats):
            result = run_case(case, size)
            keys += result["keys"]
            screens.append(result["on_screen_s"])
            peaks.append(result["peak_mb"])
            befores.append(result["rss_before_mb"])
            equal.append(result["stored_equal"])
            cpus.append(result["cpu_s"])
            helds.append(result["held_ms"])
        print(f"  {case:10} keys {_summary(keys)}")
        print(f"  {'':10} reply on screen {statistics.median(screens):6.2f} s   "
              f"peak RSS {max(peaks):5.0f} MB (before the question {max(befores):4.0f} MB)   "
              f"stored text equal: {all(equal)}")
        print(f"  {'':10} CPU until on screen {statistics.median(cpus):5.2f} s (median)   "
              f"loop held at most {max(helds):4.0f} ms", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=10.0)
    parser.add_argument("--case", choices=("paragraphs", "line", "reasoning", "both", "all"),
                        default="both")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--child", metavar="BASE_URL")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(measure(args.child))))
    else:
        cases = {"both": ["paragraphs", "line"], "all": ["paragraphs", "line", "reasoning"]}
        main(int(args.mb * 1_000_000), cases.get(args.case, [args.case]), args.repeats)
