"""A whole-soroban scene of the wide variety: what real use looks like, beyond the classic scenes.

The same camera model and table as `scene` (its `plan_view`, `compose_scene`, clutter and marker
cards), with on top: the `materials` looks drawn by `wide_drawing`; rod pitches from 10 px up
(log-uniform, so small sorobans are common; markers shrink with them); in half the scenes a hand
(`hands`) resting on or moving beads and covering 1-4 rods; one light condition (`lighting`) and
one camera condition (`lens`). Every choice is recorded in the truth's `conditions` (names in
the `conditions` module) and `params`.

With lens distortion, corners, column_quads and marker_corners are the distorted true positions
(each point through the lens), `params.homography` the undistorted map and `params.lens` the
model (`lens` module docstring).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from soroban_vision.beads import to_digits
from soroban_vision.render import camera
from soroban_vision.render.column import fill_background
from soroban_vision.render.composite import paste
from soroban_vision.render.conditions import pitch_conditions, style_bucket
from soroban_vision.render.drawing import Layout, random_layout
from soroban_vision.render.hand_paint import paint_hand
from soroban_vision.render.hands import covered_rods, place_hand, track_cover
from soroban_vision.render.lens import (
    distort_image,
    distort_points,
    fitting_k1,
    focus_falloff,
    motion_blur,
    random_camera_kind,
)
from soroban_vision.render.lighting import apply_light, low_light_noise, random_light_kind
from soroban_vision.render.marker_cards import random_marker_shape, stick_cards
from soroban_vision.render.materials import Material, random_material
from soroban_vision.render.scene import (
    Plan,
    check_args,
    compose_scene,
    marker_side,
    plan_view,
    points_json,
    r4,
    scene_geometry,
)
from soroban_vision.render.view import View, apply_homography, random_view
from soroban_vision.render.wide_drawing import draw_soroban, random_light

MIN_PITCH_PX = 10.0
MAX_PITCH_PX = 64.0
HAND_SHARES = (0.5, 0.25, 0.25)  # none, resting, moving


def wide_view(rng: np.random.Generator, unit: Layout, width: int) -> View:
    """A classic view, framed for a rod pitch drawn log-uniformly from 10 px to what fits."""
    view = random_view(rng)
    rods_wide = unit.width / unit.pitch
    most = min(MAX_PITCH_PX, 0.92 * width / rods_wide)
    pitch = float(np.exp(rng.uniform(np.log(MIN_PITCH_PX), np.log(max(most, MIN_PITCH_PX + 1)))))
    return dataclasses.replace(view, width_fraction=min(0.92, pitch * rods_wide / width))


def _lanes(layout: Layout, rod: int) -> tuple[np.ndarray, np.ndarray]:
    """A rod's heaven and earth tracks (one bead wide, rail to bar, bar to rail), frame coordinates."""
    x0, x1 = layout.rod_x(rod) - layout.bead_w / 2, layout.rod_x(rod) + layout.bead_w / 2

    def box(y0, y1):
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])

    return box(layout.rail, layout.bar_top), box(layout.bar_bottom, layout.height - layout.rail)


def _aims(layout: Layout, rod: int) -> np.ndarray:
    """Where a fingertip rests on a rod: the heaven zone, the earth beads, the bottom rail."""
    x = layout.rod_x(rod)
    ys = [
        layout.rail + 0.5 * layout.heaven_zone,
        layout.bar_bottom + 1.2 * layout.bead_h,
        layout.bar_bottom + 2.6 * layout.bead_h,
        layout.height - 0.5 * layout.rail,
    ]
    return np.array([[x, y] for y in ys])


def _draw_flat(table, plan: Plan, material: Material, digits, rng, view: View) -> tuple:
    """The soroban drawn flat over the table as the frame sees it (see `scene._draw_flat`)."""
    cw, ch = plan.canvas
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    flat = cv2.warpPerspective(table, plan.hom, (cw, ch), flags=flags, borderMode=cv2.BORDER_REFLECT)
    mask = np.zeros((ch, cw), np.uint8)
    paper = tuple(int(v) for v in rng.integers(215, 256) - rng.integers(0, 20, 3))
    ink = int(rng.integers(0, 50))
    light = random_light(rng)
    depth = rng.uniform(0.3, 0.7) * plan.layout.pitch  # how far below the rods the table lies
    parallax = (depth * np.sin(view.tilt_y), -depth * np.sin(view.tilt_x))
    how = draw_soroban(flat, plan.layout, material, digits, (plan.origin, plan.origin), rng, light, parallax)
    paste(mask, plan.frame, 255)
    stick_cards(flat, mask, plan.cards, plan.marker.bit, paper, ink)
    how["light_dir"] = [r4(v) for v in light]
    how["parallax"] = [r4(v) for v in parallax]
    return flat, mask, how, light


def _hand(x: np.ndarray, plan: Plan, columns: int, kind: str, rng) -> dict:
    """A hand of `kind` (resting or moving) over the soroban, painted into float RGB `x`; in place."""
    to_image = plan.to_image
    lanes = [
        tuple(apply_homography(to_image, lane) for lane in _lanes(plan.layout, i)) for i in range(columns)
    ]
    aims = np.stack([apply_homography(to_image, _aims(plan.layout, i)) for i in range(columns)])
    finger = plan.pitch_px * rng.uniform(0.85, 1.15)
    pose, _, _ = place_hand(rng, x.shape[:2], aims, lanes, finger)
    alpha, how = paint_hand(x, pose, rng, moving=kind == "moving")
    cover = track_cover(alpha, lanes)
    return {
        "rods": covered_rods(cover),
        "params": {
            "kind": kind,
            **pose.params(),
            **how,
            "cover": [[round(a, 3), round(b, 3)] for a, b in cover],
        },
    }


