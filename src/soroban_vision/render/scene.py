"""Render a whole soroban in a cluttered scene, as a phone camera would see it.

A flat, front-on soroban (`drawing.draw_abacus`) is viewed through a random pinhole camera
(`view`: tilted up to 25°, turned up to 10°, framed to fill roughly 45-90% of the image width).
It is laid on a textured table with clutter around it (`clutter`), then photographed
(`camera.photograph`). With `markers=True`, four ArUco marker cards sit on the frame's corners
(`marker_cards` holds their convention).

Coordinates are image pixels in OpenCV's convention: the centre of the top-left pixel is
(0, 0), x grows right, y grows down. Every quad is 4 points clockwise from the top-left:
top-left, top-right, bottom-right, bottom-left, as seen on the upright soroban.

The ground truth of a scene is a JSON-serialisable dict: see `render_scene`. Every item also has
`variety` ("classic" | "wide") and `conditions`, the names evaluation breaks metrics down by: hand
(none | resting | moving), hand_rods (covered rods, 0-based), scale (tiny | small | medium | large),
pitch_px, marker_px, style (dark | normal), frame, back, beads, bead_shape, light (normal | glare |
low | coloured), camera (plain | motion_blur | focus_falloff | lens_distortion). The value sets and
the covered-rod rule are in the `conditions` module's docstring; the Blender renderer writes the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from soroban_vision.beads import to_digits
from soroban_vision.data import MANIFEST, map_in_order, write_json_atomic
from soroban_vision.errors import DatasetError
from soroban_vision.folders import fresh_folder
from soroban_vision.preprocess import SPEC
from soroban_vision.render import camera
from soroban_vision.render.clutter import distractors, table_edge
from soroban_vision.render.column import fill_background
from soroban_vision.render.composite import composite_roi, paste, roi, warp_roi
from soroban_vision.render.conditions import check_variety, classic_conditions
from soroban_vision.render.drawing import Layout, Style, draw_abacus, random_layout, random_style
from soroban_vision.render.marker_cards import (
    MarkerPixels,
    MarkerShape,
    marker_cards,
    marker_pixels,
    random_marker_shape,
    stick_cards,
)
from soroban_vision.render.view import (
    MAX_ROLL_DEG,
    MAX_TILT_DEG,
    View,
    apply_homography,
    r4,
    random_view,
    view_homography,
)

# a scene promises the view's limits too, so they are part of what this module offers
__all__ = [
    "FORMAT",
    "MAX_COLUMNS",
    "MAX_ROLL_DEG",
    "MAX_TILT_DEG",
    "SIZE",
    "render_scene",
    "scene_seed",
    "write_scenes",
]

FORMAT = "soroban-vision/scenes"
SIZE = (640, 480)  # width, height
MAX_COLUMNS = 31  # the reader's limit (abacus spec columns.max): rod counts 9-31 are real sorobans


def points_json(points: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 2), round(float(y), 2)] for x, y in points]


def check_args(number, columns, size) -> tuple[int, int]:
    if not isinstance(columns, int) or isinstance(columns, bool) or not 1 <= columns <= MAX_COLUMNS:
        raise ValueError(f"a scene's soroban has 1-{MAX_COLUMNS} columns, got {columns!r}")
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size is (width, height), got {size!r}") from None
    if w < 64 or h < 64:
        raise ValueError(f"a scene is at least 64x64 pixels, got {w}x{h}")
    to_digits(number, columns)  # a ValueError if the number is not one the rods can show
    return w, h


# --------------------------------------------------------------------------- the flat soroban, sized


def _scaled(layout: Layout, k: float) -> Layout:
    """The layout drawn k times larger, nudged (by under a pixel) to a whole pixel size."""
    lengths = {f.name: getattr(layout, f.name) * k for f in dataclasses.fields(layout)}
    lengths["rods"], lengths["bead_round"] = layout.rods, layout.bead_round
    big = Layout(**lengths)
    return dataclasses.replace(
        big,
        side=big.side + (round(big.width) - big.width) / 2,
        rail=big.rail + (round(big.height) - big.height) / 2,
    )


@dataclasses.dataclass(frozen=True)
class Plan:
    """The flat drawing of a scene's soroban and how the camera sees it."""

    layout: Layout  # in the drawing's pixels
    origin: float  # the frame's outer top-left corner in the drawing: edges on pixel boundaries
    canvas: tuple[int, int]  # the drawing's width and height
    pitch_px: float  # one rod pitch, in image pixels, about
    marker: MarkerPixels
    cards: list[tuple[np.ndarray, np.ndarray]]  # (black square, white card) per marker id; [] without
    hom: np.ndarray  # drawing -> image pixels
    box: np.ndarray  # [[x0, y0], [x1, y1]]: where the frame and its cards land in the image

    @property
    def frame(self) -> np.ndarray:
        return self.layout.corners() + self.origin

    @property
    def to_image(self) -> np.ndarray:
        """Frame coordinates (origin at the frame's outer top-left) -> image pixels."""
        return self.hom @ np.array([[1, 0, self.origin], [0, 1, self.origin], [0, 0, 1]])


