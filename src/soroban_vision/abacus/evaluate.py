"""Whole-soroban accuracy on a `render-scenes` folder: every scene read and compared with its
ground truth (exact numbers, silent wrong numbers, flags, frames not found, corners, columns,
calibration, time; and per condition), and, optionally, read again in the browser and
compared with Python."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from soroban_vision.abacus.outcomes import by_condition, figures, outcome
from soroban_vision.abacus.parity import in_browser
from soroban_vision.abacus.photo import load_photo
from soroban_vision.abacus.read import AbacusReading, read_abacus
from soroban_vision.abacus.spec import LOW_CONFIDENCE, FrameNotFound
from soroban_vision.errors import UsageError


def evaluate_scenes(
    root: str | Path,
    reader,
    columns: int | None = None,
    markers: str = "auto",
    browser: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    frame_model: bool = True,
    given_frame: bool = False,
    threshold: float = LOW_CONFIDENCE,
) -> dict:
    """Read every scene of a `render-scenes` folder and compare with its ground truth.

    Figures (abacus/outcomes.py): exact number, silent wrong (and its causes), flagged and
    frame-not-found rates, column accuracy, corner error (median, p90, p95, max, % of the
    frame's width), the columns' calibration (ECE and reliability bins), time per frame, and
    the same per condition (`by_condition`). `progress(n, total)` after each scene.

    With `browser` (a TF.js model folder), every scene is read again by the browser pipeline
    (web/src/index.js in headless Chromium, wasm) and the result gains a "browser" section: its
    accuracy, its agreement with Python and its time per frame. The browser finds the frame from
    the markers when the scenes have them (with `frame_model` and markers "auto", from its own
    copy of the frame model where it finds no markers, as Python does), and with `frame_model`
    from its frame model when they have none; otherwise it is given the corners Python found, as
    a user would click them, so the rest of the pipeline is compared on the same frame.

    With `given_frame`, each scene is read with its labels' frame corners and rod count, as a
    user would give them: what is still missed is the column model's (and the photo's), not the
    frame search's or the rod count's. Python only: it cannot be combined with `browser` or
    `columns`.

    `threshold`: the flag threshold (read_abacus'), in Python and in the browser alike: a
    higher one trades exact numbers for fewer silent wrong ones.
    """
    root = Path(root)
    if given_frame and (browser or columns):
        raise UsageError(
            "--given-frame reads each scene with its labels' frame and rod count: "
            "drop --browser and --columns",
            code="bad_given_frame",
        )
    frame = "shipped" if frame_model else None  # the learned frame detector before the outline search
    manifest = _manifest(root)
    items = manifest["items"]
    readings: dict[str, AbacusReading] = {}
    seconds, failures, outcomes = [], [], []
    options = {"markers": markers, "frame_model": frame, "threshold": threshold}
    for item in items:
        t0 = time.perf_counter()
        got = _read_scene(root, item, reader, **options, **_frame_and_count(item, given_frame, columns))
        reading = got if isinstance(got, AbacusReading) else None
        if reading is None:
            failures.append(got)
        else:
            readings[item["file"]] = reading
            seconds.append(time.perf_counter() - t0)
        outcomes.append(outcome(item, reading))
        if reading is not None and reading.digits != item["digits"]:
            failures.append(_failure(item, reading, outcomes[-1]))
        if progress is not None:
            progress(1, len(items))
    result = {
        "markers_in_scenes": manifest.get("markers"),
        "given_frame": given_frame,
        "min_confidence": threshold,
        **figures(items, outcomes),
        "ms_per_frame": {
            "median": 1000 * float(np.median(seconds)) if seconds else None,
            "p95": 1000 * float(np.percentile(seconds, 95)) if seconds else None,
        },
        "runtime": getattr(reader, "runtime", ""),
        "by_condition": by_condition(items, outcomes),
        "failures": failures,
    }
    if browser:
        result["browser"] = in_browser(
            root, manifest, readings, browser, columns, markers, frame_model, threshold
        )
    return result


def _failure(item: dict, reading: AbacusReading, result: dict) -> dict:
    kind = "silent_wrong" if result["silent_wrong"] else "flagged" if result["flagged"] else "wrong"
    return {
        "file": item["file"],
        "kind": kind,
        "cause": result["silent_cause"],  # why a silent wrong one is wrong (outcomes.SILENT_CAUSES)
        "got": reading.text,
        "want": "".join(map(str, item["digits"])).lstrip("0") or "0",
        "flagged_columns": reading.flagged_columns,
        "method": reading.method,
        "conditions": item.get("conditions"),
    }


def _read_scene(root: Path, item: dict, reader, **options) -> AbacusReading | dict:
    """One scene's reading, or its failure entry when no frame was found."""
    try:
        return read_abacus(load_photo(root / item["file"]), reader, **options)
    except FrameNotFound as e:
        return {"file": item["file"], "error": str(e), "code": e.code}


def _frame_and_count(item: dict, given_frame: bool, columns: int | None) -> dict:
    """read_abacus's corners and columns: the labels' with `given_frame`, else the user's columns."""
    if not given_frame:
        return {"columns": columns}
    if "corners" not in item or "digits" not in item:
        raise UsageError(
            f"{item.get('file', 'a scene')} has no labelled corners and digits for --given-frame",
            code="bad_given_frame",
        )
    return {"corners": item["corners"], "columns": len(item["digits"])}


def _manifest(root: Path) -> dict:
    try:
        return json.loads((root / "manifest.json").read_text())
    except FileNotFoundError:
        raise UsageError(
            f"{root} has no manifest.json (make one with `soroban-vision render-scenes`)"
        ) from None
