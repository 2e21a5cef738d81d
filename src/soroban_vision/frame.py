"""Find a soroban's frame in a photo: its four outer corners, clockwise from the top-left.

With markers: four ArUco markers (DICT_4X4_50, ids 0-3 clockwise from the top-left) sit
diagonally outside the frame corners; the corner of each marker's black square nearest the
frame is the frame's corner (see render/scene.py). With three, the fourth corner is where
the homography that best lays the three squares out around a flat frame puts it.

Without markers (`quad_candidates`), in gray (and, if gray shows no convincing frame, in
single colour channels too: a frame may be like its table in gray but not in colour):

1. Rough quads, on a copy at most ROUGH_SIDE pixels: the outlines in three Canny edge maps
   (convex hull, then approxPolyDP to four corners); if those give no convincing frame,
   also the blob the beads' dense gradients make (closed, opened, its hull or rectangle)
   and pairs of long near-parallel LSD line segments (the frame's long sides, whatever
   touches them).
2. Each side of a rough quad is snapped to the frame's OUTER edge (`refine_quad`): across
   the side, the median along it of the gradient along its normal, at the tilt that makes
   it sharpest, gives the straight edges nearby. Going outward there are the busy beads,
   the plain rail, the rail's outer edge, then maybe a shadow's soft rim or things on the
   table; the outer edge is the outermost sharp edge at most a rail's width outside the
   beads with no other strong edge between the beads and it. Where the frame and the table
   are alike in gray and no edge shows, the rail is taken as wide as the opposite one.
   A line is fitted to the sub-pixel gradient peaks along the chosen edge (Huber weights),
   first on a 1-pixel grid, then on a half-pixel one; corners are where lines meet.
3. Each quad is scored by how much it looks like a soroban's frame once rectified
   (`soroban_score`: plain rails and bar, busy bead rows, rails of one colour, the beads
   starting as far in at both ends, and the rods not going on past the top or bottom
   side, as they do past the bar); the best few get each side searched among its other
   edges for a better score. Quads found in a colour channel are scored in gray like the
   rest. Quads below
   MIN_SCORE or not wholly inside the photo are dropped; quads around the same soroban
   are grouped, the best first (a side pushed out a little by a shadow does not count).
   Two sorobans, both scoring at least TWO_SOROBANS, are refused: FrameNotFound.
"""

from __future__ import annotations

import cv2
import numpy as np

from soroban_vision.errors import SorobanError

ARUCO = cv2.aruco.DICT_4X4_50
MARKER_FIT_PX = 2.0  # RMS pixels: three markers laid out worse than this are no frame's

# Rough quads
ROUGH_SIDE = 640  # rough quads are looked for in a copy no larger than this
ROUGH_SAME = 0.005  # of the image's size: rough quads this close are one
SNAPS_TO = 0.05  # of a found quad's height: a rough quad this close to it snaps to it too
LINE_PAIRS = 4  # pairs of long straight edges tried as a frame's long sides
CONVINCING = 0.6  # soroban_score of a frame that needs no other look at the same place

# Snapping a side to the frame's outer edge (pixels, or fractions of the quad's height)
REACH = 0.32  # how far a side may move: more than a side rail is wide
COARSE_STEP = 1.0  # pixels between the offsets looked at first
SAMPLE_EVERY = 2.0  # pixels between the samples along a side
TILTS, DRIFT = 9, 0.05  # tilts tried, up to this much of the side's length end to end
SHADOW_SIGMA = 2.5  # pixels: the soft part of an edge, as a shadow's blurred rim has
NOISE_FLOOR = 1.0  # gray levels per pixel: a weaker median gradient is no edge
NOISE_SIGMAS = 4.0  # nor is one within this many of its noise
BUSY_FLOOR = 6.0  # gray levels: plainer than this along a side is not busy (not beads)
BUSY_FRACTION = 0.15  # nor is plainer than this part of the busiest inside
RAIL_LONG = 0.2  # the widest rail along a long side (more than the 5-12% seen, for tilt)
RAIL_SHORT = 0.35  # along a short side (10-24% seen)
MIN_RAIL = 0.035  # the narrowest rail
INWARD = 0.3  # an edge at least this strong, relative to one outside it, is a strong edge
ALTERNATIVES = 3  # other edges of a side tried in place of the one picked
SWITCH_MARGIN = 0.03  # soroban_score gain that makes another edge the side