def plan_view(unit: Layout, view: View, shape: MarkerShape, markers: bool, size: tuple[int, int]) -> Plan:
    """Draw the flat soroban at about the size its rods will have in the image, then fit the view."""
    content = [unit.corners()]
    if markers:
        s = shape.side
        content += [card for _, card in marker_cards(unit, 0.0, s, s * shape.quiet_in, s * shape.quiet_out)]
    m_unit = view_homography(view, unit.corners(), np.concatenate(content), size)
    centre = unit.corners().mean(axis=0)
    ends = apply_homography(m_unit, [centre - [0.5, 0], centre + [0.5, 0]])
    pitch_px = float(np.linalg.norm(np.subtract(*ends)))
    scale = float(np.clip(1.3 * pitch_px, 10.0, 64.0))  # flat pixels per pitch
    layout = _scaled(unit, scale)
    px = marker_pixels(shape, scale, layout)
    margin = (px.side + px.quiet_out + 2) if markers else 2
    origin = margin - 0.5  # frame edges on pixel boundaries, so markers are pasted exactly
    canvas = (round(layout.width) + 2 * margin, round(layout.height) + 2 * margin)
    frame = layout.corners() + origin
    cards = marker_cards(layout, origin, px.side, px.quiet_in, px.quiet_out) if markers else []
    everything = np.concatenate([frame] + [card for _, card in cards])
    hom = view_homography(view, frame, everything, size)
    seen = apply_homography(hom, everything)
    box = np.array([seen.min(axis=0), seen.max(axis=0)])
    return Plan(layout, origin, canvas, pitch_px, px, cards, hom, box)


# --------------------------------------------------------------------------- the scene


def _draw_flat(
    table: np.ndarray, plan: Plan, style: Style, digits: list[int], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, dict]:
    """The soroban drawn flat over the bare table as the frame sees it: (drawing, its alpha mask,
    the marker cards' params, {} without markers)."""
    cw, ch = plan.canvas
    flat = cv2.warpPerspective(
        table,
        plan.hom,
        (cw, ch),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )
    mask = np.zeros((ch, cw), np.uint8)
    paper = tuple(int(v) for v in rng.integers(215, 256) - rng.integers(0, 20, 3))
    ink = int(rng.integers(0, 50))
    draw_abacus(flat, plan.layout, style, digits, (plan.origin, plan.origin), rng)
    paste(mask, plan.frame, 255)
    stick_cards(flat, mask, plan.cards, plan.marker.bit, paper, ink)
    if not plan.cards:
        return flat, mask, {}
    m = plan.marker
    card = {
        "side": m.side,
        "quiet_in": m.quiet_in,
        "quiet_out": m.quiet_out,
        "paper": list(paper),
        "ink": ink,
    }
    return flat, mask, card


