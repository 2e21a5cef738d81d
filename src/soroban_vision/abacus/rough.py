"""Rough quads where a soroban's frame may be, in a single-channel uint8 image (the outline
search's first step; `edges.refine_quad` then snaps them to the frame's outer edge):

- the outlines in three Canny edge maps (convex hull, then approxPolyDP to four corners);
- the blob the beads' dense gradients make (closed, opened: its hull or rectangle), where the
  frame's own outline is faint or touches something else;
- pairs of long near-parallel straight edges (the frame's long sides, whatever touches them), from
  probabilistic Hough segments on a Canny edge map: OpenCV.js, which the browser runs, has no line
  segment detector (LSD), and the same segments on both sides give the same frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from soroban_vision.abacus.corners import order_corners
from soroban_vision.abacus.spec import SPEC

OUTLINE = SPEC["frame_search"]["outline"]  # the browser's rough.js reads the same
BLOB, LINES = OUTLINE["blob"], OUTLINE["lines"]


def contour_quads(u8: np.ndarray) -> list[np.ndarray]:
    """Convex quadrilaterals from the outlines in several edge maps."""
    h, w = u8.shape
    blurred = cv2.GaussianBlur(u8, (5, 5), 0)
    quads = []
    for lo, hi in OUTLINE["contour_canny"]:
        edges = cv2.Canny(blurred, lo, hi)
        edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
        contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        quads += [q for _, q in _large_hull_quads(contours, h * w) if q is not None]
    return quads


def _large_hull_quads(contours, area: float):
    """(contour, the quadrilateral of its convex hull or None) for each contour that covers at
    least the spec's min_area of `area`."""
    for c in contours:
        if cv2.contourArea(c) >= OUTLINE["min_area"] * area:
            yield c, _hull_quad(cv2.convexHull(c))