def _camera(x: np.ndarray, kind: str, rng, plan: Plan, view: View, labels: np.ndarray, size) -> tuple:
    """The camera condition on float RGB `x`: (the image, its params, the k1 of the lens or 0)."""
    if kind == "motion_blur":
        x, params = motion_blur(x, rng, plan.pitch_px)
        return x, params, 0.0
    if kind == "focus_falloff":
        scale = float(np.clip(plan.pitch_px / 20, 0.6, 1.6))
        return x, focus_falloff(x, rng, (np.sin(view.tilt_y), np.sin(view.tilt_x)), scale), 0.0
    if kind == "lens_distortion":
        k1 = fitting_k1(rng, labels, size)
        w, h = size
        params = {"k1": r4(k1), "centre": [(w - 1) / 2, (h - 1) / 2], "norm": r4(np.hypot(w, h) / 2)}
        return distort_image(x, k1), params, k1
    return x, {}, 0.0


def _finish(x: np.ndarray, rng, blur_scale: float, noise_gain: float | None) -> tuple[np.ndarray, dict]:
    """The baseline camera every image gets: exposure, mild blur, sensor noise, JPEG."""
    x, exposure = camera.exposure(x, rng)
    x, blur = camera.blur(x, rng, blur_scale)
    if noise_gain:
        noise = low_light_noise(x, rng, noise_gain)
    else:
        x, noise = camera.noise(x, rng)
    out = np.clip(x, 0, 255).astype(np.uint8)
    out, jpeg = camera.jpeg(out, rng)
    return out, {"exposure": exposure, "blur": blur, "noise": noise, "jpeg": jpeg}


def _lens_labels(truth: dict, k1: float, size) -> None:
    """Labelled points through the lens: the distorted true positions; in place."""
    for key in ("corners", "column_quads", "marker_corners"):
        if key not in truth:
            continue
        pts = np.asarray(truth[key], np.float64)
        moved = distort_points(pts.reshape(-1, 2), k1, size).reshape(pts.shape)
        truth[key] = [points_json(q) for q in moved] if moved.ndim == 3 else points_json(moved)


# One scene is one sequence of steps (draw, compose, hand, light, camera, labels), best read in order.
def render_wide_scene(
    number: int, columns: int, seed: int, markers: bool, size: tuple[int, int]
) -> tuple[np.ndarray, dict]:
    """`scene.render_scene` with variety "wide": the same truth keys, wider conditions."""
    w, h = check_args(number, columns, size)
    digits = to_digits(number, columns)
    rng = np.random.default_rng([seed, number, columns, int(bool(markers)), w, h, 2])  # 2: the wide stream
    unit = random_layout(rng, rods=columns, pitch=1.0)
    material = random_material(rng)
    view = wide_view(rng, unit, w)
    plan = plan_view(unit, view, random_marker_shape(rng, unit), markers, (w, h))

    scene = np.empty((h, w, 3), np.uint8)
    texture = material.background_texture or float(rng.uniform(0.0, 0.15))
    fill_background(scene, material.background, texture, rng)
    flat, mask, drawn, _ = _draw_flat(scene, plan, material, digits, rng, view)
    how = compose_scene(scene, flat, mask, plan, rng)
    x = scene.astype(np.float32)
    hand_kind = ("none", "resting", "moving")[int(rng.choice(3, p=HAND_SHARES))]
    hand = _hand(x, plan, columns, hand_kind, rng) if hand_kind != "none" else {"rods": [], "params": {}}
    gradient = camera.lighting(x, rng)
    light_kind = random_light_kind(rng)
    light = apply_light(light_kind, x, rng, plan.box)
    truth = {"number": number, "digits": digits, "columns": columns, "markers": bool(markers)}
    truth |= {"size": [w, h], "seed": seed, **scene_geometry(plan, columns)}
    labels = np.concatenate(
        [np.asarray(truth[k], np.float64).reshape(-1, 2) for k in ("corners", "column_quads")]
    )
    camera_kind = random_camera_kind(rng)
    x, lens, k1 = _camera(x, camera_kind, rng, plan, view, labels, (w, h))
    blur_scale = float(np.clip(plan.pitch_px / 50, 0.3, 0.8))
    rgb, photo = _finish(x, rng, blur_scale, light.get("noise_gain"))
    if k1:
        _lens_labels(truth, k1, (w, h))

    to_image = plan.to_image
    truth["params"] = {
        "view": {**view.params(), "pitch_px": r4(plan.pitch_px)},
        "homography": [[float(f"{v:.8g}") for v in row] for row in to_image / to_image[2, 2]],
        "layout": {key: r4(v) for key, v in vars(plan.layout).items() if key != "rods"},
        "material": material.params(),
        "drawing": drawn,
        "scene": {"texture": r4(texture), **how},
        "hand": hand["params"],
        "light": {"gradient": gradient, **light},
        "lens": lens,
        "camera": {"blur_scale": r4(blur_scale), **photo},
    }
    truth["variety"] = "wide"
    truth["conditions"] = {
        "hand": hand_kind,
        "hand_rods": hand["rods"],
        **pitch_conditions(plan.pitch_px, marker_side(truth)),
        "style": style_bucket(material.bead, material.frame),
        "frame": material.frame_name,
        "back": material.back,
        "beads": material.beads,
        "bead_shape": material.shape,
        "light": light_kind,
        "camera": camera_kind,
    }
    return rgb, truth