def _shadow(scene: np.ndarray, mask: np.ndarray, plan: Plan, rng: np.random.Generator) -> dict:
    """Sometimes the soroban casts a soft shadow on the table; in place."""
    if rng.random() >= 0.6:
        return {}
    h, w = scene.shape[:2]
    offset = rng.uniform(-0.25, 0.25, 2) * plan.pitch_px
    depth = rng.uniform(0.15, 0.45)
    sigma = max(0.5, 0.15 * plan.pitch_px)
    moved = np.array([[1, 0, offset[0]], [0, 1, offset[1]], [0, 0, 1]]) @ plan.hom
    region = roi(plan.box, np.abs(offset).max() + 4 * sigma, (w, h))
    shade = warp_roi(mask, moved, region)
    ksize = 2 * round(2 * sigma) + 1
    shade = cv2.stackBlur(shade, (ksize, ksize))  # a Gaussian's look at any size, in constant time
    composite_roi(scene, np.zeros(shade.shape + (3,), np.uint8), (shade * depth).astype(np.uint8), region)
    return {"offset": [r4(offset[0]), r4(offset[1])], "depth": r4(depth)}


def compose_scene(scene: np.ndarray, flat: np.ndarray, mask: np.ndarray, plan: Plan, rng) -> dict:
    """Clutter on the table, the soroban's soft shadow, the soroban; in place. Returns how."""
    h, w = scene.shape[:2]
    edge = table_edge(scene, plan.box, rng)
    clutter = distractors(scene, rng)
    drop = _shadow(scene, mask, plan, rng)
    region = roi(plan.box, 2, (w, h))
    composite_roi(scene, warp_roi(flat, plan.hom, region), warp_roi(mask, plan.hom, region), region)
    return {"table_edge": edge, "clutter": clutter, "shadow": drop}


def scene_geometry(plan: Plan, columns: int) -> dict:
    """Where the frame, each column crop and each marker lie in the image."""
    to_image = plan.to_image
    width_pitches = SPEC["crop"]["width_pitches"]
    out = {
        "corners": points_json(apply_homography(to_image, plan.layout.corners())),
        "column_quads": [
            points_json(apply_homography(to_image, plan.layout.column_quad(i, width_pitches)))
            for i in range(columns)
        ],
    }
    if plan.cards:
        out["marker_corners"] = [points_json(apply_homography(plan.hom, square)) for square, _ in plan.cards]
    return out


def render_scene(
    number: int,
    columns: int,
    seed: int,
    markers: bool,
    size: tuple[int, int] = SIZE,
    variety: str = "classic",
) -> tuple[np.ndarray, dict]:
    """An RGB uint8 [H,W,3] photo of a soroban with `columns` rods showing `number`.

    Leading rods show 0. The same arguments always give the same bytes. `variety` "classic" is
    the distribution of every figure before issue 12 (byte for byte); "wide" is
    `wide_scene.render_wide_scene`. The truth dict:

    - number, digits (most significant first), columns, markers, size [w, h], seed;
    - corners: the frame's 4 outer corners in image pixels, clockwise from top-left;
    - column_quads: per rod, left to right, the quad of its column crop (centred on the rod,
      SPEC["crop"]["width_pitches"] pitches wide, the frame's full outer height);
    - marker_corners (only with markers): per id 0-3, the black square's 4 corners in the
      order ArucoDetector reports them (the marker's own top-left first, clockwise);
    - params: how the scene was made (view angles, layout, style, clutter, camera effects,
      and `homography`: flat frame coordinates (origin at the frame's outer top-left,
      lengths as in params.layout) -> image pixels);
    - variety, and conditions: the condition names evaluation breaks metrics down by
      (`conditions` module docstring).
    """
    if check_variety(variety) == "wide":
        from soroban_vision.render.wide_scene import render_wide_scene

        return render_wide_scene(number, columns, seed, markers, size)
    w, h = check_args(number, columns, size)
    digits = to_digits(number, columns)
    rng = np.random.default_rng([seed, number, columns, int(bool(markers)), w, h])
    unit = random_layout(rng, rods=columns, pitch=1.0)
    style = random_style(rng)
    view = random_view(rng)
    plan = plan_view(unit, view, random_marker_shape(rng, unit), markers, (w, h))

    # the table, seen through the frame too, and the soroban drawn over it
    scene = np.empty((h, w, 3), np.uint8)
    texture = style.background_texture or float(rng.uniform(0.0, 0.15))
    fill_background(scene, style.background, texture, rng)
    flat, mask, card = _draw_flat(scene, plan, style, digits, rng)
    how = compose_scene(scene, flat, mask, plan, rng)  # the flat drawing has taken what it needs of the table
    blur_scale = float(np.clip(plan.pitch_px / 50, 0.3, 0.8))
    rgb, photo = camera.photograph(scene, rng, blur_scale=blur_scale)

    truth = {"number": number, "digits": digits, "columns": columns, "markers": bool(markers)}
    truth |= {"size": [w, h], "seed": seed, **scene_geometry(plan, columns)}
    to_image = plan.to_image
    f_img = apply_homography(to_image, plan.layout.corners())
    truth["params"] = {
        "view": {
            **view.params(),
            "frame_width_fraction": r4(np.ptp(f_img[:, 0]) / w),
            "pitch_px": r4(plan.pitch_px),
        },
        "homography": [[float(f"{v:.8g}") for v in row] for row in to_image / to_image[2, 2]],
        "layout": {key: r4(v) for key, v in vars(plan.layout).items() if key != "rods"},
        "style": {key: (list(v) if isinstance(v, tuple) else v) for key, v in vars(style).items()},
        "marker": card,
        "scene": {"texture": r4(texture), **how},
        "camera": {"blur_scale": r4(blur_scale), **photo},
    }
    truth["variety"] = "classic"
    truth["conditions"] = classic_conditions(style, unit, plan.pitch_px, marker_side(truth))
    return rgb, truth


