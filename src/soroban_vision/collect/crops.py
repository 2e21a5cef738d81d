"""One column crop as a client sends it: a base64 PNG, 64x128, 8-bit gray. Checked from its header
before it is decoded, decoded in full, and kept as canonical pixels: the stored PNG is re-encoded
from them (no metadata survives) and named by the SHA-256 of the pixels, so the same crop sent twice,
or re-encoded, is one crop."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image

from soroban_vision.collect.rejection import Rejected
from soroban_vision.preprocess import HEIGHT, WIDTH

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DATA_URL_PREFIX = "data:image/png;base64,"
# modes whose 8-bit channels may hold a gray crop: a browser canvas always encodes RGBA
GRAY_CONTAINERS = ("L", "LA", "RGB", "RGBA", "P")


@dataclass(frozen=True)
class Crop:
    pixels: np.ndarray  # uint8 [128, 64]
    sha256: str  # of the pixels, with their shape
    png: bytes  # canonical 8-bit gray PNG


def decode_base64(text, field: str, max_bytes: int) -> bytes:
    """The bytes of a base64 string (a `data:image/...;base64,` prefix is allowed)."""
    if not isinstance(text, str) or not text:
        raise Rejected(422, "bad_image", f"{field}: expected a base64 PNG string")
    if text.startswith("data:"):
        head, sep, text = text.partition(",")
        if not sep or not head.endswith(";base64"):
            raise Rejected(422, "bad_image", f"{field}: a data URL must be base64")
    if len(text) > (max_bytes * 4) // 3 + 4:
        raise Rejected(413, "image_too_large", f"{field}: over {max_bytes} bytes")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Rejected(422, "bad_base64", f"{field}: not valid base64") from None


def content_hash(pixels: np.ndarray) -> str:
    shape = "x".join(map(str, pixels.shape)).encode()
    return hashlib.sha256(shape + b":" + np.ascontiguousarray(pixels).tobytes()).hexdigest()


def encode_png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


def check_crop(data: bytes, field: str) -> Crop:
    """A crop's PNG bytes -> Crop, or Rejected with the reason (never a decoder's exception)."""
    if not data.startswith(PNG_SIGNATURE):
        raise Rejected(422, "not_png", f"{field}: not a PNG file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=["PNG"])
    except Exception:
        raise Rejected(422, "undecodable", f"{field}: the PNG header cannot be read") from None
    with im:
        if im.size != (WIDTH, HEIGHT):  # from the header: a bomb is refused before it is inflated
            w, h = im.size
            raise Rejected(422, "wrong_size", f"{field}: {w}x{h} pixels; a crop is {WIDTH}x{HEIGHT}")
        if im.mode not in GRAY_CONTAINERS:
            raise Rejected(422, "not_8bit_gray", f"{field}: mode {im.mode}; a crop is 8-bit gray")
        try:
            im.load()
            pixels = _gray(im, field)
        except Rejected:
            raise
        except Exception:
            raise Rejected(422, "undecodable", f"{field}: the PNG data is corrupt or truncated") from None
    return Crop(pixels=pixels, sha256=content_hash(pixels), png=encode_png(pixels))


def _gray(im: Image.Image, field: str) -> np.ndarray:
    """8-bit gray pixels; a colour container must hold gray (R=G=B) and be opaque."""
    if im.mode == "L":
        return np.asarray(im, np.uint8).copy()
    a = np.asarray(im.convert("RGBA"), np.uint8)
    if (a[..., 3] != 255).any():
        raise Rejected(422, "not_8bit_gray", f"{field}: the crop has transparent pixels")
    if (a[..., 0] != a[..., 1]).any() or (a[..., 1] != a[..., 2]).any():
        raise Rejected(422, "not_8bit_gray", f"{field}: the crop has colour; a crop is gray")
    return a[..., 0].copy()
