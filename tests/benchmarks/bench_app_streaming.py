"""Benchmark: the whole app streaming a 100 KB and a 200 KB reply from the demo server.

Run by hand: ``/work/venv/bin/python tests/benchmarks/bench_app_streaming.py [--repeats 3]``.
Not collected by pytest (the file name does not start with ``test_``).

Three processes, so the client's CPU is the client's alone:

1. ``glm-tui serve-demo --flavor glm4 --token-rate 2000`` on a free loopback port;
2. a tiny TCP relay (this file, ``--relay``) between client and server that notes the
   ``time.monotonic()`` of every server->client write. The relay is idle and on loopback, so the
   moment it forwards the final bytes is the moment they land in the client's socket buffer,
   whatever the client's event loop is busy with. ``CLOCK_MONOTONIC`` is system-wide on Linux, so
   that instant is comparable with the client's own clock. (The last write is the ``[DONE]``
   frame, sent right after the last token, so the latency is, if anything, under-counted by the
   server's sub-millisecond gap between the two.)
3. for each measurement a fresh child (``--one SIZE``) running the real ``GlmTuiApp`` headless at
   120x40 via ``run_test``, with a temporary ``GLM_TUI_DATA_DIR`` / ``GLM_TUI_CONFIG``. It types
   ``[[demo:size=N]]`` and presses Enter, then reports:

   - cpu: the child's CPU time from Enter to the last token on screen;
   - latency: from the relay forwarding the last bytes to the first frame handed to the driver
     after the reply widget's flush that consumed the whole reply (``StreamingMarkdown._flush``
     and ``App._display`` are wrapped; nothing else is changed);
   - wall: Enter to the last token on screen.

Each figure is the median of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: find tests/

from tests.support.waiting import wait_for

SIZES = (102_400, 204_800)
TOKEN_RATE = 2_000
WAIT_S = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")


# ------------------------------------------------------------------------------------ relay


async def _relay(listen: int, target: int, control: int) -> None:
    """Forward ``listen`` -> ``target``; a connection to ``control`` reads the last s->c time."""
    last = [0.0]

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   to_client: bool) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                if to_client:
                    last[0] = time.monotonic()
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)
        await asyncio.gather(pipe(reader, up_writer, False), pipe(up_reader, writer, True))

    async def report(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(f"{last[0]!r}\n".encode())
        await writer.drain()
        writer.close()

    await asyncio.start_server(client, "127.0.0.1", listen)
    await asyncio.start_server(report, "127.0.0.1", control)
    await asyncio.Event().wait()


def last_server_write(control: int) -> float:
    with socket.create_connection(("127.0.0.1", control), timeout=5) as sock:
        return float(sock.makefile().readline())


@contextmanager
def demo_stack() -> Iterator[tuple[int, int]]:
    """Start the demo server and the relay; yields (relay port, relay control port)."""
    exe = shutil.which("glm-tui", path=str(Path(sys.executable).parent)) or "glm-tui"
    server_port, relay_port, control_port = free_port(), free_port(), free_port()
    server = subprocess.Popen(
        [exe, "serve-demo", "--flavor", "glm4", "--host", "127.0.0.1",
         "--port", str(server_port), "--token-rate", str(TOKEN_RATE)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    relay = subprocess.Popen(
        [sys.executable, __file__, "--relay", str(relay_port), str(server_port),
         str(control_port)])
    try:
        wait_port(server_port)
        wait_port(relay_port)
        wait_port(control_port)
        yield relay_port, control_port
    finally:
        for proc in (relay, server):
            proc.terminate()
            proc.wait(10)


# ------------------------------------------------------------------------------ the client


class Probe:
    """Instruments the real app: when the whole reply is flushed, and the next frame after it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.flushed_at: float | None = None
        self.seen_at: float | None = None

    def install(self, app_cls: type[Any]) -> None:
        from glm_tui.ui.markdown.widget import StreamingMarkdown

        probe = self
        flush = StreamingMarkdown._flush

        async def timed_flush(widget: StreamingMarkdown, final: bool) -> None:
            await flush(widget, final)
            if (probe.flushed_at is None and not widget._pending
                    and len(widget.text) >= probe.size):
                probe.flushed_at = time.monotonic()

        StreamingMarkdown._flush = timed_flush  # type: ignore[method-assign,assignment]
        display = app_cls._display

        def timed_display(app: Any, screen: Any, renderable: Any) -> None:
            display(app, screen, renderable)
            if probe.flushed_at is not None and probe.seen_at is None and renderable is not None:
                probe.seen_at = time.monotonic()

        app_cls._display = timed_display


