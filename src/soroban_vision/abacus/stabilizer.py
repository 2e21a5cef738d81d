"""Steady readings from video: a number is accepted once it has held, confidently, for a few
frames with the frame still and the rod count the same and sure. While a hand covers some
columns, each keeps its last confident digit, until the soroban moves. Its defaults are the
spec's, which the browser (web/src/abacus/stabilizer.js) shares."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

import numpy as np

from soroban_vision.abacus.spec import LOW_CONFIDENCE, SPEC
from soroban_vision.beads import to_number

FRAMES = SPEC["stabilizer"]["frames"]  # agreeing frames before a number is accepted
MOTION = SPEC["stabilizer"]["motion"]  # of the frame's width: corners moving more start again
FORGIVEN = tuple(SPEC["stabilizer"]["forgiven_doubts"])  # RodCount doubts a sure frame can vouch for


class Stabilizer:
    """Accept a reading only after it has been the same for `frames` frames, each above the
    confidence floor; any motion of the frame (corners moving more than `motion` of the frame
    width) starts the count again. Fed the rod count (`rods`), it also starts again when the
    count changes, and counts no frame whose count is unsure: a number is never accepted
    from frames read with different rod counts (0123 on 4 rods is 123 on 3). A count unsure
    only because columns are hidden (its doubt is one of FORGIVEN) counts, though, when a
    sure frame read the same count before (`sure_rods`): a hand over some rods makes each
    frame's count unsure, not the soroban's. Motion keeps that count (a soroban keeps its rods
    when it moves) but forgets the digits; `reset` forgets both.

    Fed whole readings (`update(reading)`), it keeps each column's last confident digit: a
    column that is not read confidently (a hand over it, or out of frame) counts with that
    digit (`held` lists them), and a frame with such a column that has none is no reading.
    Motion of the frame, or another rod count, forgets every column's digit."""

    def __init__(self, frames: int = FRAMES, min_confidence: float = LOW_CONFIDENCE, motion: float = MOTION):
        self.frames, self.min_confidence, self.motion = frames, min_confidence, motion
        self.reset()

    def reset(self) -> None:
        """Forget everything, the sure rod count too."""
        self.sure_rods: int | None = None  # the latest sure rod count read
        self._start_again()

    def _start_again(self) -> None:
        """Forget the candidate, the corners and the digits held, not the sure rod count: motion
        calls this, and a soroban keeps its rods when it moves."""
        self.count = 0
        self.candidate: int | None = None
        self.rods: int | None = None  # the candidate's rod count, when fed one
        self.corners: np.ndarray | None = None
        self.counts: deque[int] = deque(maxlen=self.frames)  # rod counts of the latest frames
        self.last: dict[int, int] = {}  # each column's last confident digit, while the frame holds still
        self.last_rods: int | None = None  # the rod count those digits were read with
        self.digits: list[int | None] = []  # the latest frame's digits, held ones included
        self.held: list[int] = []  # the latest frame's columns whose digit was held

    @property
    def rods_vary(self) -> bool:
        """The rod count changed within the latest `frames` frames read."""
        return len(set(self.counts)) > 1

    def update(self, number, confidences: Sequence[float] = (), corners=None, rods=None) -> int | None:
        """Feed one frame; returns the number once it is stable, else None. Either a whole
        reading (an AbacusReading, or its JSON), or its number (None when no frame was read),
        column confidences, frame corners and `rods`: the reading's rod count (an int) or its
        `rods` (RodCount, or a dict with count and uncertain)."""
        columns = None
        if _is_reading(number):
            number, confidences, corners, rods, columns = _unpack(number)
        if corners is not None:
            c = np.asarray(corners, np.float64)
            if self.corners is not None:
                width = max(np.linalg.norm(c[1] - c[0]), 1.0)
                if np.abs(c - self.corners).max() > self.motion * width:
                    self._start_again()
            self.corners = c
        count, doubt = _rod_count(rods)
        if count is not None:
            self.counts.append(count)
        if count is not None and doubt is None:
            self.sure_rods = count
        unsure = doubt is not None and not self.vouches(rods)
        if columns is not None:
            number, confidences = self._hold(columns, count)
        if number is None or not confidences or min(confidences) < self.min_confidence or unsure:
            self.count, self.candidate, self.rods = 0, None, None
            return None
        if number != self.candidate or count != self.rods:
            self.candidate, self.rods, self.count = number, count, 0
        self.count += 1
        return number if self.count >= self.frames else None

    def vouches(self, rods) -> bool:
        """Whether an unsure rod count (RodCount or its JSON) is one an earlier sure frame
        vouches for: doubted only for a few hidden columns (FORGIVEN), and the sure count read."""
        count, doubt = _rod_count(rods)
        return doubt in FORGIVEN and count == self.sure_rods

    def _hold(self, columns: list, count: int | None) -> tuple[int | None, list[float]]:
        """The frame's number with each unconfident column's last confident digit, and the
        confidences that stand for it (1 for a held digit); None when a column has none."""
        if count != self.last_rods or len(columns) != len(self.digits):
            self.last, self.last_rods = {}, count  # digits of another layout mean nothing here
        digits, confidences, self.held = [], [], []
        for i, (status, digit, confidence) in enumerate(columns):
            if status == "read" and confidence >= self.min_confidence:
                self.last[i] = digit
                digits.append(digit)
                confidences.append(confidence)
            else:
                digits.append(self.last.get(i))
                confidences.append(1.0)
                if i in self.last:
                    self.held.append(i)
        self.digits = digits
        return (None if None in digits else to_number(digits)), confidences


def _is_reading(x) -> bool:
    return hasattr(x, "columns") or (isinstance(x, Mapping) and "columns" in x)


def _unpack(reading):
    """(number, confidences, corners, rods, columns as (status, digit, confidence)) of a reading."""
    get = reading.get if isinstance(reading, Mapping) else lambda key: getattr(reading, key)
    columns = [
        (c["status"], c["digit"], c["confidence"])
        if isinstance(c, Mapping)
        else (c.status, c.digit, c.confidence)
        for c in get("columns")
    ]
    return get("number"), [c[2] for c in columns], get("corners"), get("rods"), columns


def _rod_count(rods) -> tuple[int | None, str | None]:
    """(count, doubt: None when sure) of what `update` was given as `rods`; an unsure count
    that does not say why is doubted for a reason no frame forgives."""
    if rods is None:
        return None, None
    if isinstance(rods, int | np.integer):
        return int(rods), None
    get = rods.get if isinstance(rods, Mapping) else lambda key, default=None: getattr(rods, key, default)
    if not get("uncertain", False):
        return int(get("count")), None
    return int(get("count")), get("doubt", None) or "unknown"
