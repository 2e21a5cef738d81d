"""A frame's corners from ArUco markers (the spec's dictionary and ids, 0-3 clockwise from the
top-left) that sit diagonally outside the frame corners: the corner of each marker's black
square nearest the frame is the frame's corner (see render/marker_cards.py). With three, the fourth
corner is where the homography that best lays the three squares out around a flat frame puts it.

Small and blurred markers missed in the photo may be outlined in it resized twice as large (the
spec's markers.upscale), looked at when some markers are found but not all.

The browser runs the same detector: OpenCV's ArucoDetector with the spec's detector_parameters
(OpenCV's defaults otherwise), and the same second look, from OpenCV.js of the same version (the
spec's markers.opencv; web/src/abacus/opencv.js), on the same 8-bit gray, so both sides find the
same markers with the same corners (tests/test_markers.py)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from soroban_vision.abacus.spec import SPEC, frame_not_found

DICTIONARY = getattr(cv2.aruco, SPEC["markers"]["dictionary"])
IDS = tuple(SPEC["markers"]["ids"])  # one per frame corner, clockwise from the top-left
CORNER_OFFSET = SPEC["markers"]["frame_corner_offset"]  # marker i's corner (i + offset) % 4 is the frame's
MARKER_FIT_PX = float(SPEC["markers"]["three_marker_fit_rms_px"])  # RMS pixels: worse is no frame's
MARKER_METHODS = tuple(SPEC["markers"]["methods"])  # a reading's method when its frame came from the markers
UPSCALE = int(SPEC["markers"]["upscale"])  # the second look's scale when a marker is missing
UPSCALE_BELOW_PX = float(SPEC["markers"]["upscale_below_px"])  # ... and those found are this small
PARAMETERS = {k: v for k, v in SPEC["markers"]["detector_parameters"].items() if k != "about"}


def detector_parameters() -> cv2.aruco.DetectorParameters:
    """OpenCV's default detector parameters, those the spec names set to its values."""
    params = cv2.aruco.DetectorParameters()
    for name, value in PARAMETERS.items():
        setattr(params, name, type(getattr(params, name))(value))
    return params


def _frame_corner(marker_id: int) -> int:
    """Which of marker `marker_id`'s square corners touches the frame."""
    return (marker_id + CORNER_OFFSET) % 4


def find_markers(gray: np.ndarray) -> tuple[np.ndarray | None, str, list[str]]:
    """Frame corners from the markers ([4,2], clockwise from the top-left, or None), the method
    ("markers", "markers-3" or ""), warnings. A marker id seen twice is two sorobans. When some
    markers are found but not all, and they are small, the image is looked at again at UPSCALE
    times its size (small and blurred markers are outlined there), and the markers found only
    there are added. None found: no markers in use; large ones: the missing one is more likely
    under a hand, and the second look costs four times the first."""
    u8 = np.clip(np.rint(gray), 0, 255).astype(np.uint8)
    squares = _squares(u8)
    if 0 < len(squares) < len(IDS) and UPSCALE > 1 and _mean_side(squares) < UPSCALE_BELOW_PX:
        big = cv2.resize(u8, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_LINEAR_EXACT)
        for i, q in _squares(big).items():
            squares.setdefault(i, (q + 0.5) / UPSCALE - 0.5)  # pixel centres: x = (X + 0.5) / k - 0.5
    warnings: list[str] = []
    found = {i: q[_frame_corner(i)] for i, q in squares.items()}
    if len(found) == len(IDS):
        return np.array([found[i] for i in IDS], np.float64), "markers", warnings
    if len(found) == len(IDS) - 1:
        missing = (set(IDS) - set(found)).pop()
        found[missing] = _missing_corner(squares, missing)
        warnings.append(f"marker {missing} not found; its corner was estimated from the other three")
        return np.array([found[i] for i in IDS], np.float64), "markers-3", warnings
    return None, "", warnings


def _mean_side(squares: dict[int, np.ndarray]) -> float:
    """The markers' mean side length in pixels, summed in id order, as markers.js sums it."""
    total = 0.0
    for i in sorted(squares):
        q = squares[i]
        sides = 0.0
        for k in range(4):
            dx, dy = float(q[(k + 1) % 4][0] - q[k][0]), float(q[(k + 1) % 4][1] - q[k][1])
            sides += math.sqrt(dx * dx + dy * dy)  # not hypot: JS's Math.hypot may round otherwise
        total += sides / 4
    return total / len(squares)


