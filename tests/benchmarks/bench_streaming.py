"""Benchmark: stream a 100 KB and a 200 KB mixed-Markdown reply at 2,000 tokens/s.

Run by hand: ``/work/venv/bin/python tests/benchmarks/bench_streaming.py``
(add ``--skip-baseline`` to skip plain Textual). Not collected by pytest.

For each size it feeds the reply in real time (about 4 characters per token,
batched per event-loop wake-up as a network stream would be) into a headless
120x40 app and measures:

- CPU: process CPU time from the first write to the last token on screen;
- latency: wall time from the last ``write()`` to the first frame handed to the
  driver that contains the last token (``App._display`` is wrapped to read the
  frame's strips, so this is what a terminal would be sent).

The baseline is plain Textual ``Markdown.get_stream()`` on the same input, cut
off after ``BASELINE_TIMEOUT`` seconds. The reply generator is local on purpose:
the demo server has its own ``[[demo:size=N]]``.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown

from glm_tui.ui.markdown.widget import StreamingMarkdown

TOKENS_PER_SECOND = 2_000
CHARS_PER_TOKEN = 4
BASELINE_TIMEOUT = 60.0
END_MARK = "ZQXENDMARK"


_WORDS = [
    "the",
    "model",
    "streams",
    "tokens",
    "into",
    "a",
    "terminal",
    "widget",
    "while",
    "the",
    "user",
    "reads",
    "each",
    "reply",
    "carefully",
    "and",
    "asks",
    "another",
    "question",
    "about",
    "latency",
    "cost",
    "linear",
    "growth",
    "blocks",
    "lists",
]


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 16))]
    index = rng.randrange(len(words))
    kind = rng.randrange(4)
    if kind == 0:
        words[index] = f"**{words[index]}**"
    elif kind == 1:
        words[index] = f"`{words[index]}()`"
    elif kind == 2:
        words[index] = f"[{words[index]}](https://example.com/{words[index]})"
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(3, 6)))


def _code(rng: random.Random, lines: int) -> str:
    return "\n".join(
        f"    result_{i} = compute(value_{i % 7}, factor={rng.randint(1, 99)})  # step {i}"
        for i in range(lines)
    )


def mixed_markdown(size: int) -> str:
    """A deterministic reply of about ``size`` characters.

    Structure scales with size (a 300-item list and two ~420-line code blocks
    at 100 KB; twice that at 200 KB) so a cost quadratic in a block's length
    shows up in the ratio instead of hiding in a fixed-size block.
    """
    rng = random.Random(1234)
    scale = size / 100_000
    parts: list[str] = []

    def prose(target: float) -> None:
        total = 0
        while total < target:
            paragraph = _paragraph(rng)
            if rng.random() < 0.2:
                paragraph = f"## Section {len(parts)}\n\n{paragraph}"
            parts.append(paragraph)
            total += len(paragraph) + 2

    prose(size * 0.12)
    items = int(300 * scale)
    parts.append("\n".join(f"{i + 1}. Item {i + 1}: {_sentence(rng)}" for i in range(items)))
    prose(size * 0.10)
    lines = int(400 * scale)
    parts.append(f"```python\ndef pipeline():\n{_code(rng, lines)}\n    return result_0\n```")
    prose(size * 0.08)
    parts.append(f"```\n{_code(rng, lines)}\n```")
    used = sum(len(part) + 2 for part in parts)
    prose(size - used - 400)
    text = "\n\n".join(parts)
    return f"{text}\n\nThe end {END_MARK}"


def _frame_text(renderable: object) -> str:
    """Text of a frame sent to the driver (full layout or partial chops)."""
    strips = getattr(renderable, "strips", None)
    if strips is not None:
        return "\n".join(strip.text for line in strips for strip in line)
    chops = getattr(renderable, "chops", None) or []
    return "\n".join(strip.text for chop in chops for strip in chop.values() if strip)


class _BenchApp(App[None]):
    """A 120x40 app with one scrolling message, anchored to the bottom."""

    def __init__(self, make: Callable[[], Any]) -> None:
        super().__init__()
        self._make = make
        self.seen_mark_at: float | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield self._make()

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).anchor()

    def _display(self, screen: Any, renderable: Any) -> None:
        if (
            self.seen_mark_at is None
            and renderable is not None
            and END_MARK in _frame_text(renderable)
        ):
            self.seen_mark_at = time.perf_counter()
        super()._display(screen, renderable)


@dataclass
class Result:
    """One run's figures."""

    name: str
    size: int
    cpu: float
    latency: float | None
    wall: float
    completed: bool


