"""The light conditions of the wide variety, each applied to a float32 RGB image in place before
the camera records it: glare (a lamp's reflection and specular streaks), low light (the camera's
gain then lifts the noise: see `noise_gain`), and coloured light (a warm, cool, green or pink cast).
"Normal" light is the baseline gradient and exposure every image gets (`camera`)."""

from __future__ import annotations

import cv2
import numpy as np

from soroban_vision.render.conditions import LIGHTS

TINTS = {
    "warm": (1.0, 0.8, 0.55),
    "cool": (0.75, 0.88, 1.0),
    "green": (0.8, 1.0, 0.78),
    "pink": (1.0, 0.72, 0.95),
}
LIGHT_SHARES = (0.4, 0.2, 0.2, 0.2)  # normal, glare, low, coloured


def _r(x) -> float:
    return round(float(x), 4)


def glare(img: np.ndarray, rng: np.random.Generator, box: np.ndarray) -> dict:
    """A soft bright patch (a window or lamp mirrored in the varnish) and a thin streak, over the
    soroban's box [[x0, y0], [x1, y1]]; they wash out what lies under them."""
    h, w = img.shape[:2]
    (x0, y0), (x1, y1) = box
    centre = rng.uniform([x0, y0], [x1, y1])
    size = max(4.0, rng.uniform(0.08, 0.25) * (x1 - x0))
    ratio = rng.uniform(0.3, 1.0)
    angle = rng.uniform(0, 180)
    strength = rng.uniform(90, 200)
    field = np.zeros((h, w), np.float32)
    axes = (int(size * 16), int(size * ratio * 16))
    cv2.ellipse(
        field, (int(centre[0] * 16), int(centre[1] * 16)), axes, angle, 0, 360, 1.0, -1, cv2.LINE_AA, 4
    )
    field = cv2.GaussianBlur(field, (0, 0), max(1.0, 0.45 * size))
    streak = np.zeros((h, w), np.float32)
    a = np.deg2rad(rng.uniform(0, 180))
    half = rng.uniform(0.3, 0.9) * (x1 - x0) / 2 * np.array([np.cos(a), np.sin(a)])
    p, q = (np.round((centre - half) * 16).astype(int), np.round((centre + half) * 16).astype(int))
    cv2.line(streak, tuple(p), tuple(q), 1.0, max(1, int(0.02 * size)) + 1, cv2.LINE_AA, 4)
    field += 0.6 * cv2.GaussianBlur(streak, (0, 0), 1.2)
    img += (strength * field)[..., None]
    return {"centre": [_r(centre[0]), _r(centre[1])], "size": _r(size), "strength": _r(strength)}


def low_light(img: np.ndarray, rng: np.random.Generator) -> dict:
    """A dim room: the image darkened; the sensor noise that comes with it is added by the camera."""
    level = rng.uniform(0.25, 0.5)
    img *= np.float32(level)
    return {"level": _r(level), "noise_gain": _r(1.0 / level)}


def coloured(img: np.ndarray, rng: np.random.Generator) -> dict:
    name = list(TINTS)[int(rng.integers(len(TINTS)))]
    tint = np.asarray(TINTS[name], np.float32) * np.float32(rng.uniform(0.9, 1.1))
    img *= tint
    return {"tint": name, "gains": [_r(v) for v in tint]}


def random_light_kind(rng: np.random.Generator) -> str:
    return LIGHTS[int(rng.choice(len(LIGHTS), p=LIGHT_SHARES))]


def apply_light(kind: str, img: np.ndarray, rng: np.random.Generator, box: np.ndarray) -> dict:
    """The light condition `kind` on float32 RGB `img`, in place; returns its parameters."""
    if kind == "glare":
        return glare(img, rng, box)
    if kind == "low":
        return low_light(img, rng)
    if kind == "coloured":
        return coloured(img, rng)
    return {}


def low_light_noise(img: np.ndarray, rng: np.random.Generator, gain: float) -> dict:
    """Sensor noise lifted by the gain of a dim scene, with some colour in it; in place."""
    sigma = rng.uniform(1.2, 2.4) * gain  # at most about 11 levels: grainy, still readable
    grain = rng.standard_normal(img.shape[:2], dtype=np.float32) * np.float32(sigma)
    img += grain[..., None] if img.ndim == 3 else grain
    if img.ndim == 3:
        img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(0.35 * sigma)
    return {"sigma": _r(sigma)}
