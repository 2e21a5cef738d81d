"""The camera conditions of the wide variety: lens distortion (barrel or pincushion, and the true
positions of labelled points through it), focus falloff (the tilted soroban leaves the plane of
sharp focus) and motion blur (the camera moved while the shutter was open).

Distortion follows the one-parameter radial model: a point at x_u (undistorted, image pixels)
is recorded at c + (x_u - c) * (1 + k1 * |x_u - c|^2 / norm^2), with c the image centre and
norm half the image diagonal; k1 < 0 is barrel, k1 > 0 pincushion.
"""

from __future__ import annotations

import cv2
import numpy as np

from soroban_vision.render.conditions import CAMERAS

CAMERA_SHARES = (0.4, 0.2, 0.2, 0.2)  # plain, motion_blur, focus_falloff, lens_distortion
K1 = {"barrel": (-0.22, -0.06), "pincushion": (0.05, 0.16)}


def _r(x) -> float:
    return round(float(x), 4)


def random_camera_kind(rng: np.random.Generator) -> str:
    return CAMERAS[int(rng.choice(len(CAMERAS), p=CAMERA_SHARES))]


def distort_points(points, k1: float, size: tuple[int, int]) -> np.ndarray:
    """Undistorted image points [N,2] -> where the lens puts them."""
    w, h = size
    c = np.array([(w - 1) / 2, (h - 1) / 2])
    norm2 = (w * w + h * h) / 4
    p = np.asarray(points, np.float64).reshape(-1, 2) - c
    r2 = (p * p).sum(axis=1, keepdims=True)
    return c + p * (1 + k1 * r2 / norm2)


def distort_image(img: np.ndarray, k1: float) -> np.ndarray:
    """The image as the lens records it: each output pixel looks up its undistorted source."""
    h, w = img.shape[:2]
    c = np.array([(w - 1) / 2, (h - 1) / 2], np.float32)
    norm2 = np.float32((w * w + h * h) / 4)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = xs - c[0], ys - c[1]
    rd2 = (dx * dx + dy * dy) / norm2
    scale = np.ones_like(rd2)
    for _ in range(8):  # solve r_d = r_u (1 + k1 r_u^2) for r_u by fixed-point steps
        scale = 1 / (1 + k1 * rd2 * scale * scale)
    map_x, map_y = c[0] + dx * scale, c[1] + dy * scale
    return cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def fitting_k1(rng: np.random.Generator, points: np.ndarray, size: tuple[int, int]) -> float:
    """A random k1 whose distortion keeps every labelled point inside the image."""
    kind = "barrel" if rng.random() < 0.6 else "pincushion"
    k1 = rng.uniform(*K1[kind])
    w, h = size
    for _ in range(8):
        moved = distort_points(points, k1, size)
        if (moved >= 1).all() and (moved[:, 0] <= w - 2).all() and (moved[:, 1] <= h - 2).all():
            break
        k1 *= 0.5
    return float(k1)


def focus_falloff(img: np.ndarray, rng: np.random.Generator, direction, scale: float) -> dict:
    """Sharp along a line across the image, blurring away from it (a tilted plane, a wide aperture)."""
    h, w = img.shape[:2]
    d = np.asarray(direction, np.float64)
    d = d / np.linalg.norm(d) if np.linalg.norm(d) > 1e-3 else np.array([0.0, 1.0])
    sigma = rng.uniform(1.0, 2.6) * scale
    focus = rng.uniform(0.3, 0.7)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    t = (xs / w - 0.5) * d[0] + (ys / h - 0.5) * d[1] + 0.5  # 0-1 across the image
    amount = np.clip(np.abs(t - focus) / 0.5, 0, 1)
    soft = cv2.GaussianBlur(img, (0, 0), sigma / 2)
    softer = cv2.GaussianBlur(img, (0, 0), sigma)
    a, b = np.clip(2 * amount, 0, 1), np.clip(2 * amount - 1, 0, 1)
    if img.ndim == 3:
        a, b = a[..., None], b[..., None]
    img[:] = (img * (1 - a) + soft * a) * (1 - b) + softer * b
    return {"sigma": _r(sigma), "focus": _r(focus), "direction": [_r(d[0]), _r(d[1])]}


def motion_blur(img: np.ndarray, rng: np.random.Generator, pitch_px: float) -> tuple[np.ndarray, dict]:
    """A straight shake, up to half a rod pitch long (longer would smear one rod into the next)."""
    length = max(3, round(rng.uniform(0.15, 0.5) * pitch_px) | 1)
    angle = rng.uniform(0, 180)
    k = np.zeros((length, length), np.float32)
    k[length // 2, :] = 1.0
    k = cv2.warpAffine(k, cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0), k.shape)
    k /= max(float(k.sum()), 1e-6)
    return cv2.filter2D(img, -1, k), {"length": length, "angle_deg": _r(angle)}