async def _feed(text: str, write: Callable[[str], Awaitable[None] | None], deadline: float) -> bool:
    """Write ``text`` at 2,000 tokens/s in real time; False if the deadline hit."""
    chunk = CHARS_PER_TOKEN
    start = time.perf_counter()
    rate = TOKENS_PER_SECOND * CHARS_PER_TOKEN
    position = 0
    while position < len(text):
        if time.perf_counter() > deadline:
            return False
        due = int((time.perf_counter() - start) * rate)
        due = max(due - due % chunk, position + chunk)
        result = write(text[position:due])
        if result is not None:
            await result
        position = due
        await asyncio.sleep(chunk / rate)
    return True


async def run_ours(size: int) -> Result:
    """Stream into StreamingMarkdown."""
    text = mixed_markdown(size)
    app = _BenchApp(StreamingMarkdown)
    async with app.run_test(size=(120, 40)) as pilot:
        widget = app.query_one(StreamingMarkdown)
        await pilot.pause()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await _feed(text, widget.write, wall0 + 600)
        last_write = time.perf_counter()
        while app.seen_mark_at is None and time.perf_counter() - last_write < 10:
            await asyncio.sleep(0.002)
        cpu = time.process_time() - cpu0
        latency = None if app.seen_mark_at is None else app.seen_mark_at - last_write
        await widget.finish()
        return Result("StreamingMarkdown", size, cpu, latency, time.perf_counter() - wall0, True)


async def run_baseline(size: int) -> Result:
    """Stream into plain Textual Markdown via Markdown.get_stream()."""
    text = mixed_markdown(size)
    app = _BenchApp(lambda: Markdown(open_links=False))
    async with app.run_test(size=(120, 40)) as pilot:
        widget = app.query_one(Markdown)
        await pilot.pause()
        stream = Markdown.get_stream(widget)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        deadline = wall0 + BASELINE_TIMEOUT
        completed = await _feed(text, stream.write, deadline)
        last_write = time.perf_counter()
        while completed and app.seen_mark_at is None and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        completed = completed and app.seen_mark_at is not None
        cpu = time.process_time() - cpu0
        latency = None if app.seen_mark_at is None else app.seen_mark_at - last_write
        wall = time.perf_counter() - wall0
        if stream._task is not None:
            stream._task.cancel()  # stop without draining what is still queued
        return Result("Markdown.get_stream", size, cpu, latency, wall, completed)


def _row(result: Result) -> str:
    latency = "n/a" if result.latency is None else f"{result.latency * 1000:7.0f} ms"
    flag = "" if result.completed else f"  (stopped at {BASELINE_TIMEOUT:.0f} s, unfinished)"
    return (
        f"{result.name:<20} {result.size // 1000:>4} KB  cpu {result.cpu:7.2f} s"
        f"  wall {result.wall:6.1f} s  last-token latency {latency}{flag}"
    )


def _run_isolated(kind: str, size: int) -> Result:
    """Run one measurement in a fresh interpreter.

    Runs in one process would share a heap: the second run's garbage
    collections would also scan what the first left behind, which is not
    the cost of the reply being measured.
    """
    completed = subprocess.run(
        [
            sys.executable,
            __file__,
            "--one",
            kind,
            str(size),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return Result(**json.loads(completed.stdout.strip().splitlines()[-1]))


def main(skip_baseline: bool) -> None:
    """Run both sizes for our widget, then the baseline, and print a table."""
    ours = [_run_isolated("ours", 100_000), _run_isolated("ours", 200_000)]
    for result in ours:
        print(_row(result), flush=True)
    ratio = ours[1].cpu / ours[0].cpu
    print(f"StreamingMarkdown CPU ratio 200 KB / 100 KB: {ratio:.2f} (target <= 2.2)", flush=True)
    if not skip_baseline:
        for size in (100_000, 200_000):
            print(_row(_run_isolated("baseline", size)), flush=True)


if __name__ == "__main__":
    if "--one" in sys.argv:
        kind, size = sys.argv[-2], int(sys.argv[-1])
        runner = run_ours if kind == "ours" else run_baseline
        print(json.dumps(asdict(asyncio.run(runner(size)))))
    else:
        main("--skip-baseline" in sys.argv)
