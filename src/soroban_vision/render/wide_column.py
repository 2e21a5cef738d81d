"""Column crops beyond the classic ones: the wide variety's looks, light and camera (as in
`wide_scene`, minus lens distortion, which does nothing visible over one 64x128 crop), and
occluded crops, where a hand covers the centre rod by the rule in `conditions` (for the
`occluded/` class of a dataset), in either variety."""

from __future__ import annotations

import cv2
import numpy as np

from soroban_vision.preprocess import HEIGHT, SPEC, WIDTH, gray_u8
from soroban_vision.render import camera
from soroban_vision.render.column import PITCH, camera_jitter, fill_background
from soroban_vision.render.conditions import classic_looks, style_bucket
from soroban_vision.render.drawing import Layout, draw_abacus, random_layout, random_style
from soroban_vision.render.hand_paint import paint_hand
from soroban_vision.render.hands import covered_rods, place_hand, track_cover
from soroban_vision.render.lens import focus_falloff, motion_blur
from soroban_vision.render.lighting import apply_light, low_light_noise, random_light_kind
from soroban_vision.render.materials import random_material
from soroban_vision.render.wide_drawing import draw_soroban, random_light

CAMERAS = ("plain", "motion_blur", "focus_falloff")
CAMERA_SHARES = (0.5, 0.25, 0.25)


def _r(x) -> float:
    return round(float(x), 4)


def _lanes(layout: Layout, origin) -> tuple[np.ndarray, np.ndarray]:
    """The centre rod's heaven and earth tracks on the canvas."""
    ox, oy = origin
    x0, x1 = ox + layout.rod_x(1) - layout.bead_w / 2, ox + layout.rod_x(1) + layout.bead_w / 2

    def box(y0, y1):
        return np.array([[x0, oy + y0], [x1, oy + y0], [x1, oy + y1], [x0, oy + y1]])

    return box(layout.rail, layout.bar_top), box(layout.bar_bottom, layout.height - layout.rail)


def _hand_over_rod(canvas: np.ndarray, layout: Layout, origin, rng) -> dict:
    """A hand whose fingers hide the centre rod (tried until they do); painted in place."""
    ox, oy = origin
    x = ox + layout.rod_x(1)
    ys = [layout.rail + 0.5 * layout.heaven_zone, layout.bar_bottom + 1.5 * layout.bead_h]
    aims = np.array([[[x, oy + y] for y in ys]])
    lanes = [_lanes(layout, origin)]
    img = canvas.astype(np.float32)
    pose, _, _ = place_hand(
        rng, img.shape[:2], aims, lanes, PITCH * rng.uniform(0.8, 1.15), want=(1, 1), tries=20
    )
    alpha, how = paint_hand(img, pose, rng, moving=bool(rng.random() < 0.4))
    canvas[:] = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    cover = track_cover(alpha, lanes)[0]
    return {
        **pose.params(),
        **how,
        "cover": [_r(cover[0]), _r(cover[1])],
        "covered": covered_rods([cover]) == [0],
    }


def _crop(canvas: np.ndarray, layout: Layout, origin, rng) -> tuple[np.ndarray, dict]:
    quad = layout.column_quad(1, SPEC["crop"]["width_pitches"]) + list(origin)
    dst = np.array([[0, 0], [WIDTH, 0], [WIDTH, HEIGHT], [0, HEIGHT]], np.float32)
    crop = cv2.getPerspectiveTransform(quad.astype(np.float32), dst)
    jitter, view = camera_jitter(rng, WIDTH, HEIGHT)
    flags = cv2.INTER_LINEAR
    rgb = cv2.warpPerspective(
        canvas, jitter @ crop, (WIDTH, HEIGHT), flags=flags, borderMode=cv2.BORDER_REFLECT
    )
    return rgb, view