# Choosing
SEARCHED = 3  # best candidates whose sides are searched for better edges
MIN_SCORE = 0.2  # soroban_score below which a quad is not a soroban's frame
COLOUR_WEIGHT = 1.0  # soroban_score's weight on rails of different colours
NESTED_MARGIN = 0.1  # soroban_score: quads around one soroban this close are alike
TWO_SOROBANS = 0.5  # soroban_score of a second soroban that makes the photo ambiguous
BEYOND = 0.4  # soroban_score: of the quad's height, looked at past its top and bottom
GO_ON = 0.4  # a correlation of the rods inside and past a side that no frame's rail gives
GO_ON_WEIGHT = 1.0  # soroban_score's weight on the rods going on past a side beyond that
LOPSIDED = 0.04  # of the height: side rails (up to where the beads start) this unlike are alike
LOPSIDED_WEIGHT = 2.0  # soroban_score's weight on side rails more unlike than that


class FrameNotFound(SorobanError):
    code = 1


def find_markers(gray: np.ndarray) -> tuple[np.ndarray | None, str, list[str]]:
    """Frame corners from ArUco markers: the marker corner nearest the frame is (id + 2) % 4."""
    u8 = np.clip(np.rint(gray), 0, 255).astype(np.uint8)
    detector = cv2.aruco.ArucoDetector(
        cv2.aruco.getPredefinedDictionary(ARUCO), cv2.aruco.DetectorParameters()
    )
    corners, ids, _ = detector.detectMarkers(u8)
    warnings: list[str] = []
    if ids is None:
        return None, "", warnings
    ids = ids.reshape(-1)
    seen = [int(i) for i in ids if 0 <= i <= 3]
    if len(seen) != len(set(seen)):
        raise FrameNotFound(
            "more than one soroban in the image (a frame marker id appears twice); show one soroban at a time"
        )
    squares = {
        int(i): c.reshape(4, 2).astype(np.float64) for i, c in zip(ids, corners, strict=True) if 0 <= i <= 3
    }
    found = {i: q[(i + 2) % 4] for i, q in squares.items()}
    if len(found) == 4:
        return np.array([found[i] for i in range(4)], np.float64), "markers", warnings
    if len(found) == 3:
        missing = ({0, 1, 2, 3} - set(found)).pop()
        found[missing] = _missing_corner(squares, missing)
        warnings.append(f"marker {missing} not found; its corner was estimated from the other three")
        return np.array([found[i] for i in range(4)], np.float64), "markers-3", warnings
    return None, "", warnings


_SQUARE = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float64)
_OUTSIDE = np.array([[-1, -1], [0, -1], [0, 0], [-1, 0]], np.float64)  # square's top-left, from its corner


def _flat_markers(ids, width: float, height: float) -> np.ndarray:
    """The corners of the markers `ids` on the flat soroban, in units of a marker's side: the
    frame's top-left corner at (0, 0), each marker diagonally outside its frame corner."""
    frame = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float64)
    return np.concatenate([_SQUARE + frame[i] + _OUTSIDE[i] for i in ids])


def _missing_corner(squares: dict[int, np.ndarray], missing: int) -> np.ndarray:
    """The frame corner of a missing marker from the other three: the homography that best
    maps the three markers' squares, as laid out around a flat frame of some width and
    height (searched), onto the photo, applied to the missing corner. Under perspective
    this is much nearer than completing the parallelogram, which it falls back to."""
    ids = sorted(squares)
    seen = np.concatenate([squares[i] for i in ids])
    corner = {i: squares[i][(i + 2) % 4] for i in ids}
    a, b, c = (corner[(missing + k) % 4] for k in (1, 2, 3))
    parallelogram = a + c - b

    def fit(width, height):
        flat = _flat_markers(ids, width, height)
        hom, _ = cv2.findHomography(flat, seen, 0)
        if hom is None:
            return np.inf, None
        back = cv2.perspectiveTransform(flat.reshape(-1, 1, 2), hom).reshape(-1, 2)
        return float(((back - seen) ** 2).sum()), hom

    # a start: the frame's sides in marker sides, through one marker's own homography
    own = cv2.getPerspectiveTransform(_SQUARE.astype(np.float32), squares[ids[0]].astype(np.float32))
    to_flat = np.linalg.inv(own)
    flat = {i: cv2.perspectiveTransform(corner[i].reshape(1, 1, 2), to_flat).reshape(2) for i in ids}
    p, q, r = (flat[(missing + k) % 4] for k in (1, 2, 3))
    sides = sorted([np.linalg.norm(p - q), np.linalg.norm(q - r)])
    best = (*fit(sides[1], sides[0]), sides[1], sides[0])
    step = 0.25
    for _ in range(80):  # coordinate descent on the width and height, step halved when stuck
        moves = ((1, 0), (-1, 0), (0, 1), (0, -1))
        trials = [(best[2] * (1 + step * dw), best[3] * (1 + step * dh)) for dw, dh in moves]
        better = min(((*fit(w, h), w, h) for w, h in trials), key=lambda t: t[0])
        if better[0] < best[0]:
            best = better
        else:
            step /= 2
            if step < 1e-4:
                break
    err, hom, width, height = best
    if hom is None or not np.isfinite(err) or np.sqrt(err / len(seen)) > MARKER_FIT_PX:
        return parallelogram
    frame = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float64)
    return cv2.perspectiveTransform(frame[missing].reshape(1, 1, 2), hom).reshape(2)


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


