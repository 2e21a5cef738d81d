"""Big photos in: peak memory and time of `read_abacus` and `classify` on 12, 24 and 48 megapixel JPEGs.

Each photo is a rendered soroban scene (with markers) upscaled to size, with camera-like noise,
saved as a JPEG (quality 90) in a temporary folder. Each measurement runs in a fresh process:
the shipped model is loaded and the call warmed up on a small photo, then the call runs once on
the big photo. Reported: the call's peak RSS above the RSS it started from (Linux: the peak is
reset first through /proc/self/clear_refs; ru_maxrss would carry the parent's peak over fork),
per input pixel, and the call's time. The target is under ~10 bytes per pixel.

    .venv/bin/python benchmarks/image_memory.py [--sizes 12 24 48] [--json FILE]
    .venv/bin/python benchmarks/image_memory.py --source /tmp/old   # another checkout, for a before/after
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = {12: (4000, 3000), 24: (6000, 4000), 48: (8000, 6000)}  # megapixels: (width, height)
NUMBER, COLUMNS, SEED = 246813579, 13, 21
CALLS = ("read_abacus", "classify")


def make_photo(path: Path, width: int, height: int) -> None:
    """A rendered scene at width x height with sensor-like noise, as a quality-90 JPEG."""
    import cv2
    from PIL import Image

    from soroban_vision.render.scene import render_scene

    rgb, _ = render_scene(NUMBER, COLUMNS, SEED, markers=True)
    big = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)
    rng = np.random.default_rng(SEED)
    for y in range(0, height, 500):  # in bands: the noise of 48 megapixels at once is 1 GB of floats
        band = big[y : y + 500].astype(np.int16) + rng.normal(0, 3, big[y : y + 500].shape).astype(np.int16)
        big[y : y + 500] = np.clip(band, 0, 255)
    Image.fromarray(big).save(path, quality=90)


def memory_kb(field: str) -> int:
    """VmRSS (now) or VmHWM (the peak since the last reset) of this process, in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def worker(call: str, path: str, warm: str) -> None:
    """In a fresh process: the model loaded, the call warmed up, then measured once."""
    from soroban_vision import load_column_classifier, read_abacus

    classifier = load_column_classifier()
    run = {
        "read_abacus": lambda p: read_abacus(p, classifier=classifier).number,
        "classify": lambda p: classifier.classify([p])[0]["digit"],
    }[call]
    run(warm)
    Path("/proc/self/clear_refs").write_text("5")  # the peak, from here
    base = memory_kb("VmRSS")
    t0 = time.perf_counter()
    answer = run(path)
    seconds = time.perf_counter() - t0
    peak = memory_kb("VmHWM")
    print(json.dumps({"answer": answer, "seconds": seconds, "base_kb": base, "peak_kb": peak}))


def measure(call: str, path: Path, warm: Path, source: Path | None) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if source is not None:
        env["PYTHONPATH"] = str(source / "src")
    out = subprocess.run(
        [sys.executable, __file__, "--worker", call, str(path), str(warm)],
        capture_output=True,
        text=True,
        env=env,
        cwd=source or Path(__file__).resolve().parents[1],
    )
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), choices=list(SIZES))
    ap.add_argument("--source", type=Path, help="Measure the soroban_vision in SOURCE/src instead.")
    ap.add_argument("--json", type=Path, help="Also write the results here.")
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="image-memory-") as tmp:
        warm = Path(tmp) / "warm.jpg"
        make_photo(warm, 640, 480)
        print(f"{'photo':>14} {'file MB':>8} {'call':>12} {'peak MB':>8} {'bytes/px':>9} {'s':>6}  answer")
        for mp in args.sizes:
            width, height = SIZES[mp]
            path = Path(tmp) / f"photo-{mp}mp.jpg"
            make_photo(path, width, height)
            for call in CALLS:
                r = measure(call, path, warm, args.source)
                row = {
                    "megapixels": width * height / 1e6,
                    "width": width,
                    "height": height,
                    "call": call,
                    **r,
                }
                row["file_mb"] = path.stat().st_size / 1e6
                if "error" not in r:
                    row["peak_mb_above_start"] = (r["peak_kb"] - r["base_kb"]) / 1024
                    row["bytes_per_pixel"] = (r["peak_kb"] - r["base_kb"]) * 1024 / (width * height)
                    print(
                        f"{width}x{height:<5} {row['file_mb']:8.1f} {call:>12} "
                        f"{row['peak_mb_above_start']:8.0f} {row['bytes_per_pixel']:9.1f} {r['seconds']:6.2f}"
                        f"  {r['answer']}"
                    )
                else:
                    print(f"{width}x{height:<5} {row['file_mb']:8.1f} {call:>12}  error: {r['error']}")
                rows.append(row)
    if args.json:
        args.json.write_text(json.dumps({"number": NUMBER, "rows": rows}, indent=1) + "\n")
        print(f"json: {args.json}")


if __name__ == "__main__":
    main()
