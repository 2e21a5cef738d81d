"""Draw a flat, front-on soroban of the wide variety: the same geometry as `drawing` (its `Layout`
and `bead_centres`), other looks: wood-grained or plastic rails with a lit bevel, an open back
where the table shows between the rods (seen with parallax, under the shadows of rods and beads)
or a back panel, and shaded bead sprites."""

from __future__ import annotations

import cv2
import numpy as np

from soroban_vision.render.bead_sprite import bead_sprite, paste_sprite
from soroban_vision.render.drawing import Layout, bead_centres
from soroban_vision.render.materials import Material

_SHIFT = 4
_ONE = 1 << _SHIFT


def _fill(img: np.ndarray, x0: float, y0: float, x1: float, y1: float, colour) -> None:
    pts = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    cv2.fillPoly(
        img, [np.round(pts * _ONE).astype(np.int32)], tuple(int(c) for c in colour), cv2.LINE_AA, _SHIFT
    )


def _box(img: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
    h, w = img.shape[:2]
    return (
        max(int(np.floor(x0)), 0),
        max(int(np.floor(y0)), 0),
        min(int(np.ceil(x1)), w),
        min(int(np.ceil(y1)), h),
    )


def random_light(rng: np.random.Generator) -> np.ndarray:
    """Where the room's main light comes from: above the soroban, mostly from its top side."""
    azimuth = rng.uniform(-0.85, 0.85) * np.pi - np.pi / 2  # about "up" in the image
    elevation = rng.uniform(np.deg2rad(35), np.deg2rad(60))  # never from the camera itself
    flat = np.cos(elevation)
    return np.array([flat * np.cos(azimuth), flat * np.sin(azimuth), np.sin(elevation)])


def _board(img, rect, colour, grain: float, gloss: float, light, rng, vertical: bool = False) -> None:
    """A rail, side or bar: its colour, wood grain along it, a lit top edge and a shaded bottom edge."""
    x0, y0, x1, y1 = rect
    _fill(img, x0, y0, x1, y1, colour)
    bx0, by0, bx1, by1 = _box(img, x0, y0, x1, y1)
    if bx1 - bx0 < 2 or by1 - by0 < 2:
        return
    h, w = by1 - by0, bx1 - bx0
    region = img[by0:by1, bx0:bx1].astype(np.float32)
    mod = np.ones((h, w), np.float32)
    if grain > 0:
        along, across = (h, w) if vertical else (w, h)
        streaks = rng.standard_normal((max(2, across // 2), max(2, along // 60))).astype(np.float32)
        streaks = cv2.resize(streaks, (along, across), interpolation=cv2.INTER_CUBIC)
        streaks = streaks.T if vertical else streaks
        mod += grain * 0.3 * np.clip(streaks, -2.5, 2.5)
    if gloss > 0.3 and not vertical:  # a soft sheen along a lacquered or plastic rail
        t = (np.arange(h, dtype=np.float32) / h - rng.uniform(0.2, 0.5)) / 0.18
        mod += (gloss * 0.35 * np.exp(-t * t))[:, None]
    region *= mod[..., None]
    edge = max(1, round(0.12 * h)) if not vertical else 0
    if edge:
        region[:edge] *= 1.0 + 0.35 * max(0.0, -light[1]) + 0.1
        region[-edge:] *= 0.7
    img[by0:by1, bx0:bx1] = np.clip(region, 0, 255).astype(np.uint8)


def _back(img, layout: Layout, origin, material: Material, parallax, rng) -> tuple[int, int, int, int]:
    """The inside of the frame: a back panel, or the table seen through the open frame."""
    ox, oy = origin
    box = _box(
        img,
        ox + layout.side,
        oy + layout.rail,
        ox + layout.width - layout.side,
        oy + layout.height - layout.rail,
    )
    x0, y0, x1, y1 = box
    if material.back == "panel":
        _fill(img, x0, y0, x1, y1, material.panel)
        return box
    # the table lies lower than the rods: seen through the frame it is shifted, and in shade
    m = np.float32([[1, 0, -parallax[0]], [0, 1, -parallax[1]]])
    seen = cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REFLECT)
    inner = seen[y0:y1, x0:x1].astype(np.float32)
    h, w = inner.shape[:2]
    ys = np.minimum(np.arange(h), np.arange(h)[::-1]).astype(np.float32)
    near_rail = np.exp(-ys / max(1.0, 0.35 * layout.pitch))
    inner *= (rng.uniform(0.75, 0.95) * (1 - 0.35 * near_rail))[:, None, None]
    img[y0:y1, x0:x1] = np.clip(inner, 0, 255).astype(np.uint8)
    return box


def _shadows(img, box, layout: Layout, origin, beads_y, offset, depth: float) -> None:
    """Rods, bar and beads darken what lies under them inside the frame, offset away from the light."""
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return
    ox, oy = origin[0] - x0 + offset[0], origin[1] - y0 + offset[1]
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    _fill(mask, ox, oy + layout.bar_top, ox + layout.width, oy + layout.bar_bottom, (1.0,))
    half_rod = max(0.6, layout.pitch * 0.035)
    axes = (max(1, int(layout.bead_w * 0.5 * _ONE)), max(1, int(layout.bead_h * 0.5 * _ONE)))
    for i, ys in enumerate(beads_y):
        x = ox + layout.rod_x(i)
        _fill(mask, x - half_rod, oy, x + half_rod, oy + layout.height, (1.0,))
        for y in ys:
            centre = (round(x * _ONE), round((oy + y) * _ONE))
            cv2.ellipse(mask, centre, axes, 0, 0, 360, 1.0, -1, cv2.LINE_AA, _SHIFT)
    mask = cv2.GaussianBlur(mask, (0, 0), max(0.6, 0.12 * layout.pitch))
    region = img[y0:y1, x0:x1].astype(np.float32) * (1 - depth * mask)[..., None]
    img[y0:y1, x0:x1] = np.clip(region, 0, 255).astype(np.uint8)


# The drawing order is the whole point (back, shadows, rods, frame, beads): kept in one place.
def draw_soroban(
    img: np.ndarray,
    layout: Layout,
    material: Material,
    digits: list[int],
    origin: tuple[float, float],
    rng: np.random.Generator,
    light: np.ndarray,
    parallax: tuple[float, float] = (0.0, 0.0),
) -> dict:
    """Draw the soroban onto `img` (RGB uint8) with its frame's top-left corner at `origin`;
    returns how (the shadow's offset and depth)."""
    ox, oy = origin
    w, h = layout.width, layout.height
    beads_y = [bead_centres(layout, d, rng) for d in digits]
    box = _back(img, layout, origin, material, parallax, rng)
    lift = rng.uniform(0.15, 0.45) if material.back == "open" else rng.uniform(0.04, 0.12)
    offset = -light[:2] / light[2] * lift * layout.pitch
    depth = float(rng.uniform(0.25, 0.55))
    _shadows(img, box, layout, origin, beads_y, offset, depth)
    half_rod = max(0.6, layout.pitch * 0.035)
    for i in range(layout.rods):
        x = ox + layout.rod_x(i)
        _fill(img, x - half_rod, oy + layout.rail, x + half_rod, oy + h - layout.rail, material.rod)
    look = (material.grain, material.gloss, light, rng)
    for x0 in (ox, ox + w - layout.side):
        _board(img, (x0, oy, x0 + layout.side, oy + h), material.frame, *look, vertical=True)
    for y0 in (oy, oy + h - layout.rail):
        _board(img, (ox, y0, ox + w, y0 + layout.rail), material.frame, *look)
    _board(
        img,
        (ox + layout.side, oy + layout.bar_top, ox + w - layout.side, oy + layout.bar_bottom),
        material.bar,
        *look,
    )
    if material.unit_dots:
        r = max(1, int(layout.bar * 0.28 * _ONE))
        dot = (20, 20, 20) if sum(material.bar) > 300 else (230, 226, 214)
        cy = int((oy + (layout.bar_top + layout.bar_bottom) / 2) * _ONE)
        for i in range(layout.rods):
            if (layout.rods - 1 - i) % 3 == 0 and i != layout.rods - 1:
                cv2.circle(img, (int((ox + layout.rod_x(i)) * _ONE), cy), r, dot, -1, cv2.LINE_AA, _SHIFT)
    sprite = bead_sprite(layout, material, light, rng)
    for i, ys in enumerate(beads_y):
        for y in ys:
            paste_sprite(img, sprite, ox + layout.rod_x(i), oy + y)
    return {"shadow_offset": [round(float(v), 3) for v in offset], "shadow_depth": round(depth, 4)}
