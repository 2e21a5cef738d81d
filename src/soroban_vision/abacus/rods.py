"""The rods inside a frame: in the rectified frame, rods sit at side + (i + 0.5) * pitch. The
side rail width and the rod count are fitted to the vertical-edge profile (bead gaps and
rails); each rod's crop (the contract's crop) is then a quad in the photo. Which count wins,
and how sure that is, `choose_count` decides from the fit and the column model's readings.
Every number here comes from the reader's spec, which the browser shares."""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from soroban_vision import preprocess
from soroban_vision.abacus.flags import OUT_OF_FRAME_SHARE
from soroban_vision.abacus.spec import MAX_COLUMNS, MIN_COLUMNS, SPEC, side_fracs
from soroban_vision.preprocess import HEIGHT, WIDTH, warp_gray

_RECTIFY = SPEC["rectify"]
_RODS = SPEC["rods"]
LAYOUTS_READ = _RODS["layouts_read"]  # (rods, side) layouts of a frame read, the best first
_COUNT = _RODS["count"]


def frame_homography(corners: np.ndarray, width: float, height: float) -> np.ndarray:
    """Maps frame coordinates ([0,width] x [0,height]) to photo pixels."""
    src = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    return cv2.getPerspectiveTransform(src, corners.astype(np.float32)).astype(np.float64)


def rectified_size(corners: np.ndarray) -> tuple[int, int]:
    """(width, height) of the front-on frame the rods are fitted in: wider than the frame's
    top side in the photo, within the spec's limits, the frame's proportions kept."""
    top = np.linalg.norm(corners[1] - corners[0])
    left = np.linalg.norm(corners[3] - corners[0])
    width = int(np.clip(top * _RECTIFY["width_per_top_side"], *_RECTIFY["width"]))
    height = int(np.clip(width * left / top, *_RECTIFY["height"]))
    return width, height


def rectify(gray: np.ndarray, corners: np.ndarray, width: int, height: int) -> np.ndarray:
    return warp_gray(gray, frame_homography(corners, width, height), width, height)


def column_profile(rect: np.ndarray) -> np.ndarray:
    """Mean brightness per column of the rectified frame, rails and bar excluded (rows 10-90%).
    Beads are solid shapes centred on their rods, so the profile swings with the rod pitch:
    one extreme at every rod, the other at every gap between neighbouring columns."""
    h = rect.shape[0]
    lo, hi = _RODS["profile_rows"]
    return rect[int(lo * h) : int(hi * h)].mean(axis=0)


def rod_counts(profile: np.ndarray) -> list[int]:
    """Rod counts consistent with the profile's period (its autocorrelation's first strong peak).
    The side rails are 0.3-1.0 pitches wide, so a period leaves one or two candidate counts. A
    stronger peak at about twice that period may be the true one (bead edges can repeat at half
    the pitch; a true period's own double is weaker), so its counts are candidates too."""
    every = list(range(MIN_COLUMNS, MAX_COLUMNS + 1))
    width = len(profile)
    lo, hi = _RODS["period_window"]
    inner = profile[int(lo * width) : int(hi * width)]
    inner = inner - inner.mean()
    ac = np.correlate(inner, inner, mode="full")[len(inner) - 1 :]
    ac = ac / (ac[0] + 1e-9)
    first = max(_RODS["min_lag"], int(width / (MAX_COLUMNS + 2)))
    last = min(len(ac) - 2, int(width / _RODS["max_lag_divisor"]))
    peaks = [k for k in range(first, last) if ac[k] >= ac[k - 1] and ac[k] >= ac[k + 1] and ac[k] > 0]
    if not peaks:
        return every
    strongest = max(ac[k] for k in peaks)
    period = next(k for k in peaks if ac[k] >= _RODS["peak_share"] * strongest)
    twice = [
        k for k in peaks if _RODS["double_period"][0] * period <= k <= _RODS["double_period"][1] * period
    ]
    periods = [period] + [k for k in twice[:1] if ac[k] > ac[period]]
    low, high = _RODS["period_ratio"]
    rails = _RODS["rails_in_pitches"]
    counts = {n for n in every for p in periods if low <= (width / (n + rails)) / p <= high}
    return sorted(counts) or every


