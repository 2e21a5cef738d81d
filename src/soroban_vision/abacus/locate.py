"""Where the soroban is: its frame's corners (given, from markers, or from its outline) and, for
each frame it may have, the (rods, side rail width) layouts its rods fit best."""

from __future__ import annotations

import cv2
import numpy as np

from soroban_vision.abacus.corners import check_frame, degenerate
from soroban_vision.abacus.markers import find_markers
from soroban_vision.abacus.outline import quad_candidates
from soroban_vision.abacus.rods import LAYOUTS_READ, column_profile, fit_rods, rectified_size, rectify
from soroban_vision.abacus.score import soroban_score
from soroban_vision.abacus.spec import frame_not_found

WIDER_THAN_TALL = 1.2  # an outline's top side over its left one, at least: a soroban is wide
ROD_FIT_POOR = -0.5  # fit_rods score of the best layout below which an outline needs a second look
# soroban_score of a frame whose rods' profile may fit no layout well (beads of mixed
# brightness, uneven light) and still be read: clutter scores at most about 0.35
LOOKS_LIKE_A_FRAME = 0.5


def locate(
    gray: np.ndarray,
    columns: int | None,
    markers: str,
    colour: np.ndarray | None = None,
    corners: np.ndarray | None = None,
):
    """Frame corners, the method that found them, candidate (rods, side) layouts, warnings.
    `colour`: the photo's RGB, if it has colour, to help find a frame without markers;
    `corners`: the frame's corners in `gray`'s pixels, used as given."""
    frames, method, warnings = frame_options(gray, columns, markers, colour, 1, corners)
    return frames[0][0], method, frames[0][1], warnings


def frame_options(
    gray: np.ndarray,
    columns: int | None,
    markers: str,
    colour: np.ndarray | None = None,
    count: int = 1,
    corners: np.ndarray | None = None,
):
    """Up to `count` frames the soroban may have, the likeliest first, each with its candidate
    (rods, side) layouts; the method that found them; warnings. Given corners ("corners")
    and markers ("markers", "markers-3") give one frame; markers "off" skips the markers,
    "on" looks for nothing else. FrameNotFound when there is no frame."""
    if corners is not None:
        return [_frame(gray, check_frame(corners), columns)], "corners", []
    warnings: list[str] = []
    if markers in ("auto", "on"):
        found, method, warnings = find_markers(gray)
        if found is not None:
            return [_frame(gray, check_frame(found), columns)], method, warnings
        if markers == "on":
            raise frame_not_found("no_markers")
    frames = _outline_frames(gray, columns, colour, count)
    if not frames:
        raise frame_not_found("no_frame_outline" if markers == "auto" else "no_frame")
    return frames, "contour", warnings


def _frame(gray: np.ndarray, corners: np.ndarray, columns: int | None):
    """(corners, the best few (rods, side rail width, score) layouts of the rods inside)."""
    return corners, _layouts(gray, corners, columns)[:LAYOUTS_READ]


def _layouts(gray: np.ndarray, corners: np.ndarray, columns: int | None) -> list:
    return fit_rods(column_profile(rectify(gray, corners, *rectified_size(corners))), columns)


def _outline_frames(gray: np.ndarray, columns: int | None, colour: np.ndarray | None, count: int) -> list:
    """Up to `count` frames from the outline search, the likeliest first, that are wide
    enough and hold rods (or, whatever their rods fit, plainly look like a soroban's frame)."""
    frames = []
    smooth = None  # the gray as quad_candidates scores it, made only when a frame needs a look
    for quad in quad_candidates(gray, colour=colour):
        top = np.linalg.norm(quad[1] - quad[0])
        left = np.linalg.norm(quad[3] - quad[0])
        if degenerate(quad) or top / left < WIDER_THAN_TALL:
            continue
        layouts = _layouts(gray, quad, columns)
        if layouts[0][2] < ROD_FIT_POOR:
            if smooth is None:
                smooth = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 0.7)
            if soroban_score(smooth, quad) < LOOKS_LIKE_A_FRAME:
                continue  # no rods inside, nor a soroban's frame: not a soroban
        frames.append((quad, layouts[:LAYOUTS_READ]))
        if len(frames) >= count:
            break  # candidates come best first: quad_candidates ranks them by how soroban-like they look
    return frames
