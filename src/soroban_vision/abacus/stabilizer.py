"""Steady readings from video: a number is accepted once it has held, confidently, for a few
frames with the frame still. Its defaults are the spec's, which the browser shares."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from soroban_vision.abacus.spec import LOW_CONFIDENCE, SPEC

FRAMES = SPEC["stabilizer"]["frames"]  # agreeing frames before a number is accepted
MOTION = SPEC["stabilizer"]["motion"]  # of the frame's width: corners moving more start again


class Stabilizer:
    """Accept a reading only after it has been the same for `frames` frames, each above the
    confidence floor; any motion of the frame (corners moving more than `motion` of the frame
    width) starts the count again."""

    def __init__(self, frames: int = FRAMES, min_confidence: float = LOW_CONFIDENCE, motion: float = MOTION):
        self.frames, self.min_confidence, self.motion = frames, min_confidence, motion
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.candidate: int | None = None
        self.corners: np.ndarray | None = None

    def update(self, number: int | None, confidences: Sequence[float], corners=None) -> int | None:
        """Feed one frame's reading; returns the number once it is stable, else None."""
        if corners is not None:
            c = np.asarray(corners, np.float64)
            if self.corners is not None:
                width = max(np.linalg.norm(c[1] - c[0]), 1.0)
                if np.abs(c - self.corners).max() > self.motion * width:
                    self.reset()
            self.corners = c
        if number is None or not confidences or min(confidences) < self.min_confidence:
            self.count, self.candidate = 0, None
            return None
        if number != self.candidate:
            self.candidate, self.count = number, 0
        self.count += 1
        return number if self.count >= self.frames else None