def fit_rods(profile: np.ndarray, columns: int | None) -> list[tuple[int, float, float]]:
    """Candidate (rods, side rail width in pitches, score) for a profile from `column_profile`,
    best first, one per rod count.

    The score is how strongly the profile differs between the rods and the gaps between
    columns, in units of its spread; a wrong count (half or double the true one, say) puts
    candidate rods on gaps as often as on rods, and the difference cancels out. Side rails
    are plain frame, so a candidate whose rails hold beads is marked down."""
    width = len(profile)
    grid = np.arange(width) + 0.5
    spread = float(profile.std()) + 1e-9
    out = []
    for n in [columns] if columns else rod_counts(profile):
        best = (n, 0.0, -np.inf)
        for side_frac in side_fracs():
            pitch = width / (n + 2 * side_frac)
            side = side_frac * pitch
            rods = np.interp(side + pitch * (np.arange(n) + 0.5), grid, profile)
            gaps = np.interp(side + pitch * np.arange(n + 1), grid, profile)
            inner = gaps[1:-1] if n > 1 else gaps
            diffs = rods - 0.5 * (gaps[:-1] + gaps[1:])  # every rod differs from its gaps alike
            consistency = abs(diffs.mean()) / (diffs.std() + _RODS["spread_share"] * spread)
            cut = max(1, int(side))
            flat = float(np.concatenate([profile[:cut], profile[width - cut :]]).std()) / spread
            score = consistency * abs(rods.mean() - inner.mean()) / spread - _RODS["rail_beads_weight"] * flat
            if score > best[2]:
                best = (n, float(side_frac), float(score))
        out.append(best)
    return sorted(out, key=lambda c: -c[2])


def crop_homography(quad) -> np.ndarray:
    """The homography from a column crop's pixels (WIDTH x HEIGHT, corners at the pixel edges) to
    `quad`, its four corners clockwise from the top-left."""
    rect = np.array([[0, 0], [WIDTH, 0], [WIDTH, HEIGHT], [0, HEIGHT]], np.float32)
    return cv2.getPerspectiveTransform(rect, np.asarray(quad, np.float32)).astype(np.float64)