def marker_side(truth: dict) -> float | None:
    """The mean side of the markers' black squares in image pixels, or None without markers."""
    if "marker_corners" not in truth:
        return None
    squares = np.asarray(truth["marker_corners"], np.float64)
    return float(np.linalg.norm(squares - np.roll(squares, 1, axis=1), axis=2).mean())


# --------------------------------------------------------------------------- writing


def scene_seed(seed: int, index: int) -> int:
    """The seed of scene `index` of a set: independent streams for every (seed, index)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def _render_one(job: tuple[int, int, int, bool, tuple[int, int], str]) -> tuple[bytes, dict]:
    number, columns, seed, markers, size, variety = job
    rgb, truth = render_scene(number, columns, seed, markers, size, variety)
    ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return png.tobytes(), truth


def scene_numbers(seed: int, columns: int, count: int) -> list[int]:
    """The numbers of a set, uniform over what the rods can show (digit by digit past int64)."""
    rng = np.random.default_rng([seed, columns])
    if columns <= 18:
        return [int(n) for n in rng.integers(0, 10**columns, count)]
    return [int("".join(map(str, row))) for row in rng.integers(0, 10, (count, columns))]


def write_scenes(
    out: str | Path,
    count: int,
    columns: int,
    seed: int,
    markers: bool,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    size: tuple[int, int] = SIZE,
    variety: str = "classic",
) -> dict:
    """Render `count` scenes into `out/scene_{i:05d}.png` with `out/manifest.json`.

    Each scene shows a number drawn uniformly from 0 to 10**columns - 1. `out` must be
    missing or empty: rendering never overwrites a user's files. `variety` is "classic" (the
    published figures' distribution) or "wide" (hands, looks, light, lens: `conditions`).
    """
    try:
        check_variety(variety)
    except ValueError as e:
        raise DatasetError(f"--{e}") from None
    out = Path(out)
    if count < 1:
        raise DatasetError(f"--count must be at least 1, got {count}")
    if not isinstance(columns, int) or not 1 <= columns <= MAX_COLUMNS:
        raise DatasetError(f"--columns must be 1-{MAX_COLUMNS}, got {columns}")
    fresh_folder(out, error=DatasetError)
    numbers = scene_numbers(seed, columns, count)
    size = (int(size[0]), int(size[1]))
    jobs = [(n, columns, scene_seed(seed, i), bool(markers), size, variety) for i, n in enumerate(numbers)]
    items = []
    for i, (png, truth) in enumerate(map_in_order(_render_one, jobs, workers, max_chunk=16)):
        name = f"scene_{i:05d}.png"
        (out / name).write_bytes(png)
        items.append({"file": name, **truth})
        if progress:
            progress(1)
    manifest = {
        "format": FORMAT,
        "version": 1,
        "seed": seed,
        "columns": columns,
        "markers": bool(markers),
        "size": list(size),
        "variety": variety,
        "items": items,
    }
    write_json_atomic(out / MANIFEST, manifest)
    return manifest
