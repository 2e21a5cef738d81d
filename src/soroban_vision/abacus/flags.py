"""Which columns a reading may count as digits. A column is "read", "hidden" (its confidence is
below the flag threshold: a hand or finger over its beads, glare, or the model unsure; or its
digit changes when its crop moves a little, by steady_shifts) or "out_of_frame" (too much of its
crop lies outside the image). In a reading with a hidden column, the read ones must be surer
(with_hidden).
Only read columns are digits; the number exists only when every column is read, and its text
marks the others ("12?45").
web/src/abacus/flags.js is the same rule; the spec's `flags` holds its constants."""

from __future__ import annotations

import re

import numpy as np

from soroban_vision.abacus.spec import SPEC

READ, HIDDEN, OUT_OF_FRAME = "read", "hidden", "out_of_frame"
STATUSES = (READ, HIDDEN, OUT_OF_FRAME)
OUT_OF_FRAME_SHARE = float(SPEC["flags"]["out_of_frame_share"])
WITH_HIDDEN = float(SPEC["flags"]["with_hidden"])
STEADY_SHIFTS = [(float(dx), float(dy)) for dx, dy in SPEC["flags"]["steady_shifts"]]
STEADY_BELOW = float(SPEC["flags"]["steady_below"])
UNREAD = SPEC["flags"]["unread_mark"]


def column_status(confidence: float, outside: float, threshold: float, steady: bool = True) -> str:
    """A column's status from its confidence, the share of its crop outside the image, and
    whether its digit holds in its shifted crops (`steady`)."""
    if outside > OUT_OF_FRAME_SHARE:
        return OUT_OF_FRAME
    return READ if confidence >= threshold and steady else HIDDEN


def needs_views(confidences, outsides, threshold: float) -> list[bool]:
    """Which columns' shifted crops are read: only those the status rule could still let be read
    (read on confidence, and at least WITH_HIDDEN sure when another is hidden), and below
    STEADY_BELOW (surer ones are taken as steady: the views cost time in every frame)."""
    first = [column_status(c, o, threshold) for c, o in zip(confidences, outsides, strict=True)]
    sure = _bar(first, threshold)
    return [s == READ and sure <= c < STEADY_BELOW for s, c in zip(first, confidences, strict=True)]


def column_statuses(confidences, outsides, threshold: float, steady=None) -> list[str]:
    """Each column's status: `column_status`, then, if any column is hidden, each read one is
    hidden too unless at least WITH_HIDDEN (or `threshold`) sure: such a reading gives no number,
    and rods half under a hand or in its shadow read confidently wrong. `steady`: per column,
    whether its digit holds in its shifted crops (default: every one)."""
    steady = [True] * len(confidences) if steady is None else steady
    first = [column_status(c, o, threshold, s) for c, o, s in zip(confidences, outsides, steady, strict=True)]
    sure = _bar(first, threshold)
    return [HIDDEN if s == READ and c < sure else s for s, c in zip(first, confidences, strict=True)]


def _bar(first: list[str], threshold: float) -> float:
    """The confidence a read column needs in a reading whose first-pass statuses are `first`."""
    return max(threshold, WITH_HIDDEN) if HIDDEN in first else threshold


def outside_share(quad, width: int, height: int) -> float:
    """The share of a convex quad's area outside the image (pixel centres at integers, so the
    image spans -0.5 .. width - 0.5): 0 when it is all inside, 1 when all outside."""
    points = [(float(x), float(y)) for x, y in np.asarray(quad, np.float64).reshape(-1, 2)]
    whole = _area(points)
    if whole <= 0:
        return 1.0
    box = (-0.5, -0.5, width - 0.5, height - 0.5)
    for axis, bound, keep_below in (
        (0, box[0], False),
        (0, box[2], True),
        (1, box[1], False),
        (1, box[3], True),
    ):
        points = _clip(points, axis, bound, keep_below)
        if not points:
            return 1.0
    return min(1.0, max(0.0, 1.0 - _area(points) / whole))


def number_text(digits: list[int | None]) -> str:
    """The digits as a user reads them: leading zeros dropped, each unread column as the mark."""
    text = "".join(UNREAD if d is None else str(d) for d in digits)
    return re.sub(r"^0+(?=.)", "", text)


def _area(points: list[tuple[float, float]]) -> float:
    """Shoelace area (positive), the terms summed in order as flags.js sums them."""
    total = 0.0
    for k in range(len(points)):
        (x0, y0), (x1, y1) = points[k], points[(k + 1) % len(points)]
        total += x0 * y1 - x1 * y0
    return abs(total) / 2


def _clip(points, axis: int, bound: float, keep_below: bool):
    """Sutherland-Hodgman: the polygon's part on one side of the line coordinate[axis] = bound."""
    out = []
    for k in range(len(points)):
        a, b = points[k - 1], points[k]
        a_in = a[axis] <= bound if keep_below else a[axis] >= bound
        b_in = b[axis] <= bound if keep_below else b[axis] >= bound
        if a_in != b_in:
            t = (bound - a[axis]) / (b[axis] - a[axis])
            out.append((a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])))
        if b_in:
            out.append(b)
    return out
