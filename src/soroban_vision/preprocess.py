"""The preprocessing spec: how any image becomes the model's input. Defined once.

`SPEC` is data: the contract embeds it and the browser library (web/src) executes it.
The functions below are the Python reference implementation of that data; tests prove
the browser's implementation gives the same pixels.

Every step is computed in float64 and rounded to float32 only at the end, in the same
order of operations as the JS implementation, so both produce the same bits.

Files are decoded as the browser decodes them: upright by their EXIF orientation
(`SPEC["orientation"]`, see `exif_orientation`). Decoding is bounded: a file over the pixel
limit is refused from its header, before any decoding, and the decoded pixels are copied into
one uint8 array a strip at a time, with no full-size float copy anywhere.
"""

from __future__ import annotations

import contextlib
import math
import struct
import threading
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from soroban_vision.errors import UsageError

WIDTH, HEIGHT = 64, 128
MAX_MEGAPIXELS = 50  # the default pixel limit: a 48-megapixel phone photo fits, a bomb does not
STRIP_PIXELS = 1 << 18  # decoded pixels copied into the array at a time

SPEC: dict = {
    "version": 1,
    "decode": "8-bit RGBA, no colour management; 16-bit samples scaled to 8 bits",
    # Upright by the file's EXIF orientation, as Chromium decodes (measured, see exif_orientation).
    # Contracts written before this field decoded files the same way.
    "orientation": "exif",
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
    """An image that cannot be read. The message is one line for the user; `code` is
    bad_image, or too_many_pixels for one over the pixel limit."""

    def __init__(self, message: str, code: str = "bad_image"):
        super().__init__(message)
        self.code = code


def pixel_limit(max_megapixels: float) -> int:
    """The pixel limit in pixels; UsageError (bad_max_megapixels) unless a positive number."""
    number = isinstance(max_megapixels, int | float) and not isinstance(max_megapixels, bool)
    if not (number and math.isfinite(max_megapixels) and max_megapixels > 0):
        raise UsageError(
            f"max_megapixels must be a positive number, got {max_megapixels!r}", code="bad_max_megapixels"
        )
    return int(max_megapixels * 1_000_000)


def load_rgba_or_gray(path: str | Path, max_megapixels: float = MAX_MEGAPIXELS) -> np.ndarray:
    """Decode an image file to upright uint8 pixels: gray [H,W], RGB [H,W,3] or RGBA [H,W,4]
    (see `pil_to_array`). A file over `max_megapixels` is refused from its header."""
    path = Path(path)
    pixel_limit(max_megapixels)
    try:
        with _pillow_unguarded(), Image.open(path) as im:
            return pil_to_array(im, max_megapixels, name=str(path))
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{path}: not a readable image ({_first_line(e)})") from None


def pil_to_array(im: Image.Image, max_megapixels: float = MAX_MEGAPIXELS, name: str = "image") -> np.ndarray:
    """A Pillow image as upright uint8 pixels, per SPEC['decode'] and SPEC['orientation']: gray
    [H,W] (gray and 16-bit files), RGB [H,W,3] (opaque colour) or RGBA [H,W,4] (the rest).

    An image over `max_megapixels` is refused (too_many_pixels) before it is decoded. The
    result may be a rotated or flipped view of the decoded array: no copy is made to turn it.
    (A PNG that was loaded before it is given here can no longer tell whether its eXIf came
    before its pixels: it counts either way.)
    """
    width, height = im.size
    if width * height > pixel_limit(max_megapixels):
        raise ImageError(
            f"{name}: {width}x{height} pixels ({width * height / 1e6:,.1f} megapixels) is over the "
            f"{max_megapixels:g}-megapixel limit; raise it with --max-megapixels (max_megapixels= in "
            "Python) to read it",
            code="too_many_pixels",
        )
    orientation = exif_orientation(im)  # before load(): a PNG's eXIf after its pixels must not count
    try:
        with _pillow_unguarded():
            im.load()
            pixels = _decoded(im)
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"{name}: not a readable image ({_first_line(e)})") from None
    return UPRIGHT[orientation](pixels)


def _decoded(im: Image.Image) -> np.ndarray:
    """The loaded image's pixels as one uint8 array, filled a strip at a time."""
    width, height = im.size
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        peak = 65535.0 if im.mode.startswith("I;16") or im.getextrema()[1] > 255 else 255.0

        def convert(strip):
            return np.clip(np.rint(np.asarray(strip, dtype=np.float64) * 255.0 / peak), 0, 255).astype(
                np.uint8
            )

        shape = (height, width)
    elif im.mode == "L":
        convert, shape = np.asarray, (height, width)
    elif im.mode == "RGB" and "transparency" not in im.info:
        convert, shape = np.asarray, (height, width, 3)  # opaque: the same gray as RGBA, 3/4 the memory
    else:

        def convert(strip):
            return np.asarray(strip.convert("RGBA"))

        shape = (height, width, 4)
    out = np.empty(shape, np.uint8)
    rows = max(1, STRIP_PIXELS // max(width, 1))
    for y in range(0, height, rows):
        out[y : y + rows] = convert(im.crop((0, y, width, min(height, y + rows))))
    return out


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


class _PillowGuard:
    lock = threading.Lock()
    users = 0  # our decodes running, in all threads
    saved: int | None = None  # Pillow's own limit, put back when the last one ends


@contextlib.contextmanager
def _pillow_unguarded():
    """While any of our decodes runs: Pillow's own decompression-bomb check off (ours has
    already spoken, from the header, at the limit the user chose, in one line) and Pillow's
    warnings kept off stderr."""
    with _PillowGuard.lock:
        if _PillowGuard.users == 0:
            _PillowGuard.saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        _PillowGuard.users += 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        with _PillowGuard.lock:
            _PillowGuard.users -= 1
            if _PillowGuard.users == 0:
                Image.MAX_IMAGE_PIXELS = _PillowGuard.saved


# --------------------------------------------------------------------------- orientation

# EXIF orientation -> the upright image from the stored pixels, as views (no copy)
UPRIGHT = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],  # mirrored left-right
    3: lambda a: a[::-1, ::-1],  # turned 180 degrees
    4: lambda a: a[::-1],  # mirrored top-bottom
    5: lambda a: a.swapaxes(0, 1),  # transposed
    6: lambda a: a[::-1].swapaxes(0, 1),  # stored turned 90 degrees anticlockwise: turn it clockwise
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),  # transverse
    8: lambda a: a[:, ::-1].swapaxes(0, 1),  # stored turned 90 degrees clockwise
}