def _wide_camera(rgb: np.ndarray, rng) -> tuple[np.ndarray, dict, dict]:
    """Light on the colour crop, then the camera on its luminance: (gray, params, conditions)."""
    x = rgb.astype(np.float32)
    gradient = camera.lighting(x, rng)
    light_kind = random_light_kind(rng)
    light = apply_light(light_kind, x, rng, np.array([[0, 0], [WIDTH, HEIGHT]], np.float64))
    g = gray_u8(np.clip(x, 0, 255).astype(np.uint8)).astype(np.float32)
    camera_kind = CAMERAS[int(rng.choice(len(CAMERAS), p=CAMERA_SHARES))]
    extra = {}
    if camera_kind == "motion_blur":
        g, extra = motion_blur(g, rng, PITCH / 2.5)
    elif camera_kind == "focus_falloff":
        extra = focus_falloff(g, rng, rng.normal(0, 1, 2), 0.8)
    g, exposure = camera.exposure(g, rng)
    g, blur = camera.blur(g, rng, 0.7)
    if light.get("noise_gain"):
        noise = low_light_noise(g, rng, light["noise_gain"])
    else:
        g, noise = camera.noise(g, rng)
    gray, jpeg = camera.jpeg(np.clip(g, 0, 255).astype(np.uint8), rng)
    params = {"light": {"gradient": gradient, **light}, "lens": extra, "exposure": exposure}
    params |= {"blur": blur, "noise": noise, "jpeg": jpeg}
    return gray, params, {"light": light_kind, "camera": camera_kind}


# One crop is one sequence (draw, maybe a hand, crop, camera), best read in order.
def render_column_variety(digit: int, seed: int, variety: str, occluded: bool) -> tuple[np.ndarray, dict]:
    """A 64x128 uint8 gray column crop of the centre rod showing `digit`: the wide variety, and/or
    with a hand over the rod (`occluded`). The same arguments always give the same bytes."""
    rng = np.random.default_rng([seed, digit, 2 if variety == "wide" else 1, int(occluded)])
    layout = random_layout(rng, rods=3, pitch=PITCH)
    neighbours = [int(rng.integers(10)), int(rng.integers(10))]
    mx, my = PITCH * 0.8, layout.height * 0.3
    canvas = np.empty((int(layout.height + 2 * my), int(layout.width + 2 * mx), 3), np.uint8)
    digits = [neighbours[0], digit, neighbours[1]]
    if variety == "wide":
        material = random_material(rng)
        fill_background(canvas, material.background, material.background_texture, rng)
        parallax = tuple(rng.uniform(-0.3, 0.3, 2) * PITCH)
        draw_soroban(canvas, layout, material, digits, (mx, my), rng, random_light(rng), parallax)
        looks = {
            "style": style_bucket(material.bead, material.frame),
            "frame": material.frame_name,
            "back": material.back,
            "beads": material.beads,
            "bead_shape": material.shape,
        }
        style = material.params()
    else:
        classic = random_style(rng)
        fill_background(canvas, classic.background, classic.background_texture, rng)
        draw_abacus(canvas, layout, classic, digits, (mx, my), rng)
        looks = classic_looks(classic, layout)
        style = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(classic).items()}
    hand = _hand_over_rod(canvas, layout, (mx, my), rng) if occluded else {}
    rgb, view = _crop(canvas, layout, (mx, my), rng)
    if variety == "wide":
        gray, photo, effects = _wide_camera(rgb, rng)
    else:
        gray, photo = camera.photograph(gray_u8(rgb), rng, blur_scale=0.7)
        effects = {"light": "normal", "camera": "plain"}
    params = {
        "seed": seed,
        "digit": digit,
        "variety": variety,
        "neighbours": neighbours,
        "layout": {k: _r(v) for k, v in vars(layout).items() if k != "rods"},
        "style": style,
        "hand": hand,
        "view": view,
        "camera": photo,
        "conditions": {**looks, **effects, "occluded": bool(occluded)},
    }
    return gray, params
