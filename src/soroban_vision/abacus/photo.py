"""A photo in: float64 gray by the project's grayscale rule, reduced by a whole factor when
huge, with its colour kept for finding a frame that only colour shows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soroban_vision import preprocess
from soroban_vision.abacus.spec import SPEC, frame_not_found
from soroban_vision.errors import UsageError
from soroban_vision.preprocess import ImageError, load_rgba_or_gray, to_gray

MIN_SIDE = SPEC["photo"]["min_side"]  # smaller images cannot hold a readable soroban
WORK_SIDE = SPEC["photo"]["work_side"]  # larger photos are reduced to this before anything else


@dataclass
class Photo:
    """A photo as float64 gray [H,W] (the project's grayscale rule), reduced by a whole
    `factor` when huge. `to_photo` maps working coordinates back to the original pixels,
    `from_photo` the other way."""

    gray: np.ndarray
    factor: int = 1
    colour: np.ndarray | None = None  # RGB [H,W,3] in the same pixels, for finding the frame

    def to_photo(self, points) -> np.ndarray:
        return np.asarray(points, np.float64) * self.factor + (self.factor - 1) / 2

    def from_photo(self, points) -> np.ndarray:
        return (np.asarray(points, np.float64) - (self.factor - 1) / 2) / self.factor


def load_photo(path: str | Path) -> Photo:
    try:
        pixels = load_rgba_or_gray(path)
    except ImageError as e:
        raise UsageError(str(e), code="bad_image") from None
    return prepare(pixels)


def prepare(pixels: np.ndarray) -> Photo:
    """uint8 gray [H,W] or RGB(A) [H,W,3|4] -> a Photo; FrameNotFound (too_small) if tiny."""
    h, w = pixels.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise frame_not_found("too_small", width=w, height=h)
    factor = int(np.ceil(max(h, w) / WORK_SIDE))
    if factor > 1:  # box-average by a whole factor: cheap, exact and easy to reproduce in JS
        h2, w2 = h // factor, w // factor
        pixels = pixels[: h2 * factor, : w2 * factor]
        gray = to_gray(pixels).reshape(h2, factor, w2, factor).mean(axis=(1, 3))
    else:
        gray = to_gray(pixels)
    return Photo(gray, factor, _colour(pixels, factor))


def _colour(pixels: np.ndarray, factor: int) -> np.ndarray | None:
    """RGB float32 [H,W,3] of an RGB(A) photo, box-averaged by `factor` (alpha composited as
    `to_gray` does, after averaging), or None for a gray one or one whose channels are all
    alike. Only for finding the frame: the reading itself is in gray."""
    a = np.asarray(pixels)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        return None
    if np.array_equal(a[..., 0], a[..., 1]) and np.array_equal(a[..., 1], a[..., 2]):
        return None  # gray saved as RGB: nothing to add
    h, w = a.shape[0] // factor, a.shape[1] // factor
    a = a.reshape(h, factor, w, factor, a.shape[2]).mean(axis=(1, 3), dtype=np.float32)
    rgb = a[..., :3]
    if a.shape[2] == 4:
        alpha = a[..., 3:4] / 255.0
        rgb = rgb * alpha + float(preprocess.SPEC["alpha"]["composite_over"]) * (1.0 - alpha)
    return rgb
