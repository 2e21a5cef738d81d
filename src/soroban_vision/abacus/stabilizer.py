"""Steady readings from video: a number is accepted once it has held, confidently, for a few
frames with the frame still and the rod count the same and sure. Its defaults are the spec's,
which the browser shares."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

import numpy as np

from soroban_vision.abacus.spec import LOW_CONFIDENCE, SPEC

FRAMES = SPEC["stabilizer"]["frames"]  # agreeing frames before a number is accepted
MOTION = SPEC["stabilizer"]["motion"]  # of the frame's width: corners moving more start again


class Stabilizer:
    """Accept a reading only after it has been the same for `frames` frames, each above the
    confidence floor; any motion of the frame (corners moving more than `motion` of the frame
    width) starts the count again. Fed the rod count (`rods`), it also starts again when the
    count changes, and counts no frame whose count is unsure: a number is never accepted
    from frames read with different rod counts (0123 on 4 rods is 123 on 3)."""

    def __init__(self, frames: int = FRAMES, min_confidence: float = LOW_CONFIDENCE, motion: float = MOTION):
        self.frames, self.min_confidence, self.motion = frames, min_confidence, motion
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.candidate: int | None = None
        self.rods: int | None = None  # the candidate's rod count, when fed one
        self.corners: np.ndarray | None = None
        self.counts: deque[int] = deque(maxlen=self.frames)  # rod counts of the latest frames

    @property
    def rods_vary(self) -> bool:
        """The rod count changed within the latest `frames` frames read."""
        return len(set(self.counts)) > 1

    def update(self, number: int | None, confidences: Sequence[float], corners=None, rods=None) -> int | None:
        """Feed one frame's reading; returns the number once it is stable, else None. `rods`:
        the reading's rod count (an int) or its `rods` (RodCount, or a dict with count and
        uncertain)."""
        if corners is not None:
            c = np.asarray(corners, np.float64)
            if self.corners is not None:
                width = max(np.linalg.norm(c[1] - c[0]), 1.0)
                if np.abs(c - self.corners).max() > self.motion * width:
                    self.reset()
            self.corners = c
        count, unsure = _rod_count(rods)
        if count is not None:
            self.counts.append(count)
        if number is None or not confidences or min(confidences) < self.min_confidence or unsure:
            self.count, self.candidate, self.rods = 0, None, None
            return None
        if number != self.candidate or count != self.rods:
            self.candidate, self.rods, self.count = number, count, 0
        self.count += 1
        return number if self.count >= self.frames else None


def _rod_count(rods) -> tuple[int | None, bool]:
    """(count, unsure) of what `update` was given as `rods`."""
    if rods is None:
        return None, False
    if isinstance(rods, int | np.integer):
        return int(rods), False
    if isinstance(rods, Mapping):
        return int(rods["count"]), bool(rods.get("uncertain", False))
    return int(rods.count), bool(rods.uncertain)
