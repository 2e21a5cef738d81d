"""Snapping each side of a rough quad to the frame's OUTER edge (`refine_quad`).

Across the side, the median along it of the gradient along its normal, at the tilt that makes
it sharpest, gives the straight edges nearby (`Side`). Going outward there are the busy
beads, the plain rail, the rail's outer edge, then maybe a shadow's soft rim or things on the
table; the outer edge is the outermost sharp edge at most a rail's width outside the beads
with no other strong edge between the beads and it (`_outer_edge`). Where the frame and the
table are alike in gray and no edge shows, the rail is taken as wide as the opposite one.
A line is fitted to the sub-pixel gradient peaks along the chosen edge (Huber weights),
first on a 1-pixel grid, then on a half-pixel one; corners are where lines meet.
"""

from __future__ import annotations

import cv2
import numpy as np

from soroban_vision.abacus.corners import order_corners, quad_height
from soroban_vision.abacus.score import soroban_score
from soroban_vision.abacus.spec import SPEC

# Distances are pixels, or fractions of the quad's height (the spec's frame_search.edges)
EDGES = SPEC["frame_search"]["edges"]
REACH = EDGES["reach"]  # how far a side may move: more than a side rail is wide
COARSE_STEP = EDGES["coarse_step"]  # pixels between the offsets looked at first
SAMPLE_EVERY = EDGES["sample_every"]  # pixels between the samples along a side
TILTS, DRIFT = EDGES["tilts"], EDGES["drift"]  # tilts tried, up to this much of the side's length end to end
SHADOW_SIGMA = EDGES["shadow_sigma"]  # pixels: the soft part of an edge, as a shadow's blurred rim has
NOISE_FLOOR = EDGES["noise_floor"]  # gray levels per pixel: a weaker median gradient is no edge
NOISE_SIGMAS = EDGES["noise_sigmas"]  # nor is one within this many of its noise
BUSY_FLOOR = EDGES["busy_floor"]  # gray levels: plainer than this along a side is not busy (not beads)
BUSY_FRACTION = EDGES["busy_fraction"]  # nor is plainer than this part of the busiest inside
RAIL_LONG = EDGES["rail_long"]  # the widest rail along a long side (more than the 5-12% seen, for tilt)
RAIL_SHORT = EDGES["rail_short"]  # along a short side (10-24% seen)
MIN_RAIL = EDGES["min_rail"]  # the narrowest rail
INWARD = EDGES["inward"]  # an edge at least this strong, relative to one outside it, is a strong edge
ALTERNATIVES = EDGES["alternatives"]  # other edges of a side tried in place of the one picked
SWITCH_MARGIN = EDGES["switch_margin"]  # soroban_score gain that makes another edge the side


def smoothed(gray: np.ndarray) -> np.ndarray:
    """The gray as the edge code and `soroban_score` look at it: float32, lightly smoothed."""
    return cv2.GaussianBlur(gray.astype(np.float32), (0, 0), SPEC["frame_search"]["smooth_sigma"])


def _sample(img: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Bilinear samples of img at float points [..., 2] (edges replicated)."""
    return cv2.remap(
        img,
        pts[..., 0].astype(np.float32),
        pts[..., 1].astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


class Side:
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


def _outer_edge(side: Side, height: float, rail: float) -> tuple[tuple[float, float] | None, list]:
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


def corners_of(lines) -> np.ndarray | None:
    out = []
    for k in range(4):
        p = _intersect(lines[k - 1], lines[k])
        if p is None:
            return None
        out.append(p)
    return np.array(out)


def fine_lines(img: np.ndarray, quad: np.ndarray, signs) -> list | None:
    """Each side's line fitted to the gradient (of the given sign; 0: left as it is) within
    a pixel and a half, on a half-pixel grid."""
    centre = quad.mean(axis=0)
    lines = []
    for k in range(4):
        a, b = quad[k], quad[(k + 1) % 4]
        side = Side(img, a, b, 0.5 * (a + b) - centre, 2.0, 0.5, 1, 1.0, edges=False)
        sign = signs[k] if signs is not None else np.sign(np.median(side.grad[:, len(side.offsets) // 2]))
        lines.append(side.fit(0.0, sign, 1.5) if sign != 0 else side.line(0.0))
    return lines


def polish(img: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The quad with each side fitted to its edge to the half pixel (if it moves little)."""
    out = corners_of(fine_lines(img, quad, None))
    if out is None or np.abs(out - quad).max() > SPEC["frame_search"]["outline"]["polish_px"]:
        return quad
    return order_corners(out)


def analyse(img: np.ndarray, quad: np.ndarray) -> dict | None:
    """Each side of a rough quad looked at (`Side`), its outer edge picked (`_outer_edge`)
    and, where that edge is no rail's, where a rail as wide as the opposite one would end."""
    quad = np.asarray(quad, np.float64)
    centre = quad.mean(axis=0)
    height = quad_height(quad)
    lengths = np.linalg.norm(np.roll(quad, -1, axis=0) - quad, axis=1)
    if height < 8 or lengths.min() < 8:
        return None
    long_pair = 0 if lengths[0] + lengths[2] >= lengths[1] + lengths[3] else 1
    sides, picks, others, rails = [], [], [], []
    for k in range(4):  # on a 1-pixel grid, tilts searched
        a, b = quad[k], quad[(k + 1) % 4]
        rail = RAIL_LONG if k % 2 == long_pair else RAIL_SHORT
        reach = max(6.0, REACH * height)
        side = Side(
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
    chosen edge. `analysis`: `analyse(img, quad)`, if already made. None if it fails."""
    found = analysis if analysis is not None else analyse(img, quad)
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
        corners = corners_of([options[k][ch[k]][0] for k in range(4)])
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
    out = corners_of([options[k][choice[k]][0] for k in range(4)])
    if out is not None and fine:
        out = corners_of(fine_lines(img, out, [options[k][choice[k]][1] for k in range(4)]))
    if (
        out is None
        or np.abs(out - quad).max() > 0.5 * height
        or not cv2.isContourConvex(out.astype(np.float32))
    ):
        return None
    return out
