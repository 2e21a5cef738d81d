"""The scenes of a `render-scenes` folder read again by the browser pipeline (web/src/index.js in
headless Chromium, wasm) and compared with Python's readings: the release gate for "same answer
everywhere".

The report (`evaluate-scenes --browser`, its "browser" section; these keys are stable):

- n, runtime, frame_from: the scenes, the browser runtime, where the browser's frame came from
  ("markers": its own marker detector, with the same `markers` mode as Python, and "markers, else
  the frame model" in mode auto when Python used a frame model too; "frame model": its own frame
  model, for scenes without markers when Python used one too; else the corners Python found,
  handed over as a user's clicks);
- python_exact_number_accuracy, exact_number_accuracy: the share of scenes each side read to
  the true number (Python's, then the browser's);
- same_number: the share of scenes with the same answer on both sides (the same text, unread
  columns included, or no frame on either side); same_number_as_python: the share of the scenes
  Python read that the browser read to the same digits;
- corner_diff_px: over the scenes where both found the frame, the largest distance between the
  two sides' frame corners (pixels of the photo): n, median, p95, max, and within_1px (count);
- markers_found: scenes whose frame each side found from markers ("markers" or "markers-3"):
  python, browser, both, and the files found on one side only (python_only, browser_only);
- frame_not_found (browser), ms_per_frame (browser, median and p95), failures (browser).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from soroban_vision.abacus.markers import MARKER_METHODS
from soroban_vision.abacus.spec import LOW_CONFIDENCE


def in_browser(
    root: Path,
    manifest: dict,
    readings: dict,
    model: str | Path,
    columns,
    markers,
    frame_model: bool = False,
    threshold: float = LOW_CONFIDENCE,
) -> dict:
    """Read every scene of `manifest` in Chromium with the TF.js model folder `model` (and, with
    `frame_model`, the shipped frame model's TF.js export for the scenes without markers), with
    the flag threshold Python read with."""
    from soroban_vision.frame.detector import FRAME_MODEL_DIR
    from soroban_vision.runners.chromium import ChromiumRunner  # only this comparison needs a browser

    frame = FRAME_MODEL_DIR / "tfjs" if frame_model else None
    with ChromiumRunner(model, "wasm") as runner:
        return _evaluate_in_browser(root, manifest, readings, runner, columns, markers, frame, threshold)


def _read_one(runner, path: Path, options: dict, warm: bool) -> dict | str:
    """The browser's reading of one scene, or the one-line error when it found no frame."""
    from soroban_vision.runners.chromium import BrowserError  # only when asked: it needs Chromium's runner

    try:
        if warm:
            runner.read_abacus([path], **options)  # warm-up: compile, first upload, OpenCV.js
        return runner.read_abacus([path], **options)[0]
    except BrowserError as e:
        if getattr(e, "js_name", "") != "FrameNotFound":
            raise
        return str(e)


def _evaluate_in_browser(
    root: Path, manifest: dict, python: dict, runner, columns, markers, frame, threshold: float
) -> dict:
    """The scenes read again in Chromium; see evaluate_scenes in abacus/evaluate.py."""
    by_markers = bool(manifest.get("markers")) and markers != "off"
    by_model = not by_markers and frame is not None
    # markers "auto" with a frame model: the frame model where the markers are not found, as in
    # Python and in an app that loads both (the demo)
    fallback = {"frame_model": frame} if by_markers and frame is not None and markers == "auto" else {}
    base = {"threshold": threshold, **({"columns": columns} if columns else {})}
    exact = py_exact = agree = same = not_found = 0
    ms, failures, corner_diffs = [], [], []
    found = {"python": [], "browser": []}
    for k, item in enumerate(manifest["items"]):
        mine = python.get(item["file"])
        py_exact += mine is not None and _exact(mine.number, mine.digits, item)
        if mine is not None and mine.method in MARKER_METHODS:
            found["python"].append(item["file"])
        if by_markers:
            given = {"markers": markers, **fallback}
        elif by_model:
            given = {"markers": markers, "frame_model": frame}
        elif mine is not None:
            given = {"corners": mine.corners}
        else:
            not_found += 1  # Python found no frame to hand over
            same += 1
            continue
        got = _read_one(runner, root / item["file"], {**base, **given}, warm=k == 0)
        if isinstance(got, str):
            not_found += 1
            same += mine is None
            failures.append({"file": item["file"], "error": got})
            continue
        ms.append(float(got["ms"]))
        if got["method"] in MARKER_METHODS:
            found["browser"].append(item["file"])
        number = None if got["number"] == "null" else int(got["number"])
        exact += _exact(number, got["digits"], item)
        agree += mine is not None and got["digits"] == mine.digits
        same += mine is not None and got["text"] == mine.text
        if mine is not None:
            corner_diffs.append(_corner_diff(got["corners"], mine.corners))
        if got["digits"] != item["digits"]:
            failures.append({"file": item["file"], "got": got["text"], "want": item["digits"]})
    n = len(manifest["items"])
    return {
        "n": n,
        "runtime": runner.name,
        "frame_from": ("markers, else the frame model" if fallback else "markers")
        if by_markers
        else "frame model"
        if by_model
        else "the corners Python found (as if clicked)",
        "python_exact_number_accuracy": py_exact / n if n else 0.0,
        "exact_number_accuracy": exact / n if n else 0.0,
        "same_number": same / n if n else 0.0,
        "same_number_as_python": agree / len(python) if python else 0.0,
        "corner_diff_px": _spread(corner_diffs),
        "markers_found": _markers_found(found),
        "frame_not_found": not_found,
        "ms_per_frame": {
            "median": float(np.median(ms)) if ms else None,
            "p95": float(np.percentile(ms, 95)) if ms else None,
        },
        "failures": failures,
    }


def _exact(number, digits, item: dict) -> bool:
    """The true number, with the true rod count."""
    return number is not None and len(digits) == len(item["digits"]) and number == item["number"]


def _corner_diff(a, b) -> float:
    """The largest distance between two frames' corresponding corners."""
    return float(np.linalg.norm(np.subtract(a, b, dtype=np.float64), axis=1).max())


def _spread(diffs: list[float]) -> dict:
    if not diffs:
        return {"n": 0, "median": None, "p95": None, "max": None, "within_1px": 0}
    return {
        "n": len(diffs),
        "median": float(np.median(diffs)),
        "p95": float(np.percentile(diffs, 95)),
        "max": float(np.max(diffs)),
        "within_1px": sum(d <= 1.0 for d in diffs),
    }


def _markers_found(found: dict) -> dict:
    py, br = set(found["python"]), set(found["browser"])
    return {
        "python": len(py),
        "browser": len(br),
        "both": len(py & br),
        "python_only": sorted(py - br),
        "browser_only": sorted(br - py),
    }