# --------------------------------------------------------------------------- rough quads


def _contour_quads(u8: np.ndarray) -> list[np.ndarray]:
    """Convex quadrilaterals from the outlines in several edge maps."""
    h, w = u8.shape
    blurred = cv2.GaussianBlur(u8, (5, 5), 0)
    quads = []
    for lo, hi in ((20, 60), (40, 120), (80, 200)):
        edges = cv2.Canny(blurred, lo, hi)
        edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
        contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        quads += [q for _, q in _large_hull_quads(contours, h * w) if q is not None]
    return quads


def _large_hull_quads(contours, area: float):
    """(contour, the quadrilateral of its convex hull or None) for each contour that covers at
    least 2% of `area`."""
    for c in contours:
        if cv2.contourArea(c) >= 0.02 * area:
            yield c, _hull_quad(cv2.convexHull(c))


def _blob_quads(u8: np.ndarray) -> list[np.ndarray]:
    """The soroban as a blob: beads and rods make its inside dense with strong gradients, so
    closing the strong-gradient mask fills it; the blob's hull or its rectangle is the frame
    roughly (where the frame's own outline is faint or touches something else)."""
    full = u8.shape
    u8 = cv2.resize(u8, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)  # a blob needs no detail
    h, w = u8.shape
    g = cv2.GaussianBlur(u8, (0, 0), 0.7)
    mag = cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
    mask = (mag > max(40.0, float(np.percentile(mag, 80)))).astype(np.uint8) * 255
    for op, frac in ((cv2.MORPH_CLOSE, 0.02), (cv2.MORPH_OPEN, 0.03)):
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
    """Collinear LSD segments merged into one line: a point, a unit direction, the normal
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
        if (d / length) @ self.d < np.cos(np.deg2rad(3.0)):
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


def _merged_lines(u8: np.ndarray, min_length: float) -> list[_Line]:
    segs = cv2.createLineSegmentDetector(cv2.LSD_REFINE_STD).detect(u8)[0]
    if segs is None:
        return []
    segs = segs.reshape(-1, 4).astype(np.float64)
    lengths = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
    keep = lengths >= 0.3 * min_length
    segs, lengths = segs[keep], lengths[keep]
    lines: list[_Line] = []
    size = max(u8.shape)
    for seg in segs[np.argsort(-lengths)]:
        for line in lines:
            if line.accepts(seg, max(2.0, 0.004 * size), 0.25 * size):
                line.add(seg)
                break
        else:
            lines.append(_Line(seg))
    lines = [ln for ln in lines if ln.hi - ln.lo >= min_length and ln.support >= 0.5 * (ln.hi - ln.lo)]
    lines.sort(key=lambda ln: -ln.support)
    return lines[:30]


def _line_quads(u8: np.ndarray) -> list[np.ndarray]:
    """A soroban frame's long sides are two long, near-parallel straight edges over the same
    extent, a fifth to two thirds of their length apart: each such pair gives a quad whose
    ends are where the edges end (whatever else touches the frame's outline)."""
    h, w = u8.shape
    lines = _merged_lines(u8, 0.12 * max(h, w))
    scored = []
    for i, a in enumerate(lines):
        for b in lines[i + 1 :]:
            if abs(a.d @ b.d) < np.cos(np.deg2rad(10)):
                continue  # not parallel enough
            d = a.d if a.d @ b.d > 0 else -a.d
            lo_b, hi_b = sorted(((b.at(b.lo) - a.p) @ d, (b.at(b.hi) - a.p) @ d))
            lo_a, hi_a = sorted(((a.at(a.lo) - a.p) @ d, (a.at(a.hi) - a.p) @ d))
            la, lb = hi_a - lo_a, hi_b - lo_b
            if min(hi_a, hi_b) - max(lo_a, lo_b) < 0.5 * min(la, lb) or min(la, lb) < 0.5 * max(la, lb):
                continue  # not over the same extent
            gap = abs((b.p - a.p) @ a.n)
            if not 0.15 * max(la, lb) <= gap <= 0.7 * max(la, lb):
                continue  # not a soroban's proportions
            lo, hi = min(lo_a, lo_b), max(hi_a, hi_b)
            pb = b.p + ((a.p - b.p) @ b.d) * b.d  # b's point level with a.p
            quad = np.array([a.p + lo * d, a.p + hi * d, pb + hi * d, pb + lo * d])
            scored.append((min(a.support, b.support), order_corners(quad)))
    scored.sort(key=lambda x: -x[0])
    return [q for _, q in scored[:LINE_PAIRS]]


def _hull_quad(hull: np.ndarray) -> np.ndarray | None:
    peri = cv2.arcLength(hull, True)
    for eps in (0.01, 0.02, 0.04):
        approx = cv2.approxPolyDP(hull, eps * peri, True)
        if len(approx) == 4 and cv2.isContourConvex(approx):
            return order_corners(approx.reshape(4, 2))
    return None


# --------------------------------------------------------------------------- snapping


def _sample(img: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Bilinear samples of img at float points [..., 2] (edges replicated)."""
    return cv2.remap(
        img,
        pts[..., 0].astype(np.float32),
        pts[..., 1].astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


class _Side:
    """The image across one side of a quad: gray samples on lines parallel to the side, at
    offsets `ss` (pixels) along its outward normal, and `prof`, the median over the side of
    the gradient along the normal, taken along the tilt (`delta` pixels end to end) that
    makes its strongest edge sharpest."""

    def __init__(self, img, a, b, outward, reach: float, step: float, tilts: int, drift: float, edges=True):
        self.a, self.length, self.step = a, float(np.linalg.norm(b - a)), step
        self.d = (b - a) / max(self.length, 1e-9)
        n = np.array([-self.d[1], self.d[0]])
        self.n = n if n @ outward >= 0 else -n
        self.ts = np.linspace(0.06, 0.94, int(np.clip(self.length / SAMPLE_EVERY, 12, 256)))
        count = int(np.ceil(reach / step))
        self.pad = int(np.ceil(drift / step)) + 3  # room to tilt and to fit around an edge
        self.offsets = np.arange(-count - self.pad, count + self.pad + 1) * step
        self.ss = self.offsets[self.pad : len(self.offsets) - self.pad]
        base = a + np.outer(self.ts * self.length, self.d)
        vals = _sample(img, base[:, None, :] + self.offsets[None, :, None] * self.n)
        self.grad = np.zeros_like(vals)
        self.grad[:, 1:-1] = (vals[:, 2:] - vals[:, :-2]) / (2 * step)
        self.delta = 0.0
        if not edges:
            return
        rows = np.arange(len(self.ts))[:, None]
        best = None
        some = rows[:: max(1, len(self.ts) // 48)]  # enough rows to tell the tilts apart
        for delta in np.linspace(-drift, drift, tilts):  # offset (t - 0.5) * delta
            idx = self._columns(delta)[some[:, 0]][:, None] + np.arange(len(self.ss))[None, :]
            peak = float(np.abs(self.grad[some, idx].mean(axis=0)).max())
            if best is None or peak > best[0]:
                best = (peak, delta)
        self.delta = best[1]
        idx = self._columns(self.delta)[:, None] + np.arange(len(self.ss))[None, :]
        grad = self.grad[rows, idx]
        self.prof = np.median(grad, axis=0)
        # how much the image varies along the side at each offset: beads and rods are busy,
        # a rail is plain
        self.busy = vals[rows, idx].std(axis=0)
        # the median gradient's noise, from the gradient's spread along the side where it
        # is least busy
        spread = float(np.percentile(grad.std(axis=0), 25))
        self.noise = 1.25 * spread / np.sqrt(len(self.ts))

    def _columns(self, delta: float) -> np.ndarray:
        return self.pad + np.rint((self.ts - 0.5) * delta / self.step).astype(int)

    def edges(self, floor: float) -> list[tuple[float, float]]:
        """Straight edges along the side, inner to outer: (offset, strength), where strength
        is the signed median gradient less its smooth (shadow-like) part."""
        mag = np.abs(self.prof)
        sigma = SHADOW_SIGMA / self.step
        radius = int(np.ceil(3 * sigma))
        kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
        smooth = np.convolve(np.pad(self.prof, radius, mode="edge"), kernel / kernel.sum(), mode="valid")
        hard = self.prof - smooth
        sharp = np.where(np.sign(hard) == np.sign(self.prof), np.minimum(mag, np.abs(hard)), 0.0)
        floor = max(floor, NOISE_SIGMAS * self.noise)
        return [
            (float(self.ss[k]), float(np.sign(self.prof[k]) * sharp[k]))
            for k in range(1, len(self.ss) - 1)
            if mag[k] >= mag[k - 1] and mag[k] > mag[k + 1] and sharp[k] >= floor
        ]

    def busy_at(self, offset: float, depth: float) -> bool:
        """Is the image busy (beads, rods) somewhere less than `depth` pixels inside offset?"""
        inner = self.busy[self.ss <= 0]
        near = self.busy[(self.ss >= offset - depth) & (self.ss <= offset - 1.0)]
        if not len(inner) or not len(near):
            return True
        return float(near.max()) >= max(BUSY_FLOOR, BUSY_FRACTION * float(inner.max()))

    def rail_width(self, offset: float | None, height: float) -> tuple[float, float] | None:
        """(where the busy beads end, how far outside that `offset` is): the beads' end is
        the last busy offset inside `offset`, or, without one, before the first plain
        stretch a rail wide."""
        limit = max(BUSY_FLOOR, BUSY_FRACTION * float(self.busy[self.ss <= 0].max(initial=0.0)))
        busy = self.busy >= limit
        if offset is not None:
            inner = self.ss[busy & (self.ss < offset - 1.0)]
            if len(inner):
                return float(inner.max()), offset - float(inner.max())
        run = max(2, round(MIN_RAIL * height / self.step))
        plain = np.convolve((~busy).astype(int), np.ones(run, int), mode="valid") == run
        seen = np.cumsum(busy)[: len(plain)] > 0
        starts = np.flatnonzero(plain & seen)
        return (float(self.ss[starts[0]] - self.step), 0.0) if len(starts) else None

    def line(self, offset: float) -> tuple[np.ndarray, np.ndarray]:
        """The line at `offset` along the tilt found."""
        direction = self.d * self.length + self.delta * self.n
        return self.a + (offset - 0.5 * self.delta) * self.n, direction / np.linalg.norm(direction)

    def fit(self, offset: float, sign: float, window: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
        """The line (point, unit direction) through the sub-pixel edge points of this sign
        within `window` pixels of the tilted line at `offset`."""
        rows = np.arange(len(self.ts))
        half = int(np.ceil(window / self.step))
        centre = self._columns(self.delta) + round(offset / self.step) + np.searchsorted(self.ss, 0.0)
        idx = np.clip(centre[:, None] + np.arange(-half, half + 1)[None, :], 1, len(self.offsets) - 2)
        g = sign * self.grad[rows[:, None], idx]
        j = np.clip(np.argmax(g, axis=1), 1, 2 * half - 1)
        gm, g0, gp = g[rows, j - 1], g[rows, j], g[rows, j + 1]
        curv = gm - 2 * g0 + gp
        frac = np.where(curv < 0, 0.5 * (gm - gp) / np.where(curv < 0, curv, -1.0), 0.0)
        offs = self.offsets[idx[rows, j]] + np.clip(frac, -0.5, 0.5) * self.step
        weight = np.clip(g0, 0, None)
        good = weight > 0.25 * np.median(weight[weight > 0]) if (weight > 0).any() else weight > 0
        if good.sum() < 6:
            offs = offset + (self.ts - 0.5) * self.delta
            good, weight = np.ones(len(self.ts), bool), np.ones(len(self.ts))
        x, y, w0 = self.ts[good] * self.length, offs[good], weight[good]
        wt = w0
        for _ in range(3):  # weighted least squares, reweighted against outliers (Huber, 1 px)
            sw, sx, sy = wt.sum(), (wt * x).sum(), (wt * y).sum()
            sxx, sxy = (wt * x * x).sum(), (wt * x * y).sum()
            det = sw * sxx - sx * sx
            slope = (sw * sxy - sx * sy) / det if det > 1e-9 else 0.0
            icpt = (sy - slope * sx) / sw
            wt = w0 * np.minimum(1.0, 1.0 / np.maximum(np.abs(y - (slope * x + icpt)), 1e-6))
        direction = self.d + slope * self.n
        return self.a + icpt * self.n, direction / np.linalg.norm(direction)


def _outer_edge(side: _Side, height: float, rail: float) -> tuple[tuple[float, float] | None, list]:
    """The frame's outer edge among a side's edges, and the other edges it might be.

    Going outward there are the beads, the rail's inner edge, the plain rail, then its outer
    edge; beyond it perhaps a shadow's rim or things on the table. So the outer edge is the
    outermost edge whose next strong edge inward (if any) has something busier inside it
    than the band between the two: beads inside a plain rail. For a shadow's rim or a thing
    on the table, the next strong edge inward is the frame's outer edge, with the plain rail
    inside it."""
    width = rail * height + 2.0
    edges = [e for e in side.edges(NOISE_FLOOR) if side.busy_at(e[0], width)]
    if not edges:
        return None, []
    others = sorted(edges, key=lambda e: -abs(e[1]))[:ALTERNATIVES]
    depth = max(4.0, 0.3 * rail * height)
    for j in range(len(edges) - 1, -1, -1):
        sj, gj = edges[j]
        inward = [si for si, gi in edges[:j] if abs(gi) >= INWARD * abs(gj) and sj - width <= si < sj - 2.5]
        if not inward:
            return edges[j], others
        si = inward[-1]
        band = side.busy[(side.ss >= si + 1.0) & (side.ss <= max(si + 1.0, sj - 1.0))]
        inside = side.busy[(side.ss >= si - depth) & (side.ss <= si - 1.0)]
        if len(inside) and len(band) and inside.max() > 1.5 * np.median(band) + 1.0:
            return edges[j], others
    return edges[0], others


def _intersect(l1, l2) -> np.ndarray | None:
    (p1, d1), (p2, d2) = l1, l2
    m = np.array([d1, -d2]).T
    if abs(np.linalg.det(m)) < 1e-6:
        return None
    t = np.linalg.solve(m, p2 - p1)
    return p1 + t[0] * d1


def _corners(lines) -> np.ndarray | None:
    out = []
    for k in range(4):
        p = _intersect(lines[k - 1], lines[k])
        if p is None:
            return None
        out.append(p)
    return np.array(out)


def _fine_lines(img: np.ndarray, quad: np.ndarray, signs) -> list | None:
    """Each side's line fitted to the gradient (of the given sign; 0: left as it is) within
    a pixel and a half, on a half-pixel grid."""
    centre = quad.mean(axis=0)
    lines = []
    for k in range(4):
        a, b = quad[k], quad[(k + 1) % 4]
        side = _Side(img, a, b, 0.5 * (a + b) - centre, 2.0, 0.5, 1, 1.0, edges=False)
        sign = signs[k] if signs is not None else np.sign(np.median(side.grad[:, len(side.offsets) // 2]))
        lines.append(side.fit(0.0, sign, 1.5) if sign != 0 else side.line(0.0))
    return lines


def _polish(img: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The quad with each side fitted to its edge to the half pixel (if it moves little)."""
    out = _corners(_fine_lines(img, quad, None))
    if out is None or np.abs(out - quad).max() > 2.0:
        return quad
    return order_corners(out)


def _analyse(img: np.ndarray, quad: np.ndarray) -> dict | None:
    """Each side of a rough quad looked at (`_Side`), its outer edge picked (`_outer_edge`)
    and, where that edge is no rail's, where a rail as wide as the opposite one would end."""
    quad = np.asarray(quad, np.float64)
    centre = quad.mean(axis=0)
    height = _height(quad)
    lengths = np.linalg.norm(np.roll(quad, -1, axis=0) - quad, axis=1)
    if height < 8 or lengths.min() < 8:
        return None
    long_pair = 0 if lengths[0] + lengths[2] >= lengths[1] + lengths[3] else 1
    sides, picks, others, rails = [], [], [], []
    for k in range(4):  # on a 1-pixel grid, tilts searched
        a, b = quad[k], quad[(k + 1) % 4]
        rail = RAIL_LONG if k % 2 == long_pair else RAIL_SHORT
        reach = max(6.0, REACH * height)
        side = _Side(
            img, a, b, 0.5 * (a + b) - centre, reach, COARSE_STEP, TILTS, max(2.0, DRIFT * lengths[k])
        )
        pick, more = _outer_edge(side, height, rail)
        sides.append(side)
        picks.append(pick)
        others.append(more)
        rails.append(side.rail_width(None if pick is None else pick[0], height))
    # An outer edge may be invisible (frame and table alike in gray): then the pick is no
    # rail's outer edge, and the side may be a rail's width outside the beads, the rail as
    # wide as the opposite one (the same in the flat frame, give or take the perspective).
    inferred: list[float | None] = [None] * 4
    ok = [w is not None and w[1] >= MIN_RAIL * height for w in rails]
    for k in range(4):
        j = (k + 2) % 4
        if ok[k] or not ok[j]:
            continue
        beads = sides[k].rail_width(None, height)
        if beads is not None:
            inferred[k] = beads[0] + rails[j][1] * lengths[k] / lengths[j]
    return {
        "quad": quad,
        "height": height,
        "sides": sides,
        "picks": picks,
        "others": others,
        "inferred": inferred,
    }


def refine_quad(
    img: np.ndarray, quad: np.ndarray, search: bool = True, fine: bool = True, analysis: dict | None = None
) -> np.ndarray | None:
    """Snap each side of a rough quad to the frame's outer edge (img: float32 gray, lightly
    smoothed). Each side takes the edge `_outer_edge` picks; with `search`, then, one side
    at a time, another strong edge of that side (or where a rail as wide as the opposite
    one would end) replaces it if that makes the quad look more like a soroban's frame
    (`soroban_score`). With `fine`, last, a sub-pixel line fit to the gradient along each
    chosen edge. `analysis`: `_analyse(img, quad)`, if already made. None if it fails."""
    found = analysis if analysis is not None else _analyse(img, quad)
    if found is None:
        return None
    quad, height, sides = found["quad"], found["height"], found["sides"]
    options = []  # per side: [(line, sign)], the picked edge first
    for k in range(4):
        side, pick, guess = sides[k], found["picks"][k], found["inferred"][k]
        guess = [(side.line(guess), 0.0)] if guess is not None else []
        if pick is None:  # no edge to be seen: a rail's width outside the beads, or as it was
            options.append(guess or [(side.line(0.0), 0.0)])
            continue
        edges = [pick] + ([e for e in found["others"][k] if e[0] != pick[0]] if search else [])
        options.append([(side.fit(s, np.sign(g)), np.sign(g)) for s, g in edges] + (guess if search else []))
    choice = [0, 0, 0, 0]

    def score(ch):
        corners = _corners([options[k][ch[k]][0] for k in range(4)])
        if corners is None or not cv2.isContourConvex(corners.astype(np.float32)):
            return -np.inf
        return soroban_score(img, order_corners(corners))

    best = score(choice) if search else 0.0
    for k in range(4 if search else 0):
        for i in range(1, len(options[k])):
            trial = choice.copy()
            trial[k] = i
            value = score(trial)
            if value > best + SWITCH_MARGIN:
                best, choice = value, trial
    out = _corners([options[k][choice[k]][0] for k in range(4)])
    if out is not None and fine:
        out = _corners(_fine_lines(img, out, [options[k][choice[k]][1] for k in range(4)]))
    if (
        out is None
        or np.abs(out - quad).max() > 0.5 * height
        or not cv2.isContourConvex(out.astype(np.float32))
    ):
        return None
    return out


# --------------------------------------------------------------------------- candidates


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


def quad_candidates(gray: np.ndarray, limit: int = 12, colour: np.ndarray | None = None) -> list[np.ndarray]:
    """Frame candidates ([4,2] float, clockwise from the top-left), the most soroban-like
    first; only quads that look like a soroban frame (soroban_score >= MIN_SCORE).

    Rough quads come from outlines in edge maps and, unless those already give a convincing
    frame, from the blob of strong gradients the beads make; each is snapped to the frame's
    outer edges (`refine_quad`) and scored (`soroban_score`).

    With `colour` (RGB [H,W,3], 0..255, in the same pixels as `gray`), when gray shows no
    convincing frame (a frame and a table alike in gray, but not in colour), the same is
    done on single colour channels (`_colour_channels`) too, and the best of all is kept.
    Two sorobans are refused as seen in gray only."""
    gray = np.asarray(gray, np.float64)
    h, w = gray.shape
    found = _found_in(gray)
    sorobans = _one_per_soroban([(sc, q) for sc, q, _ in found if _within(q, w, h, 2.0)])
    if len(sorobans) > 1 and sorobans[1][0] >= TWO_SOROBANS:
        raise FrameNotFound(
            f"{sum(sc >= TWO_SOROBANS for sc, _ in sorobans)} sorobans found in the image; "
            "show one soroban at a time"
        )
    if colour is not None and (not found or found[0][0] < CONVINCING):
        smooth = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 0.7)
        for channel in _colour_channels(colour):
            # scored in gray, like the rest: a frame's rails are plain and its beads busy
            # in gray too, whether or not its outline shows there
            rescored = [(soroban_score(smooth, q), q, im) for _, q, im in _found_in(channel)]
            found += [f for f in rescored if f[0] >= MIN_SCORE]
            found.sort(key=lambda x: -x[0])
            if found and found[0][0] >= CONVINCING:
                break
    inside = [(sc, q, im) for sc, q, im in found if _within(q, w, h, 2.0)]
    images = {id(q): im for _, q, im in inside}
    groups = _one_per_soroban([(sc, q) for sc, q, _ in inside])
    ordered = [q for group in groups for q in group[1]]
    if ordered:  # the one to read, fitted to the half pixel however it was found
        ordered[0] = _polish(images[id(ordered[0])], ordered[0])
    return _dedupe(ordered, 2.0)[:limit]


def _colour_channels(colour: np.ndarray):
    """Single channels of an RGB photo in which a frame may stand out from a table it is
    like in gray: first the opponent channels, CIELAB's yellow-blue b* and red-green a*
    (stretched twice), which gray (luminance) leaves out; then red, blue and green."""
    rgb = np.asarray(colour, np.float64)[..., :3]
    lab = cv2.cvtColor(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), cv2.COLOR_RGB2LAB)
    for k in (2, 1):
        yield np.clip((lab[..., k].astype(np.float64) - 128.0) * 2.0 + 128.0, 0, 255)
    for k in (0, 2, 1):
        yield rgb[..., k]