def blob_quads(u8: np.ndarray) -> list[np.ndarray]:
    """The soroban as a blob: beads and rods make its inside dense with strong gradients, so
    closing the strong-gradient mask fills it; the blob's hull or its rectangle is the frame
    roughly (where the frame's own outline is faint or touches something else)."""
    full = u8.shape
    u8 = cv2.resize(u8, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)  # a blob needs no detail
    h, w = u8.shape
    g = cv2.GaussianBlur(u8, (0, 0), BLOB["sigma"])
    mag = cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
    strong = max(BLOB["min_gradient"], float(np.percentile(mag.astype(np.float64), BLOB["percentile"])))
    mask = (mag > np.float32(strong)).astype(np.uint8) * 255  # in float32, as the browser compares
    for op, frac in ((cv2.MORPH_CLOSE, BLOB["close"]), (cv2.MORPH_OPEN, BLOB["open"])):
        k = max(3, int(frac * max(h, w))) | 1
        mask = cv2.morphologyEx(mask, op, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    quads = []
    for c, quad in _large_hull_quads(contours, h * w):
        if quad is not None:
            quads.append(quad)
        quads.append(order_corners(cv2.boxPoints(cv2.minAreaRect(c))))
    sy, sx = full[0] / h, full[1] / w
    return [(q + 0.5) * [sx, sy] - 0.5 for q in quads]


class _Line:
    """Collinear segments merged into one line: a point, a unit direction, the normal
    offset, and the extent (min, max of the projections on the direction)."""

    def __init__(self, seg: np.ndarray):
        self.segs = [seg]
        self._fit()

    def _fit(self) -> None:
        segs = np.array(self.segs)
        pts = np.concatenate([segs[:, :2], segs[:, 2:]])
        lengths = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
        wts = np.concatenate([lengths, lengths])
        centre = (pts * wts[:, None]).sum(axis=0) / wts.sum()
        # the direction of the longest segment, refined by the weighted principal axis
        cov = ((pts - centre) * wts[:, None]).T @ (pts - centre)
        evals, evecs = np.linalg.eigh(cov)
        d = evecs[:, 1]
        ref = segs[int(np.argmax(lengths)), 2:] - segs[int(np.argmax(lengths)), :2]
        self.d = d if d @ ref >= 0 else -d
        self.p = centre
        self.n = np.array([self.d[1], -self.d[0]])  # brightness grows along n
        proj = (pts - centre) @ self.d
        self.lo, self.hi = float(proj.min()), float(proj.max())
        self.support = float(lengths.sum())

    def accepts(self, seg: np.ndarray, tol: float, max_gap: float) -> bool:
        d = seg[2:] - seg[:2]
        length = np.hypot(*d)
        if (d / length) @ self.d < np.cos(np.deg2rad(LINES["same_angle_deg"])):
            return False  # a different direction, or the other polarity
        if max(abs((seg[:2] - self.p) @ self.n), abs((seg[2:] - self.p) @ self.n)) > tol:
            return False
        a, b = sorted(((seg[:2] - self.p) @ self.d, (seg[2:] - self.p) @ self.d))
        return a - self.hi < max_gap and self.lo - b < max_gap

    def add(self, seg: np.ndarray) -> None:
        self.segs.append(seg)
        self._fit()

    def at(self, t: float) -> np.ndarray:
        return self.p + t * self.d


def segments(u8: np.ndarray, min_length: float) -> np.ndarray:
    """Straight edges [n, 4] (x1, y1, x2, y2), each pointed so that the brighter side is on its
    left (image coordinates, y down), as LSD points them: a frame's two long sides then point
    opposite ways."""
    blurred = cv2.GaussianBlur(u8, (5, 5), 0)
    edges = cv2.Canny(blurred, *LINES["canny"])
    votes = max(LINES["least_votes"], int(LINES["votes"] * min_length))
    shortest, theta = LINES["shortest"] * min_length, np.pi / LINES["theta_steps"]
    found = cv2.HoughLinesP(
        edges, LINES["rho_px"], theta, votes, minLineLength=shortest, maxLineGap=LINES["gap_px"]
    )
    if found is None:
        return np.zeros((0, 4), np.float64)
    segs = found.reshape(-1, 4).astype(np.float64)
    h, w = u8.shape
    for seg in segs:
        dx, dy = seg[2] - seg[0], seg[3] - seg[1]
        # one pixel axis across the edge, on the side of its left normal (dy, -dx); whole
        # pixels, so that both runtimes read the same ones
        ax = (int(np.sign(dy)), 0) if abs(dy) > abs(dx) else (0, -int(np.sign(dx)))
        contrast = 0
        for t in LINES["side_at"]:
            x, y = int(np.floor(seg[0] + t * dx + 0.5)), int(np.floor(seg[1] + t * dy + 0.5))
            for sign in (1, -1):
                u, v = x + sign * LINES["side_look_px"] * ax[0], y + sign * LINES["side_look_px"] * ax[1]
                if 0 <= u < w and 0 <= v < h:
                    contrast += sign * int(blurred[v, u])
        if contrast < 0:
            seg[:] = seg[[2, 3, 0, 1]]
    return segs


def _merged_lines(u8: np.ndarray, min_length: float) -> list[_Line]:
    segs = segments(u8, min_length)
    lengths = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
    lines: list[_Line] = []
    size = max(u8.shape)
    tol, gap = max(LINES["offset_px"], LINES["offset"] * size), LINES["join_gap"] * size
    for seg in segs[np.argsort(-lengths, kind="stable")]:
        for line in lines:
            if line.accepts(seg, tol, gap):
                line.add(seg)
                break
        else:
            lines.append(_Line(seg))
    long_enough = [ln for ln in lines if ln.hi - ln.lo >= min_length]
    lines = [ln for ln in long_enough if ln.support >= LINES["support"] * (ln.hi - ln.lo)]
    lines.sort(key=lambda ln: -ln.support)
    return lines[: LINES["kept"]]


def line_quads(u8: np.ndarray) -> list[np.ndarray]:
    """A soroban frame's long sides are two long, near-parallel straight edges over the same
    extent, a fifth to two thirds of their length apart: each such pair gives a quad whose
    ends are where the edges end (whatever else touches the frame's outline)."""
    h, w = u8.shape
    lines = _merged_lines(u8, LINES["min_length"] * max(h, w))
    lo_apart, hi_apart = LINES["apart"]
    scored = []
    for i, a in enumerate(lines):
        for b in lines[i + 1 :]:
            if abs(a.d @ b.d) < np.cos(np.deg2rad(LINES["parallel_deg"])):
                continue  # not parallel enough
            d = a.d if a.d @ b.d > 0 else -a.d
            lo_b, hi_b = sorted(((b.at(b.lo) - a.p) @ d, (b.at(b.hi) - a.p) @ d))
            lo_a, hi_a = sorted(((a.at(a.lo) - a.p) @ d, (a.at(a.hi) - a.p) @ d))
            la, lb = hi_a - lo_a, hi_b - lo_b
            shared = min(hi_a, hi_b) - max(lo_a, lo_b)
            if shared < LINES["overlap"] * min(la, lb) or min(la, lb) < LINES["length_ratio"] * max(la, lb):
                continue  # not over the same extent
            gap = abs((b.p - a.p) @ a.n)
            if not lo_apart * max(la, lb) <= gap <= hi_apart * max(la, lb):
                continue  # not a soroban's proportions
            lo, hi = min(lo_a, lo_b), max(hi_a, hi_b)
            pb = b.p + ((a.p - b.p) @ b.d) * b.d  # b's point level with a.p
            quad = np.array([a.p + lo * d, a.p + hi * d, pb + hi * d, pb + lo * d])
            scored.append((min(a.support, b.support), order_corners(quad)))
    scored.sort(key=lambda x: -x[0])
    return [q for _, q in scored[: LINES["pairs"]]]


def _hull_quad(hull: np.ndarray) -> np.ndarray | None:
    peri = cv2.arcLength(hull, True)
    for eps in OUTLINE["hull_epsilons"]:
        approx = cv2.approxPolyDP(hull, eps * peri, True)
        if len(approx) == 4 and cv2.isContourConvex(approx):
            return order_corners(approx.reshape(4, 2))
    return None