def make_app(base_url: str) -> Any:
    from dataclasses import replace

    from glm_tui.model.server_kind import ServerKind
    from glm_tui.settings.config import load_settings
    from glm_tui.ui.app import GlmTuiApp, tune_gc

    tune_gc()  # as run_app does: measure the app as people run it
    settings = load_settings(base_url=base_url)
    profile = replace(settings.profile, kind=ServerKind.GLM4)
    return GlmTuiApp(replace(settings, servers={**settings.servers, profile.name: profile}))


async def start_conversation(pilot: Any) -> Any:
    """Wait for the conversation screen with the prompt focused; returns the screen."""
    from glm_tui.ui.screens.conversation import ConversationScreen

    app = pilot.app
    await wait_for(None, lambda: isinstance(app.screen, ConversationScreen)
                   and app.screen.prompt.has_focus, 30, "the conversation screen")
    return app.screen


async def measure_one(size: int, relay: int, control: int) -> dict[str, float]:
    from glm_tui.ui.app import GlmTuiApp

    probe = Probe(size)
    probe.install(GlmTuiApp)
    app = make_app(f"http://127.0.0.1:{relay}/v1/")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await start_conversation(pilot)
        screen.prompt.load_text(f"[[demo:size={size}]]")
        await pilot.pause()
        cpu0, wall0 = time.process_time(), time.monotonic()
        await pilot.press("enter")
        await wait_for(None, lambda: probe.seen_at is not None, WAIT_S, "the last token on screen")
        cpu = time.process_time() - cpu0
        assert probe.seen_at is not None
        sent = last_server_write(control)
        result = {"size": size, "cpu_s": cpu, "latency_s": probe.seen_at - sent,
                  "wall_s": probe.seen_at - wall0}
        await wait_for(None, lambda: not screen.reply_running, 30, "the reply to close")
    return result


def run_child(size: int, relay: int, control: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GLM_TUI_DATA_DIR": f"{tmp}/data",
               "GLM_TUI_CONFIG": f"{tmp}/config.toml"}
        env.pop("OPENAI_BASE_URL", None)
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size), str(relay), str(control)],
            env=env, capture_output=True, text=True, timeout=WAIT_S * 2)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(repeats: int) -> None:
    rows: dict[int, list[dict[str, float]]] = {size: [] for size in SIZES}
    with demo_stack() as (relay, control):
        for run in range(repeats):
            for size in SIZES:
                result = run_child(size, relay, control)
                rows[size].append(result)
                print(f"run {run + 1} {size // 1024:>4} KB  cpu {result['cpu_s']:6.2f} s  "
                      f"latency {result['latency_s']:6.3f} s  wall {result['wall_s']:6.2f} s",
                      flush=True)
    med = {size: {key: statistics.median(r[key] for r in rows[size])
                  for key in ("cpu_s", "latency_s", "wall_s")} for size in SIZES}
    print(f"\nmedians of {repeats} runs, {TOKEN_RATE} tokens/s, real GlmTuiApp 120x40 headless")
    print(f"{'reply':>8} | {'client CPU s':>12} | {'last-token latency s':>20} | {'wall s':>7}")
    for size in SIZES:
        m = med[size]
        print(f"{size // 1024:>5} KB | {m['cpu_s']:12.2f} | {m['latency_s']:20.3f} | "
              f"{m['wall_s']:7.2f}")
    ratio = med[SIZES[1]]["cpu_s"] / med[SIZES[0]]["cpu_s"]
    ratios = [b["cpu_s"] / a["cpu_s"] for a, b in zip(rows[SIZES[0]], rows[SIZES[1]], strict=True)]
    print(f"CPU ratio 200 KB / 100 KB: x{ratio:.2f} (per run: "
          + ", ".join(f"x{r:.2f}" for r in ratios) + "); budget x2.2, latency budget 0.5 s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--relay", nargs=3, type=int, metavar=("LISTEN", "TARGET", "CONTROL"))
    parser.add_argument("--one", nargs=3, type=int, metavar=("SIZE", "RELAY", "CONTROL"))
    args = parser.parse_args()
    if args.relay:
        asyncio.run(_relay(*args.relay))
    elif args.one:
        print(json.dumps(asyncio.run(measure_one(*args.one))))
    else:
        main(args.repeats)
