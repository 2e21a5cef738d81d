"""Where the soroban is: its frame's corners (given, from markers, from the frame model, or from
its outline) and, for each frame it may have, the (rods, side rail width) layouts its rods fit
best. Without markers a frame model (soroban_vision/frame), when given, looks first; the outline
search runs when it sees no frame, and always when none is given."""

from __future__ import annotations

import numpy as np

from soroban_vision.abacus.corners import check_frame, degenerate
from soroban_vision.abacus.edges import smoothed
from soroban_vision.abacus.markers import find_markers
from soroban_vision.abacus.outline import quad_candidates
from soroban_vision.abacus.rods import LAYOUTS_READ, column_profile, fit_rods, rectified_size, rectify
from soroban_vision.abacus.score import soroban_score
from soroban_vision.abacus.spec import SPEC, frame_not_found

ACCEPT = SPEC["frame_search"]["accept"]
# an outline's top side over its left one, at least: a soroban is wide
WIDER_THAN_TALL = ACCEPT["wider_than_tall"]
# fit_rods score of the best layout below which an outline needs a second look
ROD_FIT_POOR = ACCEPT["rod_fit_poor"]
# soroban_score of a frame whose rods' profile may fit no layout well (beads of mixed
# brightness, uneven light) and still be read: clutter scores at most about 0.35
LOOKS_LIKE_A_FRAME = ACCEPT["looks_like_a_frame"]


def locate(
    gray: np.ndarray,
    columns: int | None,
    markers: str,
    colour: np.ndarray | None = None,
    corners: np.ndarray | None = None,
    frame_model=None,
):
    """Frame corners, the method that found them, candidate (rods, side) layouts, warnings.
    `colour`: the photo's RGB, if it has colour, to help find a frame without markers;
    `corners`: the frame's corners in `gray`'s pixels, used as given; `frame_model`: as
    `frame_options`."""
    frames, method, warnings = frame_options(gray, columns, markers, colour, 1, corners, frame_model)
    return frames[0][0], method, frames[0][1], warnings


def frame_options(
    gray: np.ndarray,
    columns: int | None,
    markers: str,
    colour: np.ndarray | None = None,
    count: int = 1,
    corners: np.ndarray | None = None,
    frame_model=None,
    track=None,
):
    """Up to `count` frames the soroban may have, the likeliest first, each with its candidate
    (rods, side) layouts; the method that found them; warnings. Given corners ("corners")
    and markers ("markers", "markers-3") give one frame; markers "off" skips the markers,
    "on" looks for nothing else. Without markers `frame_model` (a `frame.FrameDetector`), if
    given, is asked first ("model"); the outline search ("contour") runs when it sees no
    frame, except in a video. `track`: a video's `frame.track.FrameTrack`, for the frame model to
    keep its frame while it sees it still; with it the outline search does not run.
    FrameNotFound when there is no frame."""
    if corners is not None:
        return [_frame(gray, check_frame(corners), columns)], "corners", []
    warnings: list[str] = []
    if markers in ("auto", "on"):
        found, method, warnings = find_markers(gray)
        if found is not None:
            return [_frame(gray, check_frame(found), columns)], method, warnings
        if markers == "on":
            raise frame_not_found("no_markers")
    frames = _model_frames(gray, columns, frame_model, track)
    if frames:
        return frames, "model", warnings
    # not in a video: the outline search can take a second, which a live camera cannot wait for
    # on each frame without a soroban
    frames = [] if track is not None else _outline_frames(gray, columns, colour, count)
    if not frames:
        raise frame_not_found("no_frame_outline" if markers == "auto" else "no_frame")
    return frames, "contour", warnings


def _frame(gray: np.ndarray, corners: np.ndarray, columns: int | None):
    """(corners, the best few (rods, side rail width, score) layouts of the rods inside)."""
    return corners, _layouts(gray, corners, columns)[:LAYOUTS_READ]


def _model_frames(gray: np.ndarray, columns: int | None, frame_model, track=None) -> list:
    """The frame model's frame, its corners snapped to the frame's edges, with its layouts; []
    when there is no model, it sees no whole frame, or what it sees is no soroban by the
    outline search's own tests (then the outline search decides)."""
    if frame_model is None:
        return []
    from soroban_vision.frame.locate import model_frame

    found = model_frame(gray, frame_model, track)
    layouts = None if found is None else _soroban_layouts(gray, found, columns, [])
    return [] if layouts is None else [(found, layouts)]


def _layouts(gray: np.ndarray, corners: np.ndarray, columns: int | None) -> list:
    return fit_rods(column_profile(rectify(gray, corners, *rectified_size(corners))), columns)


def _outline_frames(gray: np.ndarray, columns: int | None, colour: np.ndarray | None, count: int) -> list:
    """Up to `count` frames from the outline search, the likeliest first, that are wide
    enough and hold rods (or, whatever their rods fit, plainly look like a soroban's frame)."""
    frames = []
    smooth: list = []  # the gray as quad_candidates scores it, made only when a frame needs a look
    for quad in quad_candidates(gray, colour=colour):
        layouts = _soroban_layouts(gray, quad, columns, smooth)
        if layouts is None:
            continue
        frames.append((quad, layouts))
        if len(frames) >= count:
            break  # candidates come best first: quad_candidates ranks them by how soroban-like they look
    return frames


def _soroban_layouts(gray: np.ndarray, quad: np.ndarray, columns: int | None, smooth: list) -> list | None:
    """The best few layouts of a quad that is wide enough and holds rods (or, whatever its rods
    fit, plainly looks like a soroban's frame); None for any other quad. `smooth`: [] or
    [the smoothed gray], filled when first needed."""
    top = np.linalg.norm(quad[1] - quad[0])
    left = np.linalg.norm(quad[3] - quad[0])
    if degenerate(quad) or top / left < WIDER_THAN_TALL:
        return None
    layouts = _layouts(gray, quad, columns)
    if layouts[0][2] < ROD_FIT_POOR:
        if not smooth:
            smooth.append(smoothed(gray))
        if soroban_score(smooth[0], quad) < LOOKS_LIKE_A_FRAME:
            return None  # no rods inside, nor a soroban's frame: not a soroban
    return layouts[:LAYOUTS_READ]