def shifted_homography(hom: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """`hom` (crop pixels to photo pixels) for the crop moved by (dx, dy) crop pixels: hom times
    a translation, its last column summed term by term as crops.js sums it."""
    out = np.array(hom, np.float64)
    for r in range(3):
        out[r, 2] = float(hom[r, 0]) * dx + float(hom[r, 1]) * dy + float(hom[r, 2])
    return out


def column_quads(
    corners: np.ndarray, rods: int, side_frac: float, indices=None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each rod's crop as a photo quad, and as the homography from crop pixels to photo pixels;
    `indices` (default every rod) may reach past the ends: -1 is one pitch before the first rod."""
    half = preprocess.SPEC["crop"]["width_pitches"] / 2
    pitch = 1.0 / (rods + 2 * side_frac)  # frame width is 1
    frame = frame_homography(corners, 1.0, 1.0)
    quads, homs = [], []
    for i in range(rods) if indices is None else indices:
        x = (side_frac + i + 0.5) * pitch
        q = np.array(
            [[x - half * pitch, 0], [x + half * pitch, 0], [x + half * pitch, 1], [x - half * pitch, 1]]
        )
        hom = frame @ crop_homography(q)
        pts = cv2.perspectiveTransform(q.reshape(1, 4, 2).astype(np.float64), frame).reshape(4, 2)
        quads.append(pts)
        homs.append(hom)
    return quads, homs


@dataclass
class RodCount:
    """The rod count a reading went by, and how sure it is.

    confidence: 0..1, 1 when sure: over every other count read, the larger of how much worse
    it reads (mean log confidence per column, in units of the spec's sure_margin) and how much
    worse its rods fit (fit_rods' score, in units of `_fit_unit`), the least of these; 1 too
    when no other count fits the rods' spacing or the count was given. uncertain: below 1, or
    a column read below the flag threshold leaves it unvouched for (`with_hidden`), or the
    frame may be cut short (`with_beyond`); `doubt` says which. rival: the other count that
    came closest. candidates: every layout read. hidden_share: the share of its columns read
    below the flag threshold. end_hidden: its first or last column is one of them. beyond_end: a
    crop one pitch past an end rod reads as a rod."""

    count: int
    confidence: float
    uncertain: bool
    given: bool
    rival: int | None
    candidates: list[dict]
    hidden_share: float = 0.0
    end_hidden: bool = False
    beyond_end: bool = False

    @property
    def doubt(self) -> str | None:
        """Why the count is unsure, the first that holds: "rival" (another count reads about as
        well), "beyond_end", "many_hidden" (more than the spec's hidden_share of its columns),
        "end_hidden" or "hidden"; None when it is sure. A reading's warning is the spec's
        rods_<doubt>, and the Stabilizer forgives the last two (see there)."""
        if not self.uncertain:
            return None
        if self.confidence < 1.0:
            return "rival"
        if self.beyond_end:
            return "beyond_end"
        if self.hidden_share > _COUNT["hidden_share"]:
            return "many_hidden"
        return "end_hidden" if self.end_hidden else "hidden"

    def with_hidden(self, hidden: list[bool]) -> RodCount:
        """This count once it is known which of its columns read below the flag threshold. It is
        unsure when any does: the model's confidence chose the count, and a hand over some rods
        lowers the true count's confidence as much as a wrong one's, so the digits read may sit
        on the wrong rods (a hand over the frame's end can hide the rods beyond it, too). A count
        given is never unsure."""
        share = sum(hidden) / len(hidden) if hidden else 0.0
        end = bool(hidden) and (hidden[0] or hidden[-1])
        unsure = self.uncertain or (not self.given and share > 0)
        return replace(self, uncertain=unsure, hidden_share=share, end_hidden=end)

    def with_beyond(self, confidences: list[float], outsides: list[float]) -> RodCount:
        """This count once the crops one pitch past its end rods are read (`confidences`, and the
        share of each crop outside the image). It is unsure when one inside the image reads at
        least beyond_end sure: a rod seems to go on past the frame's end, so the frame may be
        cut short. A frame's true end shows rail and table there, which read far less sure; a
        count given is never unsure."""
        beyond = any(
            c >= _COUNT["beyond_end"] and o <= OUT_OF_FRAME_SHARE
            for c, o in zip(confidences, outsides, strict=True)
        )
        return replace(self, uncertain=self.uncertain or (beyond and not self.given), beyond_end=beyond)

    def to_json(self) -> dict:
        return {**vars(self), "doubt": self.doubt}


def choose_count(layouts: list, mean_logs: list[float], given: bool = False) -> tuple[int, RodCount]:
    """The layout to read (its index in `layouts`, fit_rods' (rods, side, score)) given each
    one's mean log confidence, and its RodCount.

    The column model decides: misplaced crops mostly read with low confidence. But it forgives
    crops a quarter pitch off, and a hand over a few rods lowers the true count's confidence,
    so another count can read about as well; then the one whose rods plainly fit better wins."""
    n = len(layouts)
    best = max(range(n), key=lambda i: mean_logs[i])  # the first on a tie
    close = [
        o
        for o in range(n)
        if mean_logs[best] - mean_logs[o] < _COUNT["switch_margin"]
        and layouts[o][2] - layouts[best][2] >= _fit_unit(layouts[best][2])
    ]
    chosen = max(close, key=lambda o: layouts[o][2]) if close else best
    others = [o for o in range(n) if o != chosen]
    worse = [
        max(
            (mean_logs[chosen] - mean_logs[o]) / _COUNT["sure_margin"],
            (layouts[chosen][2] - layouts[o][2]) / _fit_unit(layouts[chosen][2]),
        )
        for o in others
    ]
    closest = min(range(len(others)), key=lambda k: worse[k]) if others else None  # the first on a tie
    rival = None if closest is None else int(layouts[others[closest]][0])
    confidence = 1.0 if closest is None else float(min(max(worse[closest], 0.0), 1.0))
    candidates = [
        {"rods": int(r), "side_frac": float(s), "score": float(sc), "mean_log_confidence": float(m)}
        for (r, s, sc), m in zip(layouts, mean_logs, strict=True)
    ]
    return chosen, RodCount(int(layouts[chosen][0]), confidence, confidence < 1.0, given, rival, candidates)


def _fit_unit(score: float) -> float:
    """The fit score gap that counts as plainly better: fit_margin, or fit_share of the score
    when the rods fit well (a strong pattern fits every near count fairly well too)."""
    return max(_COUNT["fit_margin"], _COUNT["fit_share"] * abs(score))
