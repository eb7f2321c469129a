"""Benchmark: key-to-screen latency in the prompt, idle and while a 100 KB reply streams.

Run by hand: ``/work/venv/bin/python tests/benchmarks/bench_keypress.py [--keys 60]``.
Not collected by pytest.

The demo server (``glm-tui serve-demo --flavor glm4 --token-rate 2000``) and a fresh child
running the real ``GlmTuiApp`` headless at 120x40 are started as in ``bench_app_streaming.py``.
The child first types ``--keys`` characters into the idle prompt, then asks ``[[demo:size=102400]]``
and types the same number while the reply streams, one key every ``GAP_S`` (a fast typist).

A key is sent exactly as the terminal driver sends one (``Driver.send_message`` of an
``events.Key``); its latency is from that call to the first frame handed to the driver
(``App._display``, wrapped) whose text shows the prompt's new content. The typed text is
``ZQ`` followed by digits, so the prompt after key k is a string no earlier frame and no line
of the reply contains. The prompt is cleared (not timed) every ``PER_LINE`` keys so it never wraps.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_app_streaming import (
    WAIT_S,
    demo_stack,
    make_app,
    start_conversation,
    wait_for,
)

GAP_S = 0.1
PER_LINE = 40
SIZE = 102_400


def _frame_text(renderable: Any) -> str:
    """The text of a frame: a full layout (``strips``) or a partial update (``chops``)."""
    chops = getattr(renderable, "chops", None)
    if chops is not None:
        return "\n".join(
            "".join(strip.text for strip in line.values() if strip is not None)
            for line in chops
        )
    strips = getattr(renderable, "strips", None)
    if strips is None:
        return ""
    lines = [list(line) for line in strips]
    renderable.strips = lines  # keep them for the driver
    return "\n".join("".join(chop.text for chop in line) for line in lines)


class KeyProbe:
    """Notes when a frame first contains the text we are waiting for."""

    def __init__(self) -> None:
        self.wanted: str | None = None
        self.seen_at: float | None = None

    def install(self, app_cls: type[Any]) -> None:
        display = app_cls._display
        probe = self

        def timed_display(app: Any, screen: Any, renderable: Any) -> None:
            # Read the frame first: a line of strips may be a one-shot iterator.
            shows = (probe.wanted is not None and probe.seen_at is None
                     and probe.wanted in _frame_text(renderable))
            display(app, screen, renderable)
            if shows:
                probe.seen_at = time.monotonic()

        app_cls._display = timed_display


async def type_keys(app: Any, screen: Any, probe: KeyProbe, count: int,
                    still: Any = None) -> list[float]:
    """Type ``count`` characters, one every GAP_S; returns each key's latency."""
    from textual import events

    latencies: list[float] = []
    typed = ""
    for index in range(count):
        if still is not None and not still():
            break
        if index % PER_LINE == 0:
            typed = "ZQ"
            screen.prompt.load_text(typed)
            screen.prompt.move_cursor(screen.prompt.document.end)
            await asyncio.sleep(GAP_S)
        char = str(index % 10)
        typed += char
        probe.wanted, probe.seen_at = typed, None
        posted = time.monotonic()
        app._driver.send_message(events.Key(char, char))
        await wait_for(None, lambda: probe.seen_at is not None, 30, f"key {index} on screen")
        assert probe.seen_at is not None
        latencies.append(probe.seen_at - posted)
        probe.wanted = None
        await asyncio.sleep(max(0.0, GAP_S - (time.monotonic() - posted)))
    return latencies


async def measure(keys: int, relay: int) -> dict[str, list[float]]:
    from glm_tui.ui.app import GlmTuiApp

    probe = KeyProbe()
    probe.install(GlmTuiApp)
    app = make_app(f"http://127.0.0.1:{relay}/v1/")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await start_conversation(pilot)
        idle = await type_keys(app, screen, probe, keys)
        screen.prompt.load_text(f"[[demo:size={SIZE}]]")
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(None, lambda: screen.reply_running, 30, "the reply to start")
        await asyncio.sleep(1.0)  # be well into the stream
        streaming = await type_keys(app, screen, probe, keys,
                                    still=lambda: screen.reply_running)
        await wait_for(None, lambda: not screen.reply_running, WAIT_S, "the reply to finish")
    return {"idle": idle, "streaming": streaming}


def _summary(values: list[float]) -> str:
    if not values:
        return "no samples"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (f"n={len(values):3d}  median {statistics.median(values) * 1000:6.1f} ms  "
            f"p95 {p95 * 1000:6.1f} ms  max {ordered[-1] * 1000:6.1f} ms")


def main(keys: int) -> None:
    with demo_stack() as (relay, _), tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GLM_TUI_DATA_DIR": f"{tmp}/data",
               "GLM_TUI_CONFIG": f"{tmp}/config.toml"}
        out = subprocess.run([sys.executable, __file__, "--child", str(keys), str(relay)],
                             env=env, capture_output=True, text=True, timeout=WAIT_S * 3)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"key-to-screen latency, real GlmTuiApp 120x40 headless, one key every {GAP_S} s")
    print(f"  idle                      {_summary(result['idle'])}")
    print(f"  streaming 100 KB @2000t/s {_summary(result['streaming'])}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=60)
    parser.add_argument("--child", nargs=2, type=int, metavar=("KEYS", "RELAY"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(measure(*args.child))))
    else:
        main(args.keys)
