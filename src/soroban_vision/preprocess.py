"""The preprocessing spec: how any image becomes the model's input. Defined once.

`SPEC` is data: the contract embeds it and the browser library (web/src) executes it.
The functions below are the Python reference implementation of that data; tests prove
the browser's implementation gives the same pixels.

Every step is computed in float64 and rounded to float32 only at the end, in the same
order of operations as the JS implementation, so both produce the same bits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

WIDTH, HEIGHT = 64, 128

SPEC: dict = {
    "version": 1,
    "decode": "8-bit RGBA, no colour management; 16-bit samples scaled to 8 bits",
    "alpha": {"composite_over": 255},  # transparent pixels are seen against white
    "grayscale": {
        "method": "luma",
        # ITU-R BT.601 luma, the same weights as Pillow's convert("L"), but in float.
        "coefficients": [0.299, 0.587, 0.114],
        "single_channel_inputs": "used as they are",
    },
    "resize": {
        "method": "bilinear",
        "half_pixel_centers": True,
        "align_corners": False,
        "antialias": False,
        "edge": "clamp",
        "width": WIDTH,
        "height": HEIGHT,
    },
    "scale": {"divide_by": 255.0, "range": [0.0, 1.0]},
    # A column crop, cut from a rectified soroban: centred on the rod, this many rod
    # pitches wide (so slivers of the neighbours show), and the frame's full outer height.
    "crop": {"width_pitches": 1.2, "height": "frame outer height"},
    "layout": "NHWC",
    "dtype": "float32",
}


class ImageError(ValueError):
    """An image file that cannot be read. The message is one line for the user."""


def load_rgba_or_gray(path: str | Path) -> np.ndarray:
    """Decode an image file to uint8 [H,W] (gray) or [H,W,4] (RGBA)."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            return pil_to_array(im)
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{path}: not a readable image ({e})") from None


def pil_to_array(im: Image.Image) -> np.ndarray:
    """A decoded Pillow image as uint8 gray [H,W] or RGBA [H,W,4], per SPEC['decode']."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if im.mode.startswith("I;16") or a.max(initial=0) > 255 else 255.0
        return np.clip(np.rint(a * 255.0 / peak), 0, 255).astype(np.uint8)
    if im.mode == "L":
        return np.asarray(im, dtype=np.uint8)
    if im.mode == "LA":
        return np.asarray(im.convert("RGBA"), dtype=np.uint8)
    return np.asarray(im.convert("RGBA"), dtype=np.uint8)


def to_gray(pixels: np.ndarray) -> np.ndarray:
    """uint8 gray [H,W] or RGB(A) [H,W,3|4] -> float64 gray [H,W] in 0..255."""
    a = np.asarray(pixels)
    if a.ndim == 2:
        return a.astype(np.float64)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ImageError(f"expected a gray, RGB or RGBA image, got an array of shape {a.shape}")
    rgb = a[..., :3].astype(np.float64)
    if a.shape[2] == 4:
        alpha = a[..., 3:4].astype(np.float64) / 255.0
        bg = float(SPEC["alpha"]["composite_over"])
        rgb = rgb * alpha + bg * (1.0 - alpha)
    kr, kg, kb = SPEC["grayscale"]["coefficients"]
    return kr * rgb[..., 0] + kg * rgb[..., 1] + kb * rgb[..., 2]


def _axis_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and fractions for half-pixel-centre bilinear sampling, edges clamped."""
    ratio = n_in / n_out
    src = (np.arange(n_out, dtype=np.float64) + 0.5) * ratio - 0.5
    src = np.clip(src, 0.0, n_in - 1.0)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, src - lo


def resize_bilinear(gray: np.ndarray, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """float64 [H,W] -> float64 [height,width]: bilinear, half-pixel centres, no antialias."""
    h, w = gray.shape
    if (h, w) == (height, width):
        return gray.astype(np.float64, copy=False)
    y0, y1, fy = _axis_weights(h, height)
    x0, x1, fx = _axis_weights(w, width)
    top_l, top_r = gray[y0][:, x0], gray[y0][:, x1]
    bot_l, bot_r = gray[y1][:, x0], gray[y1][:, x1]
    top = top_l + (top_r - top_l) * fx
    bot = bot_l + (bot_r - bot_l) * fx
    return top + (bot - top) * fy[:, None]


def preprocess(pixels: np.ndarray) -> np.ndarray:
    """Decoded pixels (gray or RGB(A) uint8) -> model input float32 [HEIGHT, WIDTH, 1] in [0,1]."""
    gray = resize_bilinear(to_gray(pixels))
    return (gray / SPEC["scale"]["divide_by"]).astype(np.float32)[..., None]


def preprocess_file(path: str | Path) -> np.ndarray:
    """An image file -> model input float32 [HEIGHT, WIDTH, 1]."""
    return preprocess(load_rgba_or_gray(path))


def gray_u8(rgb: np.ndarray) -> np.ndarray:
    """The project's grayscale rule, rounded to 8 bits (how the renderer writes its PNGs)."""
    return np.clip(np.rint(to_gray(rgb)), 0, 255).astype(np.uint8)


def warp_gray(gray: np.ndarray, homography: np.ndarray, width: int, height: int) -> np.ndarray:
    """Sample a float64 gray photo through a homography into a [height, width] image.

    `homography` maps output coordinates, where pixel (i, j) is the square [j, j+1] x [i, i+1]
    (so its centre is (j + 0.5, i + 0.5)), to photo coordinates, where pixel centres are
    integers (OpenCV's convention). Bilinear, edges clamped: the same rule as `resize_bilinear`.
    """
    hm = np.asarray(homography, np.float64)
    jj, ii = np.meshgrid(np.arange(width, dtype=np.float64) + 0.5, np.arange(height, dtype=np.float64) + 0.5)
    w = hm[2, 0] * jj + hm[2, 1] * ii + hm[2, 2]
    u = (hm[0, 0] * jj + hm[0, 1] * ii + hm[0, 2]) / w
    v = (hm[1, 0] * jj + hm[1, 1] * ii + hm[1, 2]) / w
    rows, cols = gray.shape
    u = np.clip(u, 0.0, cols - 1.0)
    v = np.clip(v, 0.0, rows - 1.0)
    x0 = np.floor(u).astype(np.int64)
    y0 = np.floor(v).astype(np.int64)
    x1 = np.minimum(x0 + 1, cols - 1)
    y1 = np.minimum(y0 + 1, rows - 1)
    fx, fy = u - x0, v - y0
    top = gray[y0, x0] + (gray[y0, x1] - gray[y0, x0]) * fx
    bottom = gray[y1, x0] + (gray[y1, x1] - gray[y1, x0]) * fx
    return top + (bottom - top) * fy