def _found_in(gray: np.ndarray) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """(score, quad, the smoothed image it was found in) for the frame-like quads in one
    single-channel image, best first, scoring at least MIN_SCORE."""
    h, w = gray.shape
    u8 = np.clip(np.rint(gray), 0, 255).astype(np.uint8)
    scale = min(1.0, ROUGH_SIDE / max(h, w))
    small = u8 if scale == 1.0 else cv2.resize(u8, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    img = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 0.7)
    found: list[tuple[float, np.ndarray, dict]] = []  # (score, quad, analysis of the rough quad)
    for source in (_contour_quads, _blob_quads, _line_quads):
        if source is not _contour_quads and found and max(f[0] for f in found) >= CONVINCING:
            break
        rough = [(q + 0.5) / scale - 0.5 for q in source(small)]
        for q in _dedupe([q for q in rough if _plausible(q)], ROUGH_SAME * max(h, w)):
            q = order_corners(q)
            if any(np.abs(q - f).max() <= SNAPS_TO * _height(f) for _, f, _ in found):
                continue  # close enough to a quad already found to snap to the same edges
            if any(sc >= CONVINCING and _overlap(q, f) >= 0.5 for sc, f, _ in found):
                continue  # on a soroban already found, and well
            analysis = _analyse(img, q)
            r = refine_quad(img, q, search=False, fine=False, analysis=analysis)
            if r is None:
                continue
            r = order_corners(r)
            if any(np.abs(r - f).max() <= 2.0 for _, f, _ in found):
                continue
            found.append((soroban_score(img, r), r, analysis))
    found.sort(key=lambda x: -x[0])
    # the best again, now letting each side take another of its edges if that makes the
    # frame look more like a soroban's, and fitted to the half pixel
    for i, (_, _, analysis) in enumerate(found[:SEARCHED]):
        r = refine_quad(img, analysis["quad"], search=True, analysis=analysis)
        if r is not None:
            r = order_corners(r)
            found[i] = (soroban_score(img, r), r, analysis)
    found.sort(key=lambda x: -x[0])
    return [(sc, q, img) for sc, q, _ in found if sc >= MIN_SCORE]


