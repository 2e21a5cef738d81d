"""Whole-soroban accuracy on a `render-scenes` folder: every scene read and compared with its
ground truth (exact numbers, columns, frame corners, time), and, optionally, read again in
the browser and compared with Python."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from soroban_vision.abacus.parity import in_browser
from soroban_vision.abacus.photo import load_photo
from soroban_vision.abacus.read import AbacusReading, read_abacus
from soroban_vision.abacus.spec import FrameNotFound
from soroban_vision.errors import UsageError


def evaluate_scenes(
    root: str | Path,
    reader,
    columns: int | None = None,
    markers: str = "auto",
    browser: str | Path | None = None,
) -> dict:
    """Read every scene of a `render-scenes` folder and compare with its ground truth.

    With `browser` (a TF.js model folder), every scene is read again by the browser pipeline
    (web/src/index.js in headless Chromium, wasm) and the result gains a "browser" section: its
    accuracy, its agreement with Python and its time per frame. The browser finds the frame from
    the markers when the scenes have them; otherwise it is given the corners Python found, as a
    user would click them, so the rest of the pipeline is compared on the same frame.
    """
    root = Path(root)
    manifest = _manifest(root)
    items = manifest["items"]
    readings: dict[str, AbacusReading] = {}
    seconds, failures = [], []
    for item in items:
        t0 = time.perf_counter()
        try:
            reading = read_abacus(load_photo(root / item["file"]), reader, columns, markers)
        except FrameNotFound as e:
            failures.append({"file": item["file"], "error": str(e), "code": e.code})
            continue
        readings[item["file"]] = reading
        seconds.append(time.perf_counter() - t0)
        if reading.digits != item["digits"]:
            failures.append(
                {
                    "file": item["file"],
                    "got": reading.digits,
                    "want": item["digits"],
                    "method": reading.method,
                }
            )
    return {
        "n": len(items),
        "markers_in_scenes": manifest.get("markers"),
        **_accuracy(items, readings),
        "ms_per_frame": {
            "median": 1000 * float(np.median(seconds)) if seconds else None,
            "p95": 1000 * float(np.percentile(seconds, 95)) if seconds else None,
        },
        "runtime": getattr(reader, "runtime", ""),
        "failures": failures,
        **({"browser": in_browser(root, manifest, readings, browser, columns, markers)} if browser else {}),
    }


def _manifest(root: Path) -> dict:
    try:
        return json.loads((root / "manifest.json").read_text())
    except FileNotFoundError:
        raise UsageError(
            f"{root} has no manifest.json (make one with `soroban-vision render-scenes`)"
        ) from None


def _accuracy(items: list[dict], readings: dict[str, AbacusReading]) -> dict:
    """Exact numbers, columns, frames not found and corner errors of the readings (by file)
    against the scenes' truth; a scene with no reading counts as wrong in every column."""
    exact = cols_ok = cols_n = not_found = 0
    corner_errors = []
    for item in items:
        cols_n += len(item["digits"])
        reading = readings.get(item["file"])
        if reading is None:
            not_found += 1
            continue
        truth = np.array(item["corners"], np.float64)
        got = np.array(reading.corners, np.float64)
        corner_errors.append(
            float(np.linalg.norm(got - truth, axis=1).max() / np.linalg.norm(truth[1] - truth[0]))
        )
        same_count = len(reading.digits) == len(item["digits"])
        exact += reading.number == item["number"] and same_count
        if same_count:
            cols_ok += sum(a == b for a, b in zip(reading.digits, item["digits"], strict=True))
    n = len(items)
    return {
        "exact_number_accuracy": exact / n if n else 0.0,
        "column_accuracy": cols_ok / cols_n if cols_n else 0.0,
        "frame_not_found": not_found,
        "corner_error_pct_of_width": {
            "median": 100 * float(np.median(corner_errors)) if corner_errors else None,
            "p95": 100 * float(np.percentile(corner_errors, 95)) if corner_errors else None,
            "max": 100 * float(np.max(corner_errors)) if corner_errors else None,
        },
    }
