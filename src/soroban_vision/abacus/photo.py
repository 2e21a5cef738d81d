"""A photo in: float64 gray by the project's grayscale rule, reduced by a whole factor when
huge, with its colour kept for finding a frame that only colour shows.

Memory stays near the decoded uint8 photo itself: the gray and the colour are computed a block
of rows at a time, never as full-size float copies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soroban_vision import preprocess
from soroban_vision.abacus.spec import SPEC, frame_not_found
from soroban_vision.errors import UsageError
from soroban_vision.preprocess import MAX_MEGAPIXELS, ImageError, load_rgba_or_gray, to_gray

MIN_SIDE = SPEC["photo"]["min_side"]  # smaller images cannot hold a readable soroban
WORK_SIDE = SPEC["photo"]["work_side"]  # larger photos are reduced to this before anything else
BLOCK_PIXELS = 1 << 18  # photo pixels reduced at a time: the float temporaries stay ~15 MB


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


def load_photo(path: str | Path, max_megapixels: float = MAX_MEGAPIXELS) -> Photo:
    """An image file, upright (its EXIF orientation applied, as a browser does), as a Photo;
    UsageError (bad_image, too_many_pixels) when it cannot be read."""
    try:
        pixels = load_rgba_or_gray(path, max_megapixels)
    except ImageError as e:
        raise UsageError(str(e), code=e.code) from None
    return prepare(pixels)


def prepare(pixels: np.ndarray) -> Photo:
    """uint8 gray [H,W] or RGB(A) [H,W,3|4] -> a Photo; FrameNotFound (too_small) if tiny.

    Huge photos are box-averaged by a whole factor: cheap, exact and easy to reproduce in JS
    (web/src/abacus/photo.js does the same sums in the same order)."""
    pixels = np.asarray(pixels)
    h, w = pixels.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise frame_not_found("too_small", width=w, height=h)
    factor = int(np.ceil(max(h, w) / WORK_SIDE))
    h2, w2 = h // factor, w // factor
    gray = np.empty((h2, w2))
    colour = np.empty((h2, w2, 3), np.float32) if _has_colour(pixels) else None
    step = max(1, BLOCK_PIXELS // (factor * factor * w2))  # working rows per block
    for y in range(0, h2, step):
        end = min(y + step, h2)
        # contiguous, as a decoded photo is: numpy's sums follow the memory layout, and so do their bits
        block = np.ascontiguousarray(pixels[y * factor : end * factor, : w2 * factor])
        gray[y:end] = _box_gray(block, factor)
        if colour is not None:
            colour[y:end] = _box_colour(block, factor)
    return Photo(gray, factor, colour)


def _box_gray(block: np.ndarray, factor: int) -> np.ndarray:
    g = to_gray(block)
    if factor == 1:
        return g
    return g.reshape(g.shape[0] // factor, factor, g.shape[1] // factor, factor).mean(axis=(1, 3))


def _box_colour(block: np.ndarray, factor: int) -> np.ndarray:
    """RGB float32, box-averaged by `factor`, alpha composited as `to_gray` does (after
    averaging). Only for finding the frame: the reading itself is in gray."""
    h, w, c = block.shape[0] // factor, block.shape[1] // factor, block.shape[2]
    a = block.reshape(h, factor, w, factor, c).mean(axis=(1, 3), dtype=np.float32)
    rgb = a[..., :3]
    if c == 4:
        alpha = a[..., 3:4] / 255.0
        rgb = rgb * alpha + float(preprocess.SPEC["alpha"]["composite_over"]) * (1.0 - alpha)
    return rgb


def _has_colour(pixels: np.ndarray) -> bool:
    """An RGB(A) photo whose channels are not all alike (gray saved as RGB adds nothing)."""
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        return False
    step = max(1, BLOCK_PIXELS // pixels.shape[1])
    for y in range(0, pixels.shape[0], step):
        rows = pixels[y : y + step]
        if not (np.array_equal(rows[..., 0], rows[..., 1]) and np.array_equal(rows[..., 1], rows[..., 2])):
            return True
    return False