def _within(quad: np.ndarray, w: int, h: int, margin: float) -> bool:
    """Is the quad inside the image? A frame cut by the image's border cannot be read."""
    return bool(
        (quad >= -margin).all()
        and (quad[:, 0] <= w - 1 + margin).all()
        and (quad[:, 1] <= h - 1 + margin).all()
    )


def _one_per_soroban(found: list[tuple[float, np.ndarray]]) -> list[tuple[float, list[np.ndarray]]]:
    """Group quads (score, quad; best first) by the soroban they are around: (best score,
    quads best first) per soroban. Within a group, a shadow or a thing on the table just
    outside a side rail may have moved an end of a quad out past the frame's edge without
    the quad looking any less like a soroban: so of those with the best quad's long sides
    and scoring nearly as well, the shortest comes first."""
    groups = []
    while found:
        best = found[0]
        group = [f for f in found if _overlap(f[1], best[1]) >= 0.5]
        close = [f for f in group if f[0] >= best[0] - NESTED_MARGIN and _shortened(f[1], best[1])]
        pick = min([best] + close, key=lambda f: cv2.contourArea(f[1].astype(np.float32)))
        groups.append((best[0], [pick[1]] + [f[1] for f in group if f is not pick]))
        found = [f for f in found if not any(f is g for g in group)]
    return groups