def exif_orientation(im: Image.Image) -> int:
    """The EXIF orientation (1-8) Chromium applies when it decodes the image's file; 1 for none.

    Measured on Chromium 156 (tests/test_browser_orientation.py holds it): in a JPEG, the first
    APP1 "Exif" segment; in a PNG, an eXIf chunk before the image data (a raw TIFF header, as
    the PNG spec says). Orientation from XMP, from text chunks, from an eXIf after the image
    data, and in any other format (WebP included) is not applied. Pillow's exif_transpose
    applies some of these, so it is not used.
    """
    if im.format in ("JPEG", "MPO"):
        exif = [data for marker, data in getattr(im, "applist", []) if marker == "APP1"]
        tiff = next((d[6:] for d in exif if d.startswith(b"Exif\0\0")), b"")
    elif im.format == "PNG":
        tiff = im.info.get("exif", b"")[6:]  # Pillow puts "Exif\0\0" before the chunk
    else:
        return 1
    return _tiff_orientation(tiff)


def _tiff_orientation(tiff: bytes) -> int:
    """IFD0's first Orientation entry, if it is one SHORT of 1-8 (Chromium ignores the rest)."""
    endian = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if endian is None or len(tiff) < 8:
        return 1
    magic, offset = struct.unpack_from(endian + "HI", tiff, 2)
    if magic != 42 or offset + 2 > len(tiff):
        return 1
    (count,) = struct.unpack_from(endian + "H", tiff, offset)
    for at in range(offset + 2, min(offset + 2 + 12 * count, len(tiff) - 11), 12):
        tag, kind, n = struct.unpack_from(endian + "HHI", tiff, at)
        if tag == 0x0112:
            (value,) = struct.unpack_from(endian + "H", tiff, at + 8)
            return value if kind == 3 and n == 1 and 1 <= value <= 8 else 1
    return 1


# --------------------------------------------------------------------------- the arithmetic


def to_gray(pixels: np.ndarray) -> np.ndarray:
    """uint8 gray [H,W] or RGB(A) [H,W,3|4] -> float64 gray [H,W] in 0..255."""
    a = _checked(pixels)
    if a.ndim == 2:
        return a.astype(np.float64)
    rgb = a[..., :3].astype(np.float64)
    if a.shape[2] == 4:
        alpha = a[..., 3:4].astype(np.float64) / 255.0
        bg = float(SPEC["alpha"]["composite_over"])
        rgb = rgb * alpha + bg * (1.0 - alpha)
    kr, kg, kb = SPEC["grayscale"]["coefficients"]
    return kr * rgb[..., 0] + kg * rgb[..., 1] + kb * rgb[..., 2]


def _checked(pixels) -> np.ndarray:
    a = np.asarray(pixels)
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise ImageError(f"expected a gray, RGB or RGBA image, got an array of shape {a.shape}")
    return a


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
    return _bilinear(gray, _axis_weights(h, height), _axis_weights(w, width))


def _bilinear(gray: np.ndarray, ys, xs) -> np.ndarray:
    (y0, y1, fy), (x0, x1, fx) = ys, xs
    top_l, top_r = gray[y0][:, x0], gray[y0][:, x1]
    bot_l, bot_r = gray[y1][:, x0], gray[y1][:, x1]
    top = top_l + (top_r - top_l) * fx
    bot = bot_l + (bot_r - bot_l) * fx
    return top + (bot - top) * fy[:, None]


def preprocess(pixels: np.ndarray) -> np.ndarray:
    """Decoded pixels (gray or RGB(A) uint8) -> model input float32 [HEIGHT, WIDTH, 1] in [0,1]."""
    a = _checked(pixels)
    h, w = a.shape[:2]
    if (h, w) == (HEIGHT, WIDTH):
        gray = to_gray(a)
    else:
        # gray only for the rows and columns the resize reads: luma is per pixel, so the same
        # bits as the whole image's gray, at a few hundred rows' cost however big the image
        (y0, y1, fy), (x0, x1, fx) = _axis_weights(h, HEIGHT), _axis_weights(w, WIDTH)
        rows, ry = np.unique(np.concatenate([y0, y1]), return_inverse=True)
        cols, rx = np.unique(np.concatenate([x0, x1]), return_inverse=True)
        sampled = to_gray(a[np.ix_(rows, cols)])
        gray = _bilinear(sampled, (ry[:HEIGHT], ry[HEIGHT:], fy), (rx[:WIDTH], rx[WIDTH:], fx))
    return (gray / SPEC["scale"]["divide_by"]).astype(np.float32)[..., None]


def preprocess_file(path: str | Path, max_megapixels: float = MAX_MEGAPIXELS) -> np.ndarray:
    """An image file -> model input float32 [HEIGHT, WIDTH, 1]."""
    return preprocess(load_rgba_or_gray(path, max_megapixels))


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
