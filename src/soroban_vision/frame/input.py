"""The frame model's input: the working gray photo, box-averaged by a whole factor, resized to
the spec's width x height and scaled to [0, 1]; and its normalized corners back in pixels.

The rule is the abacus spec's `frame_model` section (web/src/abacus/spec.json), which the browser
(web/src/frame/input.js) follows with the same float64 arithmetic."""

from __future__ import annotations

import numpy as np

from soroban_vision.abacus.spec import SPEC
from soroban_vision.preprocess import resize_bilinear

FRAME_SPEC = SPEC["frame_model"]
WIDTH, HEIGHT = int(FRAME_SPEC["width"]), int(FRAME_SPEC["height"])
PRESENT = float(FRAME_SPEC["present"])  # a frame score below this is no frame


def box_factor(width: int, height: int) -> int:
    """The whole factor the gray is box-averaged by before the resize."""
    return max(1, min(width // WIDTH, height // HEIGHT))


def frame_input(gray: np.ndarray) -> np.ndarray:
    """float64 gray [H,W] in 0..255 -> the model's input float32 [HEIGHT, WIDTH, 1] in [0, 1]."""
    h, w = gray.shape
    k = box_factor(w, h)
    gray = np.asarray(gray, np.float64)
    region = gray[::k, ::k][: h // k, : w // k].copy()
    # one box at a time in a fixed order (row by row, left to right), as the browser sums it
    for dy in range(k):
        for dx in range(k):
            if dy or dx:
                region += gray[dy::k, dx::k][: h // k, : w // k]
    if k > 1:
        region /= k * k
    return (resize_bilinear(region, WIDTH, HEIGHT) / 255.0).astype(np.float32)[..., None]


def to_pixels(corners: np.ndarray, width: int, height: int) -> np.ndarray:
    """Normalized corners [..., 2] (of the region `frame_input` used) -> pixels of the gray."""
    k = box_factor(width, height)
    span = np.array([(width // k) * k, (height // k) * k], np.float64)
    return np.asarray(corners, np.float64) * span - 0.5


def to_normalized(corners: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixel corners [..., 2] of a gray [height, width] -> the model's normalized corners."""
    k = box_factor(width, height)
    span = np.array([(width // k) * k, (height // k) * k], np.float64)
    return (np.asarray(corners, np.float64) + 0.5) / span