def _shortened(a: np.ndarray, b: np.ndarray) -> bool:
    """Is quad a quad b (both clockwise from the top-left) with an end or both moved in by
    a few pixels to a fifth of its height (a side rail's width, give or take), and nothing
    else moved?"""
    height = _height(b)
    tol = max(2.0, 0.02 * height)
    moved = []
    centre = b.mean(axis=0)
    for k in range(4):
        p, q = b[k], b[(k + 1) % 4]
        n = np.array([q[1] - p[1], p[0] - q[0]]) / max(np.linalg.norm(q - p), 1e-9)
        n = n if n @ (0.5 * (p + q) - centre) >= 0 else -n
        ends = [(a[k] - p) @ n, (a[(k + 1) % 4] - p) @ n]  # + outward
        moved.append(-float(np.mean(ends)))
        if max(abs(ends[0] - ends[1]), 0) > 2 * tol or ends[0] > tol or ends[1] > tol:
            return False  # tilted or moved out
    top_bottom, ends = (moved[0], moved[2]), (moved[1], moved[3])
    return max(abs(v) for v in top_bottom) <= tol and 3.0 <= max(ends) <= 0.2 * height


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """The area two convex quads share, of the smaller one's area."""
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    shared, _ = cv2.intersectConvexConvex(a32, b32)
    return float(shared) / max(min(cv2.contourArea(a32), cv2.contourArea(b32)), 1e-9)


def _plausible(quad: np.ndarray) -> bool:
    """Could this rough quad be a soroban frame: convex, wider than tall, not tiny?"""
    quad = order_corners(quad)
    top, left = np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[3] - quad[0])
    return cv2.isContourConvex(quad.astype(np.float32)) and left >= 8 and top >= 1.1 * left


def _height(quad: np.ndarray) -> float:
    return 0.5 * float(np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1]))


def _dedupe(quads: list[np.ndarray], tol: float) -> list[np.ndarray]:
    unique: list[np.ndarray] = []
    for q in quads:
        if all(np.abs(q - u).max() > tol for u in unique):
            unique.append(q)
    return unique
