"""How much a quad looks like a soroban's frame once rectified (`soroban_score`): plain rails
and bar, busy bead rows, rails of one colour, the beads starting as far in at both ends, and
the rods not going on past the top or bottom side (as they do past the bar)."""

from __future__ import annotations

import cv2
import numpy as np

from soroban_vision.abacus.spec import SPEC

SCORE = SPEC["frame_search"]["score"]
COLOUR_WEIGHT = SCORE["colour_weight"]  # soroban_score's weight on rails of different colours
BEYOND = SCORE["beyond"]  # of the quad's height, looked at past its top and bottom
GO_ON = SCORE["go_on"]  # a correlation of the rods inside and past a side that no frame's rail gives
GO_ON_WEIGHT = SCORE["go_on_weight"]  # soroban_score's weight on the rods going on past a side beyond that
LOPSIDED = SCORE["lopsided"]  # of the height: side rails (up to where the beads start) this unlike are alike
LOPSIDED_WEIGHT = SCORE["lopsided_weight"]  # soroban_score's weight on side rails more unlike than that


def soroban_score(gray32: np.ndarray, quad: np.ndarray) -> float:
    """How much the inside of a quad looks like a soroban frame, seen front-on: plain rails
    along all four sides and a plain bar a fifth to two fifths down, with busy bead rows
    between them, and rails of one colour.

    Busyness is the mean step between neighbouring pixels along a row (or a column, for the
    side rails), so that light falling off across the frame does not count; it is measured
    in units of the bead rows' busyness. The score is 1 less the busiest of the rails and
    the bar, less how far the rails' colours differ (beyond what uneven light explains):
    about 0.5-0.9 for a soroban's frame, below 0.3 for other quads (a quad that ends inside
    the frame, say, has a side off the rail: busy, or of another colour)."""
    top = np.linalg.norm(quad[1] - quad[0])
    left = np.linalg.norm(quad[3] - quad[0])
    rows = 96
    cols = int(np.clip(rows * top / max(left, 1.0), 96, 512))
    off = round(BEYOND * rows)  # rows seen past the top and the bottom side
    flat = np.float32([[0, off], [cols, off], [cols, off + rows], [0, off + rows]]) - 0.5
    m = cv2.getPerspectiveTransform(flat, quad.astype(np.float32))
    seen = cv2.warpPerspective(
        gray32,
        m,
        (cols, rows + 2 * off),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    rect = seen[off : off + rows]
    x0, x1, y0, y1 = int(0.06 * cols), int(0.94 * cols), int(0.06 * rows), int(0.94 * rows)
    across = np.abs(np.diff(rect[:, x0:x1], axis=1)).mean(axis=1)  # per row
    down = np.abs(np.diff(rect[y0:y1], axis=0)).mean(axis=0)  # per column

    def band(profile, lo, hi):
        n = len(profile)
        return profile[int(lo * n) : max(int(hi * n), int(lo * n) + 1)]

    beads = float(np.median(band(across, 0.45, 0.85))) + 1e-6
    plain = (
        max(
            float(np.median(band(across, 0.01, 0.045))),  # top rail
            float(np.median(band(across, 0.955, 0.99))),  # bottom rail
            float(band(across, 0.2, 0.42).min()),  # the bar
            float(np.median(band(down, 0.005, 0.03))),  # side rails
            float(np.median(band(down, 0.97, 0.995))),
            beads - float(np.median(band(across, 0.1, 0.22))),  # heaven beads as busy as earth ones
        )
        / beads
    )
    t0, t1 = int(0.01 * rows), max(int(0.045 * rows), int(0.01 * rows) + 1)
    b0, b1 = int(0.955 * rows), max(int(0.99 * rows), int(0.955 * rows) + 1)
    l0, l1 = int(0.005 * cols), max(int(0.03 * cols), int(0.005 * cols) + 1)
    r0, r1 = int(0.97 * cols), max(int(0.995 * cols), int(0.97 * cols) + 1)
    end = max(int(0.1 * cols), 1)

    def differ(a, b):  # beyond a third, relative: light varies across a frame
        a, b = float(np.median(a)), float(np.median(b))
        return max(0.0, abs(a - b) / (max(a, b) + 10.0) - 0.33)

    colour = max(
        differ(rect[t0:t1, x0:x1], rect[b0:b1, x0:x1]),
        differ(rect[y0:y1, l0:l1], np.r_[rect[t0:t1, :end], rect[b0:b1, :end]]),
        differ(rect[y0:y1, r0:r1], np.r_[rect[t0:t1, -end:], rect[b0:b1, -end:]]),
    )
    # the beads start as far inside both ends: the side rails are alike
    mid = float(np.median(down[int(0.3 * cols) : int(0.7 * cols)]))
    busy = np.flatnonzero(down >= 0.5 * mid)
    lopsided = abs(int(busy[0]) - (cols - 1 - int(busy[-1]))) / rows if len(busy) else 0.0
    return (
        1.0
        - plain
        - COLOUR_WEIGHT * colour
        - GO_ON_WEIGHT * max(0.0, _rods_go_on(seen, off, x0, x1) - GO_ON)
        - LOPSIDED_WEIGHT * max(0.0, lopsided - LOPSIDED)
    )


def _rods_go_on(seen: np.ndarray, off: int, x0: int, x1: int) -> float:
    """How much the rods' pattern inside a rectified quad (`seen`: with `off` rows more past
    its top and bottom sides) goes on past those sides: the correlation of the columns'
    brightness (fine detail only) inside and in the band past each side, the larger. Near 1
    when a side lies on the bar, with beads on the same rods beyond it; near 0 past a
    frame's rail (about 0.3 at most)."""
    rows = seen.shape[0] - 2 * off
    cols = seen.shape[1]

    def detail(band):
        p = band[:, x0:x1].mean(axis=0).astype(np.float64)
        p = p - cv2.GaussianBlur(p.reshape(1, -1), (0, 0), cols / 30.0).ravel()
        return p / (np.linalg.norm(p) + 1e-9)

    gap = int(0.05 * rows)
    inside = detail(seen[off + int(0.1 * rows) : off + int(0.9 * rows)])
    above = detail(seen[: max(off - gap, 1)])
    below = detail(seen[off + rows + gap :])
    return max(float(inside @ above), float(inside @ below))
