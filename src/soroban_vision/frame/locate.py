"""The frame as the frame model sees it, for `abacus.locate`: the model's corners, snapped to
the frame's edges (`refine`), when the model says one whole frame is in the photo; and a second
look with that frame painted out, so that a photo of two sorobans is refused, never read as one."""

from __future__ import annotations

import numpy as np

from soroban_vision.abacus.corners import degenerate, overlap, within
from soroban_vision.abacus.edges import smoothed
from soroban_vision.abacus.photo import MIN_SIDE as MIN_CROP
from soroban_vision.abacus.score import soroban_score
from soroban_vision.abacus.spec import SPEC, frame_not_found
from soroban_vision.frame.detector import FrameDetector
from soroban_vision.frame.input import HEIGHT, PRESENT, WIDTH, frame_input, to_normalized, to_pixels
from soroban_vision.frame.refine import polished, refine_corners
from soroban_vision.frame.track import FrameTrack

LOOK = SPEC["frame_search"]["model"]
INSIDE_PX = LOOK["inside_px"]  # a frame this far past the photo's border is cut by it: not one to read
ZOOM_MARGIN = LOOK["zoom_margin"]  # of the frame's longer extent: the margin of the second, closer look
# the found frame, grown this much about its centre, is painted out for the second look
PAINT_OUT = LOOK["paint_out"]
SAME = LOOK["same"]  # a second frame overlapping the first this much is the first one again
# soroban_score below which the model's frame is no frame: snapped to a rod, a bead row or a hand
# instead of the rails (the outline search, in Python, then looks). Low: true frames under a
# hand, dark or open-backed, score 0.15-0.4; a blank photo's quad scores 0 +- 0.05
MIN_SCORE = LOOK["min_score"]
TWO_SOROBANS = LOOK["two_sorobans"]  # soroban_score of a second frame that makes the photo ambiguous


def model_frame(
    gray: np.ndarray, detector: FrameDetector, track: FrameTrack | None = None
) -> np.ndarray | None:
    """The frame's corners [4,2] in `gray`'s pixels, or None: no frame seen, or a frame the
    photo's border cuts. FrameNotFound (two_sorobans) when a second soroban is seen. `track`:
    a video's FrameTrack, which keeps the frame while the model sees it still."""
    x = frame_input(gray)
    out = detector.run(x[None])
    h, w = gray.shape
    if out["frame"][0, 0] < PRESENT:
        if track is not None:
            track.forget()
        return None
    look = to_pixels(out["corners"][0], w, h)
    kept = None if track is None else track.kept_corners(look, (h, w))
    if kept is not None:
        return kept
    try:
        corners = _searched(gray, detector, x, look)
    except Exception:  # two sorobans, or worse: nothing half-found is kept
        if track is not None:
            track.forget()
        raise
    if track is not None and corners is None:
        track.forget()
    elif track is not None:
        track.found(look, corners, (h, w))
    return corners


def _searched(
    gray: np.ndarray, detector: FrameDetector, x: np.ndarray, look: np.ndarray
) -> np.ndarray | None:
    """The frame in full from the model's first look: its closer look, snapped and polished."""
    h, w = gray.shape
    img = smoothed(gray)
    corners = polished(img, closer(detector, gray, look))
    if degenerate(corners) or not within(corners, w, h, INSIDE_PX) or soroban_score(img, corners) < MIN_SCORE:
        return None
    if _another_soroban(detector, x, img, corners):
        raise frame_not_found("two_sorobans", why="2 frames seen by the frame model")
    return corners


def closer(detector: FrameDetector, gray: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """The corners from a second look at the frame, cropped with a margin: the frame fills the
    model's input, so its cells are finer on it. The first corners when the crop is too small."""
    h, w = gray.shape
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    margin = ZOOM_MARGIN * float((hi - lo).max())
    x0, y0 = (int(v) for v in np.floor(np.maximum(lo - margin, 0.0)))
    x1, y1 = (int(v) + 1 for v in np.ceil(np.minimum(hi + margin, [w - 1.0, h - 1.0])))
    if x1 - x0 < MIN_CROP or y1 - y0 < MIN_CROP:
        return corners
    crop = gray[y0:y1, x0:x1]
    out = detector.run(frame_input(crop)[None])
    return to_pixels(out["corners"][0], x1 - x0, y1 - y0) + [x0, y0]


def painted_out(x: np.ndarray, corners: np.ndarray, width: int, height: int) -> np.ndarray:
    """The model input with the frame (corners in the gray's pixels), grown by PAINT_OUT, filled
    with the mean of the rest: what the model sees when that soroban is not there."""
    quad = to_normalized(corners, width, height) * [WIDTH, HEIGHT] - 0.5  # the input's pixels
    quad = quad.mean(axis=0) + PAINT_OUT * (quad - quad.mean(axis=0))
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    inside = np.ones((HEIGHT, WIDTH), bool)
    for k in range(4):  # clockwise on screen: every side has the inside on its right
        (ax, ay), (bx, by) = quad[k], quad[(k + 1) % 4]
        inside &= (bx - ax) * (ys - ay) - (by - ay) * (xs - ax) >= 0
    out = x.copy()
    if inside.all():
        return out
    out[inside] = np.float32(x[~inside].mean())
    return out


def _another_soroban(detector: FrameDetector, x: np.ndarray, img: np.ndarray, corners: np.ndarray) -> bool:
    """Does the model, shown the photo with this frame painted out, see another soroban there?"""
    h, w = img.shape
    second = detector.run(painted_out(x, corners, w, h)[None])
    if second["frame"][0, 0] < PRESENT:
        return False
    other = refine_corners(img, to_pixels(second["corners"][0], w, h))
    if degenerate(other) or not within(other, w, h, INSIDE_PX) or overlap(other, corners) >= SAME:
        return False
    return soroban_score(img, other) >= TWO_SOROBANS
