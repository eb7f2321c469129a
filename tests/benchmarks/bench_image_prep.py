"""Preparing a 24-megapixel photo for sending: wall time and peak memory added (run by hand).

    python -m tests.benchmarks.bench_image_prep [--runs 5] [--keep DIR]

Makes a 6000×4000 JPEG with Pillow (a smooth colour field with grain on top, so it compresses
like a camera photo rather than like a flat colour: about 10 MB at quality 92), then runs
``prepare_image`` on it in fresh subprocesses, one per run. Each child reports:

* the time to import Pillow (paid once per process, on the first attachment);
* the wall time of ``prepare_image`` itself (open, verify, draft decode, EXIF, resize, JPEG
  encode under the byte cap);
* the peak memory it added: ``ru_maxrss`` (the resident-set high-water mark, which sees Pillow's
  C buffers, unlike tracemalloc) read just before the call and just after it. A fresh process
  per run keeps one run's peak from hiding the next's.

A second row does the same decode without ``Image.draft`` (full-size decode, then thumbnail), to
show what the draft step saves. Target from issue 9: attach + normalise + thumbnail within 1.5 s
on 2 cores, under 300 MB of memory added; this measures the normalising part.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SIZE = (6000, 4000)

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

def hwm_mb():
    # VmHWM: this process image's own high-water mark (ru_maxrss also keeps the parent's peak
    # from before exec, which is why the parent of these children stays small).
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return peak_mb()

path, mode = Path(sys.argv[1]), sys.argv[2]
from glm_tui.chat.image_prep import prepare_image
t0 = time.perf_counter()
from PIL import Image
imported = time.perf_counter() - t0
before, hwm_before = peak_mb(), hwm_mb()
t1 = time.perf_counter()
if mode == "prepare":
    prepared = prepare_image(path)
    result = [prepared.width, prepared.height, len(prepared.jpeg)]
else:  # the naive way: decode all 24 megapixels, then shrink
    with Image.open(path) as image:
        image.load()
        image.thumbnail((1120, 1120), Image.Resampling.LANCZOS, reducing_gap=None)
        result = list(image.size) + [0]
elapsed = time.perf_counter() - t1
print(json.dumps({"import_s": imported, "prepare_s": elapsed, "before_mb": before,
                  "added_mb": peak_mb() - before, "hwm_added_mb": hwm_mb() - hwm_before,
                  "result": result}))
"""


def make_photo(path: Path) -> None:
    """A 6000×4000 JPEG that compresses like a photo: smooth colour plus grain."""
    from PIL import Image

    width, height = SIZE
    field = Image.linear_gradient("L").resize((width, height))
    base = Image.merge("RGB", (field, field.rotate(90).resize((width, height)),
                               Image.radial_gradient("L").resize((width, height))))
    grain = Image.effect_noise((width, height), 28).convert("RGB")
    Image.blend(base, grain, 0.25).save(path, "JPEG", quality=92)


def run_child(path: Path, mode: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path), mode], check=True,
                          capture_output=True, text=True, timeout=300)
    data: dict[str, float] = json.loads(done.stdout)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, default=None, help="make the photo in this folder")
    parser.add_argument("--make", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make is not None:
        make_photo(args.make)
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-image-"))
    folder.mkdir(parents=True, exist_ok=True)
    photo = folder / "camera 24mp.jpg"
    if not photo.exists():
        # Made in a child too: ru_maxrss survives fork and exec, so a parent that once held the
        # 72 MB picture would lend every measuring child its peak.
        subprocess.run([sys.executable, "-m", "tests.benchmarks.bench_image_prep", "--make",
                        str(photo)], check=True, timeout=300)
    print(f"photo: {SIZE[0]}×{SIZE[1]} JPEG, {photo.stat().st_size / 1e6:.1f} MB on disk")
    print(f"{'mode':<10} {'import Pillow':>14} {'wall (median)':>14} {'wall (max)':>11} "
          f"{'peak added':>11} {'(VmHWM)':>8} {'result':>22}")
    for mode in ("prepare", "naive"):
        runs = [run_child(photo, mode) for _ in range(args.runs)]
        walls = [r["prepare_s"] for r in runs]
        added = max(r["added_mb"] for r in runs)
        hwm = max(r["hwm_added_mb"] for r in runs)
        imported = statistics.median(r["import_s"] for r in runs)
        width, height, size = runs[0]["result"]  # type: ignore[misc]
        shown = f"{width}×{height}" + (f", {size / 1024:.0f} KB" if size else "")
        print(f"{mode:<10} {imported * 1000:>11.0f} ms {statistics.median(walls):>12.2f} s "
              f"{max(walls):>9.2f} s {added:>8.0f} MB {hwm:>5.0f} MB {shown:>22}")


if __name__ == "__main__":
    main()
