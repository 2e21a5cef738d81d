"""What a real camera does to a picture: light, shadow, exposure, blur, noise, JPEG.

Effects work on float32 images of one channel (luminance, after the project's grayscale
rule) or three (RGB, for scenes the browser sees in colour). Each effect draws its
parameters from the generator it is given and returns them, so a manifest can say exactly
how an image was made.
"""

from __future__ import annotations

import cv2
import numpy as np

LARGE = 256  # images with a side longer than this (scenes, not column crops) take shortcuts


def _r(x: float) -> float:
    return round(float(x), 4)


def _per_pixel(field: np.ndarray, like: np.ndarray) -> np.ndarray:
    """A one-channel float32 field shaped like `like` (cv2 is much faster than numpy broadcasting)."""
    return field if like.ndim == 2 else cv2.merge([field] * like.shape[2])


def lighting(img: np.ndarray, rng: np.random.Generator) -> dict:
    """A linear light gradient across the image, in place on float32 RGB."""
    h, w = img.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    strength = rng.uniform(0.0, 0.45)
    xs = (np.arange(w, dtype=np.float32) / w - 0.5) * np.float32(np.cos(angle) * strength)
    ys = (np.arange(h, dtype=np.float32) / h - 0.5) * np.float32(np.sin(angle) * strength)
    cv2.multiply(img, _per_pixel(1.0 + ys[:, None] + xs[None, :], img), dst=img)
    return {"angle": _r(angle), "strength": _r(strength)}


def shadow(img: np.ndarray, rng: np.random.Generator) -> dict:
    """A soft-edged dark polygon (a hand, a phone) over part of the image."""
    if rng.random() > 0.35:
        return {}
    h, w = img.shape[:2]
    pts = np.stack([rng.uniform(-0.3, 1.3, 4) * w, rng.uniform(-0.3, 1.3, 4) * h], axis=1)
    sigma = max(1.0, rng.uniform(0.02, 0.08) * max(h, w))
    if max(h, w) <= LARGE:
        mask = np.zeros((h, w), np.float32)
        cv2.fillPoly(mask, [pts.astype(np.int32)], 1.0)
        mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    else:
        # The mask is smooth: made at a quarter of the size it looks the same, 20x faster.
        small = np.zeros((-(-h // 4), -(-w // 4)), np.float32)
        cv2.fillPoly(small, [np.round(pts / 4 * 16).astype(np.int32)], 1.0, cv2.LINE_AA, 4)
        small = cv2.GaussianBlur(small, (0, 0), sigma / 4)
        mask = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    depth = rng.uniform(0.2, 0.6)
    cv2.multiply(img, _per_pixel(1.0 - np.float32(depth) * mask, img), dst=img)
    return {"depth": _r(depth)}


def exposure(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    gamma = float(np.exp(rng.uniform(-0.4, 0.4)))
    contrast = rng.uniform(0.7, 1.3)
    brightness = rng.uniform(-25, 25)
    # one lookup table over the 256 levels is much cheaper than the pow on every pixel
    levels = np.arange(256, dtype=np.float32) / 255.0
    lut = ((levels**gamma - 0.5) * contrast + 0.5) * 255.0 + brightness
    idx = np.clip(img, 0, 255).astype(np.uint8)
    return cv2.LUT(idx, lut.astype(np.float32)), {
        "gamma": _r(gamma),
        "contrast": _r(contrast),
        "brightness": _r(brightness),
    }


def blur(img: np.ndarray, rng: np.random.Generator, scale: float = 1.0) -> tuple[np.ndarray, dict]:
    kind = rng.choice(["none", "gaussian", "motion"], p=[0.35, 0.4, 0.25])
    if kind == "gaussian":
        sigma = rng.uniform(0.3, 1.4) * scale
        return cv2.GaussianBlur(img, (0, 0), sigma), {"kind": "gaussian", "sigma": _r(sigma)}
    if kind == "motion":
        length = int(rng.integers(3, 8) * scale) | 1
        angle = rng.uniform(0, 180)
        k = np.zeros((length, length), np.float32)
        k[length // 2, :] = 1.0
        rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), angle, 1.0)
        k = cv2.warpAffine(k, rot, (length, length))
        k /= max(k.sum(), 1e-6)
        return cv2.filter2D(img, -1, k), {"kind": "motion", "length": length, "angle": _r(angle)}
    return img, {"kind": "none"}


def noise(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    # one sample per pixel, shared by the channels: the model sees gray anyway
    sigma = rng.uniform(0, 9)
    grain = rng.standard_normal(img.shape[:2], dtype=np.float32) * np.float32(sigma)
    return cv2.add(img, _per_pixel(grain, img)), {"sigma": _r(sigma)}


def jpeg(img_u8: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    if rng.random() > 0.5:
        return img_u8, {}
    quality = int(rng.integers(35, 95))
    rgb = img_u8.ndim == 3  # cv2 codecs take BGR: swap so luma and chroma are the true ones
    bgr = cv2.cvtColor(img_u8, cv2.COLOR_RGB2BGR) if rgb else img_u8
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return (cv2.cvtColor(out, cv2.COLOR_BGR2RGB) if rgb else out), {"quality": quality}


def photograph(img: np.ndarray, rng: np.random.Generator, blur_scale: float = 1.0) -> tuple[np.ndarray, dict]:
    """Gray or RGB uint8 -> the same as a camera would record it, with the parameters used."""
    x = img.astype(np.float32)
    params = {"lighting": lighting(x, rng), "shadow": shadow(x, rng)}
    x, params["exposure"] = exposure(x, rng)
    x, params["blur"] = blur(x, rng, blur_scale)
    x, params["noise"] = noise(x, rng)
    out = np.clip(x, 0, 255).astype(np.uint8)
    out, params["jpeg"] = jpeg(out, rng)
    return out, params
