"""Benchmark: attaching a 24-megapixel JPEG in the real app, and typing while it is prepared.

Run by hand: ``python tests/benchmarks/bench_image_attach.py [--runs 5]``. Measured, not
asserted (DESIGN.md); the issue's targets are printed beside the figures.

``glm-tui serve-demo --flavor glm4`` runs on a free loopback port, and a fresh child runs the
real ``GlmTuiApp`` headless at 120x40 with model ``glm-4v`` and ``[images] display = "halfcell"``
(so the thumbnail is really drawn), in a temporary data directory. The picture is a 6000x4000
photo-like JPEG (gradient and noise, quality 90) made with Pillow before the child starts.

Each run, in the child: Ctrl+F opens the picker, the path is put in its field, and Enter is sent
exactly as the terminal driver sends a key (``Driver.send_message``). From that moment:

* chip: until the first frame handed to the driver (``App._display``, wrapped) that shows the
  chip with the normalised size ("photo.jpg · 1120×747 · ...");
* keys: one key every ``GAP_S`` typed into the prompt while the picture is prepared (the method
  of ``bench_keypress.py``: from ``send_message`` to the first frame showing the prompt's new
  text); the prompt gets the focus back as the picker closes;
* memory: the child's peak resident memory (``VmHWM``) after all runs, less its resident memory
  (``VmRSS``) just before the first attach.

After the runs the question is sent: thumbnail is from Enter to the first frame with the half
block thumbnail in the conversation. The child also notes which of Pillow and textual-image were
loaded at its first frame (none should be).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: find tests/

from tests.benchmarks.bench_app_streaming import free_port, wait_port
from tests.benchmarks.bench_keypress import _frame_text, _summary
from tests.support.waiting import wait_for

GAP_S = 0.05
WAIT_S = 60.0
PICTURE_SIZE = (6000, 4000)


def make_photo(path: Path) -> int:
    """A 24-megapixel JPEG that compresses like a photo (smooth colour plus grain)."""
    from PIL import Image

    width, height = PICTURE_SIZE
    red = Image.linear_gradient("L").resize((width, height))
    green = Image.radial_gradient("L").resize((width, height))
    blue = Image.effect_noise((width, height), 40)
    Image.merge("RGB", (red, green, blue)).save(path, format="JPEG", quality=90)
    return path.stat().st_size


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class FrameProbe:
    """Notes the time of the first frame showing each wanted text."""

    def __init__(self) -> None:
        self.wanted: dict[str, float | None] = {}
        self.first_frame_heavy: list[str] | None = None

    def want(self, text: str) -> None:
        self.wanted[text] = None

    def seen(self, text: str) -> float | None:
        return self.wanted.get(text)

    def install(self, app_cls: type[Any]) -> None:
        display = app_cls._display
        probe = self

        def timed_display(app: Any, screen: Any, renderable: Any) -> None:
            if probe.first_frame_heavy is None:
                probe.first_frame_heavy = sorted(
                    m for m in ("PIL", "textual_image") if m in sys.modules)
            open_texts = [t for t, at in probe.wanted.items() if at is None]
            text = _frame_text(renderable) if open_texts else ""
            display(app, screen, renderable)
            now = time.monotonic()
            for wanted in open_texts:
                if wanted in text:
                    probe.wanted[wanted] = now

        app_cls._display = timed_display


async def measure(runs: int, base_url: str, picture: str) -> dict[str, Any]:
    from dataclasses import replace

    from textual import events

    from glm_tui.model.server_kind import ServerKind
    from glm_tui.settings.config import load_settings
    from glm_tui.ui.app import GlmTuiApp, tune_gc
    from glm_tui.ui.dialogs.attach_image import AttachImageModal
    from glm_tui.ui.screens.conversation import ConversationScreen

    probe = FrameProbe()
    probe.install(GlmTuiApp)
    tune_gc()
    settings = load_settings(base_url=base_url)
    profile = replace(settings.profile, kind=ServerKind.GLM4, model="glm-4v")
    settings = replace(settings, servers={**settings.servers, profile.name: profile},
                       image_display="halfcell")
    app = GlmTuiApp(settings)
    chip = f"{Path(picture).name} · 1120×"
    figures: dict[str, list[float]] = {"chip_picker": [], "chip_paste": [], "keys_picker": [],
                                       "keys_paste": [], "first_key_picker": []}

    async def type_until_ready(started: float, typed: str) -> list[float]:
        """One key every GAP_S into the prompt until the chip shows the size; latencies."""
        latencies: list[float] = []
        while probe.seen(chip) is None:
            if time.monotonic() - started > WAIT_S:
                raise TimeoutError("the chip never showed the picture's size")
            typed += str(len(typed) % 10)
            probe.want(typed)
            posted = time.monotonic()
            driver.send_message(events.Key(typed[-1], typed[-1]))
            await wait_for(None, lambda: probe.seen(typed) is not None, WAIT_S,  # noqa: B023
                           "a key on screen")
            latencies.append(float(probe.seen(typed)) - posted)  # type: ignore[arg-type]
            await asyncio.sleep(max(0.0, GAP_S - (time.monotonic() - posted)))
        return latencies

    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(None, lambda: isinstance(app.screen, ConversationScreen)
                       and app.screen.prompt.has_focus, WAIT_S, "the conversation")
        screen = app.screen
        assert isinstance(screen, ConversationScreen)
        rss_before = _status_kb("VmRSS")
        driver = app._driver
        assert driver is not None
        for run in range(runs):
            # Through the picker: Ctrl+F, the path in its field, Enter.
            driver.send_message(events.Key("ctrl+f", None))
            await wait_for(None, lambda: isinstance(app.screen, AttachImageModal)
                           and app.focused is not None and app.focused.id == "attach-path",
                           WAIT_S, "the picker")
            app.screen.query_one("#attach-path").value = picture  # type: ignore[attr-defined]
            await pilot.pause()
            probe.want(chip)
            started = time.monotonic()
            driver.send_message(events.Key("enter", "\r"))
            await wait_for(None, lambda: app.screen is screen and app.focused is screen.prompt,
                           WAIT_S, "the picker closed, the prompt focused")
            screen.prompt.load_text(f"ZQ{run}-")  # not timed: the keys are
            screen.prompt.move_cursor(screen.prompt.document.end)
            latencies = await type_until_ready(started, f"ZQ{run}-")
            figures["chip_picker"].append(float(probe.seen(chip)) - started)  # type: ignore[arg-type]
            figures["first_key_picker"].append(latencies[0])
            figures["keys_picker"].extend(latencies[1:])
            await screen.attachments.clear()

            # Pasted (a file dropped on the terminal): no dialog closes meanwhile.
            typed = f"ZQ{run}+"
            screen.prompt.load_text(typed)
            screen.prompt.move_cursor(screen.prompt.document.end)
            probe.want(typed)
            await wait_for(None, lambda: probe.seen(typed) is not None, WAIT_S,  # noqa: B023
                           "the prompt drawn")
            probe.want(chip)
            started = time.monotonic()
            driver.send_message(events.Paste(picture))
            figures["keys_paste"].extend(await type_until_ready(started, typed))
            figures["chip_paste"].append(float(probe.seen(chip)) - started)  # type: ignore[arg-type]
            await screen.attachments.clear()
            screen.prompt.load_text("")
            await pilot.pause()
        peak_added_mb = (_status_kb("VmHWM") - rss_before) / 1024

        await screen.attach(Path(picture))
        await wait_for(None, lambda: screen.attachments.attachments(), WAIT_S, "attached")
        screen.prompt.load_text("What's in this image?")
        probe.want("▀▀▀▀▀▀▀▀")
        sent = time.monotonic()
        driver.send_message(events.Key("enter", "\r"))
        await wait_for(None, lambda: probe.seen("▀▀▀▀▀▀▀▀") is not None, WAIT_S,
                       "the thumbnail in the conversation")
        thumbnail = float(probe.seen("▀▀▀▀▀▀▀▀")) - sent  # type: ignore[arg-type]
        await wait_for(None, lambda: not screen.reply_running, WAIT_S, "the reply")
    return {**figures, "peak_added_mb": peak_added_mb, "thumbnail": thumbnail,
            "first_frame_heavy": probe.first_frame_heavy}


def main(runs: int) -> None:
    exe = shutil.which("glm-tui", path=str(Path(sys.executable).parent)) or "glm-tui"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        picture = Path(tmp) / "photo.jpg"
        size = make_photo(picture)
        server = subprocess.Popen([exe, "serve-demo", "--flavor", "glm4", "--port", str(port),
                                   "--token-rate", "2000"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(port)
            env = {**os.environ, "GLM_TUI_DATA_DIR": f"{tmp}/data",
                   "GLM_TUI_CONFIG": f"{tmp}/config.toml"}
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(runs), f"http://127.0.0.1:{port}/v1/",
                 str(picture)], env=env, capture_output=True, text=True, timeout=WAIT_S * 10)
        finally:
            server.terminate()
            server.wait(10)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"24-megapixel JPEG ({PICTURE_SIZE[0]}x{PICTURE_SIZE[1]}, {size / 1e6:.1f} MB), "
          f"real GlmTuiApp 120x40 headless, {runs} runs each way")
    for how in ("picker", "paste"):
        chips = result[f"chip_{how}"]
        print(f"  {how:6}: Enter / paste -> chip with the size  median "
              f"{statistics.median(chips):.2f} s, max {max(chips):.2f} s   (target 1.5 s)")
    print(f"  Enter to send -> half-block thumbnail in the conversation  "
          f"{result['thumbnail']:.2f} s")
    print(f"  keys while it is prepared, one per {GAP_S * 1000:.0f} ms   (target p95 < 50 ms)")
    print(f"    pasted path                    {_summary(result['keys_paste'])}")
    print(f"    picker, after its first key    {_summary(result['keys_picker'])}")
    print(f"    picker, the first key (sent as the dialog closes) "
          f"{_summary(result['first_key_picker'])}")
    print(f"  peak resident memory added                 {result['peak_added_mb']:.0f} MB   "
          "(target < 300 MB)")
    print(f"  loaded at the first frame                  {result['first_frame_heavy']} "
          "(Pillow, textual-image: none expected)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", nargs=3, metavar=("RUNS", "URL", "PICTURE"))
    args = parser.parse_args()
    if args.child:
        runs, url, picture = args.child
        print(json.dumps(asyncio.run(measure(int(runs), url, picture))))
    else:
        main(args.runs)
