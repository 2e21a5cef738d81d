"""The frame model's corners polished on the photo itself, with the classical search's own edge
code (`abacus.edges`): each side of the model's quad moves to the straight edge within reach that
is strongest once weighed by how near it is to where the model put it (the model is a few pixels
off; a rail's inner edge, a shadow or the table's edge are further), and the four lines are then
fitted to the half pixel. A side with no edge in reach stays where it was."""

from __future__ import annotations

import cv2
import numpy as np

from soroban_vision.abacus.corners import order_corners, quad_height
from soroban_vision.abacus.edges import NOISE_FLOOR, Side, corners_of, fine_lines, refine_quad
from soroban_vision.abacus.score import soroban_score
from soroban_vision.abacus.spec import SPEC

SNAP = SPEC["frame_search"]["snap"]  # distances: pixels, or fractions of the quad's height

# of the quad's height: how far a side may move. The model places the long sides better than the
# ends (where along the rods' row the frame ends is a subtler cue)
REACH_LONG, REACH_END = SNAP["reach_long"], SNAP["reach_end"]
MIN_REACH = SNAP["min_reach"]  # pixels
# of the quad's height (at least NEAR_PX): the spread of the model's error, the prior's sigma
NEAR = SNAP["near"]
NEAR_PX = SNAP["near_px"]
# of the likeliest edge's weight: an edge outside it this likely is taken instead
OUTERMOST = SNAP["outermost"]
TILTS, DRIFT = SNAP["tilts"], SNAP["drift"]  # tilts tried, up to this much of the side's length end to end


def polished(img: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """`refine_corners`, then the classical search's last step on that quad: each side may take
    another of its edges (or a rail as wide as the opposite one) if that makes the frame look
    more like a soroban's (`edges.refine_quad` with search; a rail's inner edge taken for the
    outer one makes the side rails lopsided, which that score sees). The search starts from its
    own pick of each side's edge, not from the snapped one, so its quad is taken only when it
    looks at least as much like a soroban's frame as the snapped quad."""
    snapped = refine_corners(img, corners)
    searched = refine_quad(img, snapped, search=True)
    if searched is None:
        return snapped
    searched = order_corners(searched)
    return searched if soroban_score(img, searched) >= soroban_score(img, snapped) else snapped


def refine_corners(img: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """The model's corners ([4,2]) snapped to the frame's outer edges in `img` (`smoothed`),
    clockwise from the top-left; the model's own corners where snapping fails."""
    quad = order_corners(corners)
    height = quad_height(quad)
    centre = quad.mean(axis=0)
    lines, signs = [], []
    for k in range(4):  # 0 and 2 are the long sides (order_corners)
        reach = max(MIN_REACH, (REACH_LONG if k % 2 == 0 else REACH_END) * height)
        a, b = quad[k], quad[(k + 1) % 4]
        length = float(np.linalg.norm(b - a))
        if length < 8:
            return quad
        side = Side(img, a, b, 0.5 * (a + b) - centre, reach, 1.0, TILTS, max(2.0, DRIFT * length))
        edges = [e for e in side.edges(NOISE_FLOOR) if abs(e[0]) <= reach]
        if not edges:
            lines.append(side.line(0.0))
            signs.append(0.0)
            continue
        sigma = max(NEAR_PX, NEAR * height)
        weight = [abs(g) * np.exp(-0.5 * (s / sigma) ** 2) for s, g in edges]
        # of the edges nearly as likely as the likeliest, the outermost: inside a frame's outer
        # edge lies its rail's inner edge, often the stronger (busy beads against a plain rail)
        offset, strength = [e for e, v in zip(edges, weight, strict=True) if v >= OUTERMOST * max(weight)][-1]
        lines.append(side.fit(offset, np.sign(strength)))
        signs.append(float(np.sign(strength)))
    out = corners_of(lines)
    if out is not None:
        out = corners_of(fine_lines(img, out, signs))
    moved = np.abs(out - quad).max() if out is not None else np.inf
    if moved > 2 * max(MIN_REACH, REACH_END * height) or not cv2.isContourConvex(out.astype(np.float32)):
        return quad
    return order_corners(out)
