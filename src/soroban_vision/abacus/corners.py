"""A frame's four corners: their order (clockwise from the top-left), the checks on corners a
caller gives, and the small geometry of quads the frame search shares."""

from __future__ import annotations

import cv2
import numpy as np

from soroban_vision.abacus.spec import SPEC, frame_not_found, message
from soroban_vision.errors import UsageError

MIN_SIDE_PX = SPEC["rectify"]["min_side_px"]  # a frame's top and left sides are at least this long
MIN_CROSS_PX2 = SPEC["rectify"]["min_corner_cross_px2"]  # twice the least triangle three corners make


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Four points clockwise from the top-left (for a soroban wider than tall): the top side
    is the higher of the two longer sides, whatever the rotation."""
    pts = np.asarray(pts, np.float64).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # clockwise in image coordinates (y down)
    lengths = np.linalg.norm(pts - np.roll(pts, -1, axis=0), axis=1)
    long_pair = 0 if lengths[0] + lengths[2] >= lengths[1] + lengths[3] else 1
    mid_y = [(pts[k, 1] + pts[(k + 1) % 4, 1]) for k in (long_pair, long_pair + 2)]
    top = long_pair if mid_y[0] <= mid_y[1] else long_pair + 2
    return np.roll(pts, -top, axis=0)


def check_corners(corners) -> np.ndarray:
    """Corners a caller gives, as float64 [4,2]: four finite [x, y] points, else UsageError."""
    try:
        pts = np.asarray(corners, np.float64)
    except (TypeError, ValueError):
        pts = None
    if pts is None or pts.shape != (4, 2) or not np.isfinite(pts).all():
        raise UsageError(message("bad_corners"), code="bad_corners")
    return pts


def degenerate(corners: np.ndarray) -> bool:
    """Are the corners no frame's: the top or left side shorter than MIN_SIDE_PX, or three
    corners on a line (a triangle of them under half a square pixel)?"""
    top = np.linalg.norm(corners[1] - corners[0])
    left = np.linalg.norm(corners[3] - corners[0])
    if top < MIN_SIDE_PX or left < MIN_SIDE_PX:
        return True
    for k in range(4):
        a, b, c = (corners[(k + j) % 4] for j in range(3))
        (ux, uy), (vx, vy) = b - a, c - a
        if abs(ux * vy - uy * vx) < MIN_CROSS_PX2:
            return True
    return False


def check_frame(corners: np.ndarray) -> np.ndarray:
    """The corners, if they can be a frame's; else FrameNotFound (degenerate_corners)."""
    if degenerate(corners):
        raise frame_not_found("degenerate_corners")
    return corners


def quad_height(quad: np.ndarray) -> float:
    """The mean of a quad's left and right sides (clockwise from the top-left)."""
    return 0.5 * float(np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1]))


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """The area two convex quads share, of the smaller one's area."""
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    shared, _ = cv2.intersectConvexConvex(a32, b32)
    return float(shared) / max(min(cv2.contourArea(a32), cv2.contourArea(b32)), 1e-9)


def within(quad: np.ndarray, w: int, h: int, margin: float) -> bool:
    """Is the quad inside the image? A frame cut by the image's border cannot be read."""
    return bool(
        (quad >= -margin).all()
        and (quad[:, 0] <= w - 1 + margin).all()
        and (quad[:, 1] <= h - 1 + margin).all()
    )


def dedupe(quads: list[np.ndarray], tol: float) -> list[np.ndarray]:
    """The quads, less any within `tol` pixels (every corner) of one before it."""
    unique: list[np.ndarray] = []
    for q in quads:
        if all(np.abs(q - u).max() > tol for u in unique):
            unique.append(q)
    return unique
