"""A whole camera frame with the soroban's four corners, for training the frame detector. Decoded
upright (EXIF orientation, as the browser shows it), refused from its header when too big, and
stored re-encoded as PNG: the camera's metadata (place, time, device) never reaches the database."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import Image

from soroban_vision.collect.crops import PNG_SIGNATURE, content_hash, encode_png
from soroban_vision.collect.rejection import Rejected
from soroban_vision.preprocess import ImageError, pil_to_array

JPEG_SIGNATURE = b"\xff\xd8\xff"


@dataclass(frozen=True)
class Frame:
    png: bytes
    sha256: str  # of the upright pixels
    width: int
    height: int
    corners: list[list[float]]


def check_frame(data: bytes, corners, max_megapixels: float) -> Frame:
    if not (data.startswith(PNG_SIGNATURE) or data.startswith(JPEG_SIGNATURE)):
        raise Rejected(422, "not_png_or_jpeg", "image: a frame is a PNG or JPEG file")
    try:
        im = Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
    except Exception:
        raise Rejected(422, "undecodable", "image: the header cannot be read") from None
    with im:
        try:
            pixels = pil_to_array(im, max_megapixels, name="image")
        except ImageError as e:
            status = 413 if e.code == "too_many_pixels" else 422
            code = "too_many_pixels" if e.code == "too_many_pixels" else "undecodable"
            raise Rejected(status, code, str(e)) from None
        except Exception:
            raise Rejected(422, "undecodable", "image: the data is corrupt or truncated") from None
    height, width = pixels.shape[:2]
    return Frame(
        png=encode_png(pixels),
        sha256=content_hash(pixels),
        width=width,
        height=height,
        corners=check_corners(corners, width, height),
    )


def check_corners(corners, width: int, height: int) -> list[list[float]]:
    """Four [x, y] points in the upright image's pixels, clockwise from the top-left, inside it."""
    ok = isinstance(corners, list) and len(corners) == 4
    ok = ok and all(isinstance(p, list) and len(p) == 2 for p in corners)
    ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) for p in corners for v in p)
    if not ok:
        raise Rejected(422, "bad_corners", "corners: four [x, y] points, clockwise from the top-left")
    points = [[float(x), float(y)] for x, y in corners]
    if not all(math.isfinite(v) for p in points for v in p):
        raise Rejected(422, "bad_corners", "corners: every coordinate must be a finite number")
    if not all(0 <= x <= width and 0 <= y <= height for x, y in points):
        raise Rejected(422, "bad_corners", f"corners: every point must lie inside the {width}x{height} image")
    # twice the signed area (y down): positive for clockwise on screen; refuses crossed or flat quads
    area = sum(points[i][0] * points[i - 3][1] - points[i - 3][0] * points[i][1] for i in range(4))
    if area <= 0:
        raise Rejected(422, "bad_corners", "corners: not a clockwise quadrilateral")
    return points
