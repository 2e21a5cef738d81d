"""Known ways browser preprocessing goes wrong, written in numpy, so the doctor can say which one
a mismatch looks like (toolchain.md, "Preprocessing traps"):

- gray from the red channel only: `tf.browser.fromPixels(img, 1)`;
- resize with align_corners=True, or with neither align_corners nor half-pixel centres
  (`tf.image.resizeBilinear`'s default) instead of the spec's half-pixel centres.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from soroban_vision.preprocess import HEIGHT, SPEC, WIDTH, load_rgba_or_gray, to_gray

GRAY = {
    "luma": "luma grayscale (the spec)",
    "red": "red-channel grayscale (tf.browser.fromPixels(img, 1))",
}
RESIZE = {
    "half_pixel": "half-pixel-centre resize (the spec)",
    "align_corners": "align-corners resize",
    "asymmetric": "resize without half-pixel centres (tf.image.resizeBilinear's default)",
}
MATCH = 1.0 / 255  # a variant "explains" the browser when it is this close everywhere


def red_gray(pixels: np.ndarray) -> np.ndarray:
    a = np.asarray(pixels)
    if a.ndim == 2:
        return a.astype(np.float64)
    rgb = a[..., :3].astype(np.float64)
    if a.shape[2] == 4:
        alpha = a[..., 3:4].astype(np.float64) / 255.0
        rgb = rgb * alpha + float(SPEC["alpha"]["composite_over"]) * (1.0 - alpha)
    return rgb[..., 0]


def source_coords(n_in: int, n_out: int, method: str) -> np.ndarray:
    i = np.arange(n_out, dtype=np.float64)
    if method == "half_pixel":
        src = (i + 0.5) * (n_in / n_out) - 0.5
    elif method == "align_corners":
        src = i * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(n_out)
    else:  # asymmetric
        src = i * (n_in / n_out)
    return np.clip(src, 0.0, n_in - 1.0)


def resize(gray: np.ndarray, method: str, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    h, w = gray.shape
    if (h, w) == (height, width):
        return gray
    sy, sx = source_coords(h, height, method), source_coords(w, width, method)
    y0, x0 = np.floor(sy).astype(int), np.floor(sx).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (sy - y0)[:, None], sx - x0
    top = gray[y0][:, x0] + (gray[y0][:, x1] - gray[y0][:, x0]) * fx
    bot = gray[y1][:, x0] + (gray[y1][:, x1] - gray[y1][:, x0]) * fx
    return top + (bot - top) * fy


def variant(pixels: np.ndarray, gray: str, resize_method: str) -> np.ndarray:
    g = to_gray(pixels) if gray == "luma" else red_gray(pixels)
    return (resize(g, resize_method) / SPEC["scale"]["divide_by"]).astype(np.float32)[..., None]


def explain(files: list[Path], browser: np.ndarray, python: np.ndarray) -> dict | None:
    """The variant of the preprocessing that reproduces the browser's output, if one does."""
    pixels = [load_rgba_or_gray(f) for f in files]
    base = float(np.abs(browser - python).max())
    best = None
    for gray, method in itertools.product(GRAY, RESIZE):
        if (gray, method) == ("luma", "half_pixel"):
            continue
        x = np.stack([variant(p, gray, method) for p in pixels])
        err = float(np.abs(browser.astype(np.float64) - x).max())
        if best is None or err < best[0]:
            best = (err, gray, method)
    if best is None or best[0] > MATCH or best[0] >= base:
        return None
    err, gray, method = best
    parts = [GRAY[gray]] if gray != "luma" else []
    parts += [RESIZE[method]] if method != "half_pixel" else []
    return {
        "grayscale": gray,
        "resize": method,
        "description": " and ".join(parts),
        "max_abs_diff_to_browser": err,
    }
