"""Render one soroban column crop (64x128 gray), as a camera would have seen it."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from soroban_vision.beads import to_beads
from soroban_vision.preprocess import HEIGHT, SPEC, WIDTH, gray_u8
from soroban_vision.render import camera
from soroban_vision.render.conditions import check_variety, classic_looks
from soroban_vision.render.drawing import draw_abacus, random_layout, random_style

PITCH = 40.0  # rod pitch of the flat drawing, in pixels; the camera warp rescales it


@functools.cache
def _textures(seed: int = 12345, count: int = 8, size: int = 64) -> np.ndarray:
    """A small bank of streaky noise textures in [-1,1], made once per process."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        t = rng.normal(0, 1, (size, size // 8)).astype(np.float32)
        t = cv2.resize(t, (size, size), interpolation=cv2.INTER_CUBIC)
        t = cv2.GaussianBlur(t, (0, 0), sigmaX=6, sigmaY=0.8)
        out.append(t / (np.abs(t).max() + 1e-6))
    return np.stack(out)


def _r(x) -> float:
    return round(float(x), 4)


def fill_background(img: np.ndarray, colour, texture: float, rng: np.random.Generator) -> None:
    if texture <= 0:
        cv2.rectangle(img, (0, 0), (img.shape[1], img.shape[0]), tuple(map(int, colour)), -1)
        return
    # made at a quarter of the resolution, then scaled up: texture is low-frequency anyway
    h, w = img.shape[:2]
    sh, sw = max(2, h // 4), max(2, w // 4)
    blobs = rng.standard_normal((rng.integers(3, 9), rng.integers(3, 9)), dtype=np.float32)
    blobs = cv2.resize(blobs, (sw, sh), interpolation=cv2.INTER_CUBIC)
    fine = cv2.resize(_textures()[rng.integers(len(_textures()))], (sw, sh))
    mod = 1 + texture * (0.6 * blobs + 0.4 * fine)
    small = np.clip(mod[..., None] * np.asarray(colour, np.float32), 0, 255).astype(np.uint8)
    img[:] = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def camera_jitter(rng: np.random.Generator, w: int, h: int) -> tuple[np.ndarray, dict]:
    """A random view change in output pixels: scale, rotation, shift, shear, perspective."""
    scale = rng.uniform(0.85, 1.15)
    angle = np.deg2rad(rng.uniform(-8, 8))
    shear = rng.uniform(-0.08, 0.08)
    shift = (rng.uniform(-0.06, 0.06) * w, rng.uniform(-0.05, 0.05) * h)
    persp = rng.uniform(-0.0025, 0.0025, 2) * [w / WIDTH, h / HEIGHT]
    cx, cy = w / 2, h / 2
    to_centre = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]])
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    shr = np.array([[1, shear, 0], [0, 1, 0], [0, 0, 1]])
    scl = np.diag([scale, scale, 1.0])
    prj = np.array([[1, 0, 0], [0, 1, 0], [persp[0] / w * 10, persp[1] / h * 10, 1]])
    back = np.array([[1, 0, cx + shift[0]], [0, 1, cy + shift[1]], [0, 0, 1]])
    m = back @ prj @ rot @ shr @ scl @ to_centre
    params = {
        "scale": _r(scale),
        "rotation_deg": _r(np.rad2deg(angle)),
        "shear": _r(shear),
        "shift": [_r(shift[0]), _r(shift[1])],
        "perspective": [_r(persp[0]), _r(persp[1])],
    }
    return m, params


def render_column(digit: int, seed: int, variety: str = "classic") -> tuple[np.ndarray, dict]:
    """A 64x128 uint8 gray column crop showing `digit`, and how it was made.

    The same (digit, seed, variety) always gives the same bytes. "classic" is the distribution
    every published figure was measured on; "wide" adds the looks, light and camera effects of
    `wide_column` (the condition names are in `conditions`).
    """
    if check_variety(variety) == "wide":
        from soroban_vision.render.wide_column import render_column_variety

        return render_column_variety(digit, seed, "wide", occluded=False)
    beads = to_beads(digit)
    rng = np.random.default_rng([seed, digit])
    layout = random_layout(rng, rods=3, pitch=PITCH)
    style = random_style(rng)
    neighbours = [int(rng.integers(10)), int(rng.integers(10))]
    mx, my = PITCH * 0.8, layout.height * 0.3
    canvas = np.empty((int(layout.height + 2 * my), int(layout.width + 2 * mx), 3), np.uint8)
    fill_background(canvas, style.background, style.background_texture, rng)
    draw_abacus(canvas, layout, style, [neighbours[0], digit, neighbours[1]], (mx, my), rng)

    quad = layout.column_quad(1, SPEC["crop"]["width_pitches"]) + [mx, my]
    dst = np.array([[0, 0], [WIDTH, 0], [WIDTH, HEIGHT], [0, HEIGHT]], np.float64)
    crop = cv2.getPerspectiveTransform(quad.astype(np.float32), dst.astype(np.float32))
    jitter, view = camera_jitter(rng, WIDTH, HEIGHT)
    rgb = cv2.warpPerspective(
        canvas, jitter @ crop, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    # The camera's effects act on luminance: light, blur and noise are linear, so they
    # commute with the grayscale rule, and a gray JPEG is what a colour JPEG's luma holds.
    gray, photo = camera.photograph(gray_u8(rgb), rng, blur_scale=0.7)
    params = {
        "seed": seed,
        "digit": digit,
        "heaven": beads.heaven,
        "earth": beads.earth,
        "neighbours": neighbours,
        "layout": {k: _r(v) for k, v in vars(layout).items() if k != "rods"},
        "style": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(style).items()},
        "view": view,
        "camera": photo,
        "conditions": {
            **classic_looks(style, layout),
            "light": "normal",
            "camera": "plain",
            "occluded": False,
        },
    }
    return gray, params