def _squares(u8: np.ndarray) -> dict[int, np.ndarray]:
    """{id: its square's 4 corners} of the spec's markers in an 8-bit image; FrameNotFound
    (two_sorobans) when an id is seen twice."""
    detector = cv2.aruco.ArucoDetector(cv2.aruco.getPredefinedDictionary(DICTIONARY), detector_parameters())
    corners, ids, _ = detector.detectMarkers(u8)
    if ids is None:
        return {}
    ids = ids.reshape(-1)
    seen = [int(i) for i in ids if i in IDS]
    if len(seen) != len(set(seen)):
        raise frame_not_found("two_sorobans", why="a frame marker id appears twice")
    return {int(i): c.reshape(4, 2).astype(np.float64) for i, c in zip(ids, corners, strict=True) if i in IDS}


_SQUARE = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float64)
_OUTSIDE = np.array([[-1, -1], [0, -1], [0, 0], [-1, 0]], np.float64)  # square's top-left, from its corner


def _flat_frame(width: float, height: float) -> np.ndarray:
    return np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float64)


def _flat_markers(ids, width: float, height: float) -> np.ndarray:
    """The corners of the markers `ids` on the flat soroban, in units of a marker's side: the
    frame's top-left corner at (0, 0), each marker diagonally outside its frame corner."""
    frame = _flat_frame(width, height)
    return np.concatenate([_SQUARE + frame[i] + _OUTSIDE[i] for i in ids])


def _missing_corner(squares: dict[int, np.ndarray], missing: int) -> np.ndarray:
    """The frame corner of a missing marker from the other three: the homography that best
    maps the three markers' squares, as laid out around a flat frame of some width and
    height (searched), onto the photo, applied to the missing corner. Under perspective
    this is much nearer than completing the parallelogram, which it falls back to."""
    ids = sorted(squares)
    seen = np.concatenate([squares[i] for i in ids])
    corner = {i: squares[i][_frame_corner(i)] for i in ids}
    a, b, c = (corner[(missing + k) % 4] for k in (1, 2, 3))
    parallelogram = a + c - b

    def fit(width, height):
        flat = _flat_markers(ids, width, height)
        hom, _ = cv2.findHomography(flat, seen, 0)
        if hom is None:
            return np.inf, None
        back = cv2.perspectiveTransform(flat.reshape(-1, 1, 2), hom).reshape(-1, 2)
        return float(((back - seen) ** 2).sum()), hom

    err, hom, width, height = _search_flat_frame(fit, squares[ids[0]], corner, missing)
    if hom is None or not np.isfinite(err) or np.sqrt(err / len(seen)) > MARKER_FIT_PX:
        return parallelogram
    flat = _flat_frame(width, height)
    return cv2.perspectiveTransform(flat[missing].reshape(1, 1, 2), hom).reshape(2)


def _search_flat_frame(fit, square: np.ndarray, corner: dict, missing: int):
    """(error, homography, width, height) of the flat frame that `fit` lays out best: from a
    start (the frame's sides in marker sides, through one marker's own homography), by
    coordinate descent on the width and height, the step halved when stuck."""
    own = cv2.getPerspectiveTransform(_SQUARE.astype(np.float32), square.astype(np.float32))
    to_flat = np.linalg.inv(own)
    flat = {i: cv2.perspectiveTransform(p.reshape(1, 1, 2), to_flat).reshape(2) for i, p in corner.items()}
    p, q, r = (flat[(missing + k) % 4] for k in (1, 2, 3))
    sides = sorted([np.linalg.norm(p - q), np.linalg.norm(q - r)])
    best = (*fit(sides[1], sides[0]), sides[1], sides[0])
    step = 0.25
    for _ in range(80):
        moves = ((1, 0), (-1, 0), (0, 1), (0, -1))
        trials = [(best[2] * (1 + step * dw), best[3] * (1 + step * dh)) for dw, dh in moves]
        better = min(((*fit(w, h), w, h) for w, h in trials), key=lambda t: t[0])
        if better[0] < best[0]:
            best = better
        else:
            step /= 2
            if step < 1e-4:
                break
    return best
