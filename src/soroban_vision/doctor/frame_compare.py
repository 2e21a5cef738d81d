"""Comparing a frame model's answers in the units a reader cares about: corners in the photo's
pixels (a 640x480 photo for the rendered scenes) and frame-present decisions. Kept apart from
running, as compare.py is for the column model."""

from __future__ import annotations

import numpy as np

from soroban_vision.doctor import compare
from soroban_vision.doctor.frame_scenes import SceneSet
from soroban_vision.frame.input import PRESENT

# Python and the browser must agree on the corners to this many photo pixels (issue 13's target);
# a float32 runtime that strays further fails, whatever its raw |diff|.
PARITY_PX = 0.5


def by_role(out: dict[str, np.ndarray], roles: dict[str, str]) -> dict[str, np.ndarray]:
    """{corners [N,4,2], frame [N]} from one runtime's outputs, its names given by `roles`."""
    corners = np.asarray(out[roles["corners"]], np.float64)
    return {
        "corners": corners.reshape(len(corners), 4, 2),
        "frame": np.asarray(out[roles["frame"]], np.float64).reshape(len(corners)),
    }


def present(answer: dict[str, np.ndarray]) -> np.ndarray:
    return answer["frame"] >= PRESENT


def corner_shift(scenes: SceneSet, a: dict, b: dict) -> np.ndarray:
    """[N,4]: how far each corner of answer b is from answer a's, in the photo's pixels."""
    return np.linalg.norm(scenes.pixels(b["corners"]) - scenes.pixels(a["corners"]), axis=-1)


def px_stats(values: np.ndarray) -> dict:
    v = np.asarray(values, np.float64).ravel()
    if not v.size:
        return {"median": None, "p95": None, "max": None}
    return {"median": float(np.median(v)), "p95": float(np.percentile(v, 95)), "max": float(v.max())}


def against_truth(scenes: SceneSet, answer: dict) -> dict:
    """One answer against the photos' true frames: present decisions right, and each scene's mean
    corner error in pixels (0 for a photo without a soroban, where there is no corner to miss)."""
    right = present(answer) == scenes.has_frame
    error = np.zeros(len(scenes.files))
    has = scenes.has_frame
    if has.any():
        px = scenes.pixels(answer["corners"])[has]
        error[has] = np.linalg.norm(px - scenes.truth[has], axis=-1).mean(axis=1)
    return {"right": right, "error": error}


def runtimes(scenes: SceneSet, ref: dict, other: dict) -> dict:
    """Runtime `other` against `ref` on the same inputs: raw |diff| statistics per output,
    corner shift in pixels (on the photos where `ref` sees a frame, as export counts it: a
    photo without one has no corners to place) and frame-present decisions."""
    shift = corner_shift(scenes, ref, other)
    seen = present(ref) if present(ref).any() else np.ones(len(shift), bool)
    shift = np.where(seen[:, None], shift, 0.0)
    flags = present(ref) != present(other)
    return {
        "n": len(flags),
        "outputs": [{"output": k, **compare.diff_stats(ref[k], other[k])} for k in ("corners", "frame")],
        "max_corner_shift_px": float(shift.max(initial=0.0)),
        "mean_corner_shift_px": float(shift[seen].mean()) if seen.any() else 0.0,
        "disagreements": int(flags.sum()),
        "decision_agreement": float(1 - flags.mean()) if len(flags) else None,
        "disagreeing_items": [int(i) for i in np.flatnonzero(flags)],
        "worst_item": int(shift.max(axis=1).argmax()) if shift.size else None,
    }
