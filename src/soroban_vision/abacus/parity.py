"""The scenes of a `render-scenes` folder read again by the browser pipeline (web/src/index.js in
headless Chromium, wasm) and compared with Python's readings: the release gate for "same answer
everywhere"."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def in_browser(root: Path, manifest: dict, readings: dict, model: str | Path, columns, markers) -> dict:
    """Read every scene of `manifest` in Chromium with the TF.js model folder `model`."""
    from soroban_vision.runners.chromium import ChromiumRunner  # only this comparison needs a browser

    with ChromiumRunner(model, "wasm") as runner:
        return _evaluate_in_browser(root, manifest, readings, runner, columns, markers)


def _evaluate_in_browser(root: Path, manifest: dict, python: dict, runner, columns, markers) -> dict:
    """The scenes read again in Chromium; see evaluate_scenes in abacus/evaluate.py."""
    from soroban_vision.runners.chromium import BrowserError  # only when asked: it needs Chromium's runner

    by_markers = bool(manifest.get("markers")) and markers != "off"
    options = {"columns": columns} if columns else {}
    exact = agree = not_found = 0
    ms, failures = [], []
    for k, item in enumerate(manifest["items"]):
        path = root / item["file"]
        mine = python.get(item["file"])
        if by_markers:
            given = {"markers": "on"}
        elif mine is not None:
            given = {"corners": mine.corners}
        else:
            not_found += 1  # Python found no frame to hand over
            continue
        try:
            if k == 0:
                runner.read_abacus([path], **options, **given)  # warm-up: compile, first upload
            got = runner.read_abacus([path], **options, **given)[0]
        except BrowserError as e:
            if getattr(e, "js_name", "") != "FrameNotFound":
                raise
            not_found += 1
            failures.append({"file": item["file"], "error": str(e)})
            continue
        ms.append(float(got["ms"]))
        exact += got["digits"] == item["digits"]
        agree += mine is not None and got["digits"] == mine.digits
        if got["digits"] != item["digits"]:
            failures.append({"file": item["file"], "got": got["digits"], "want": item["digits"]})
    n = len(manifest["items"])
    return {
        "n": n,
        "runtime": runner.name,
        "frame_from": "markers" if by_markers else "the corners Python found (as if clicked)",
        "exact_number_accuracy": exact / n if n else 0.0,
        "same_number_as_python": agree / len(python) if python else 0.0,
        "frame_not_found": not_found,
        "ms_per_frame": {
            "median": float(np.median(ms)) if ms else None,
            "p95": float(np.percentile(ms, 95)) if ms else None,
        },
        "failures": failures,
    }
