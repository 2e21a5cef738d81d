"""One bead of the wide variety, shaded as a solid of revolution about its rod and pasted as a
sprite: a bicone (a double cone with a sharp ridge) or a rounded bead (an ellipsoid), matt wood or
glossy lacquer, or translucent (the rod shows through, the rim is denser)."""

from __future__ import annotations

import cv2
import numpy as np

from soroban_vision.render.drawing import Layout
from soroban_vision.render.materials import Material

SUPERSAMPLE = 4


def _radius(shape: str, v: np.ndarray) -> np.ndarray:
    """The bead's radius (of its widest) at height v (0 the ridge, 1 the end where the rod goes in):
    a bicone narrows straight to a flat end, a rounded bead as an ellipse; both ends stay open
    about a third, so that stacked beads touch over a width, as real ones do."""
    if shape == "bicone":
        return 1 - 0.68 * v
    return np.sqrt(np.clip(1 - 0.88 * v * v, 0, 1))


def bead_sprite(
    layout: Layout, material: Material, light: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """RGBA float32 [h, w, 4] (premultiplied colour, alpha 0-1), centred on the bead's centre."""
    ss = SUPERSAMPLE
    half_w, half_h = layout.bead_w / 2, layout.bead_h / 2
    w, h = int(np.ceil(half_w)) * 2 + 3, int(np.ceil(half_h)) * 2 + 3
    ys, xs = np.mgrid[0 : h * ss, 0 : w * ss].astype(np.float32)
    x = (xs + 0.5) / ss - w / 2
    y = (ys + 0.5) / ss - h / 2
    v = np.abs(y) / half_h
    radius = half_w * _radius(material.shape, np.clip(v, 0, 1))
    inside = (np.abs(x) < radius) & (v <= 1)
    # the surface's slope dR/dy, numerically, and its normal (x/R, -dR/dy, z/R)
    dv = 1e-3
    lo, hi = np.clip(v - dv, 0, 1), np.clip(v + dv, 0, 1)
    grow = _radius(material.shape, hi) - _radius(material.shape, lo)
    slope = half_w * grow / (np.maximum(hi - lo, 1e-6) * half_h) * np.sign(y)
    safe = np.maximum(radius, 1e-3)
    z = np.sqrt(np.clip(safe**2 - x**2, 0, None))
    n = np.stack([x / safe, -slope, z / safe], axis=-1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True) + 1e-6
    diffuse = np.clip(n @ light, 0, 1)
    half = light + [0, 0, 1.0]
    half = half / np.linalg.norm(half)
    power = 20 + 60 * material.gloss
    spec = (np.clip(n @ half, 0, 1) ** power) * (0.15 + 0.6 * material.gloss)
    base = np.asarray(material.bead, np.float32)
    if material.grain > 0 and material.bead_opacity == 1.0 and material.beads in ("brown", "light_wood"):
        rings = 1 + 0.08 * np.sin(y * rng.uniform(1.5, 3.0) + rng.uniform(0, 6))
        base = base * rings[..., None]
    colour = base * (0.3 + 0.8 * diffuse)[..., None] + 255 * spec[..., None]
    alpha = inside.astype(np.float32)
    if material.bead_opacity < 1:
        rim = 1 - n[..., 2]
        alpha = alpha * (material.bead_opacity + (1 - material.bead_opacity) * rim**2)
        alpha = np.maximum(alpha, inside * np.clip(spec * 2, 0, 1))
    rgba = np.concatenate([colour * alpha[..., None], alpha[..., None]], axis=-1)
    return cv2.resize(rgba, (w, h), interpolation=cv2.INTER_AREA)


def paste_sprite(img: np.ndarray, sprite: np.ndarray, cx: float, cy: float) -> None:
    """Composite the sprite over `img` (uint8 RGB) with its centre at (cx, cy), sub-pixel placed."""
    h, w = sprite.shape[:2]
    x0f, y0f = cx - w / 2, cy - h / 2
    x0, y0 = int(np.floor(x0f)), int(np.floor(y0f))
    shift = np.float32([[1, 0, x0f - x0], [0, 1, y0f - y0]])
    moved = cv2.warpAffine(sprite, shift, (w + 1, h + 1), flags=cv2.INTER_LINEAR)
    ih, iw = img.shape[:2]
    ax0, ay0, ax1, ay1 = max(x0, 0), max(y0, 0), min(x0 + w + 1, iw), min(y0 + h + 1, ih)
    if ax1 <= ax0 or ay1 <= ay0:
        return
    part = moved[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0]
    back = img[ay0:ay1, ax0:ax1].astype(np.float32)
    out = part[..., :3] + back * (1 - part[..., 3:4])
    img[ay0:ay1, ax0:ax1] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
