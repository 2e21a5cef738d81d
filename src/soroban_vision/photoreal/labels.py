"""Blender side: the ground truth, measured on the built 3D scene through the camera that renders it.

- Points are projected by Blender's own camera model (`world_to_camera_view`) into image pixels
  in OpenCV's convention (the centre of the top-left pixel is (0, 0)): the frame's corners (the
  outer corners of its top face, where the markers' inner corners are), each rod's column quad on
  that top face, each marker's square, one rod pitch at the frame's centre.
- What the hand hides is found by casting rays from the camera at points spread over each rod's
  two bead lanes (heaven: from the top rail to the bar; earth: from the bar to the bottom rail;
  one bead wide), at the height of the beads' upper surface. A point is hidden when the first
  thing the ray meets is part of the hand. The share of hidden points per lane is returned; the
  project's side applies the covering rule to it.
"""

from __future__ import annotations

import math

import bpy
from bpy_extras.object_utils import world_to_camera_view
from mathutils import Vector

from .frame import marker_squares, rod_x, world_y

LANE_COLUMNS = 5  # sample points across a lane
LANE_ROWS = 12  # and along it


def project(scene, camera, point) -> list[float]:
    u, v, _ = world_to_camera_view(scene, camera, Vector(point))
    w, h = scene.render.resolution_x, scene.render.resolution_y
    return [round(u * w - 0.5, 3), round((1 - v) * h - 0.5, 3)]


def _top_quad(s: dict, x0: float, x1: float) -> list[tuple[float, float, float]]:
    """A quad on the top face's plane, from x0 to x1, the frame's full height; clockwise from
    the top-left as seen on the upright soroban."""
    h, z = s["height"] / 2, s["z_top"]
    return [(x0, h, z), (x1, h, z), (x1, -h, z), (x0, -h, z)]


def geometry(scene, camera, s: dict, markers: dict | None, width_pitches: float) -> dict:
    out = {"corners": [project(scene, camera, p) for p in _top_quad(s, -s["width"] / 2, s["width"] / 2)]}
    half = width_pitches * s["pitch"] / 2
    out["column_quads"] = [
        [project(scene, camera, p) for p in _top_quad(s, rod_x(s, i) - half, rod_x(s, i) + half)]
        for i in range(s["rods"])
    ]
    if markers:
        out["marker_corners"] = [[project(scene, camera, p) for p in sq] for sq in marker_squares(s, markers)]
    a = project(scene, camera, (-s["pitch"] / 2, 0, s["z_top"]))
    b = project(scene, camera, (s["pitch"] / 2, 0, s["z_top"]))
    out["pitch_px"] = round(math.dist(a, b), 3)
    return out


def _lane_points(s: dict, i: int, y0: float, y1: float):
    """Points over one lane of rod i, between flat ys y0 and y1, on the beads' upper surface."""
    radius = s["bead_w"] / 2
    for c in range(LANE_COLUMNS):
        dx = (c + 0.5) / LANE_COLUMNS * 2 * radius - radius
        z = s["z_rod"] + math.sqrt(max(0.0, radius**2 - dx**2))
        for r in range(LANE_ROWS):
            yf = y0 + (r + 0.5) / LANE_ROWS * (y1 - y0)
            yield Vector((rod_x(s, i) + dx, world_y(s, yf), z))


def _hidden_share(scene, depsgraph, eye: Vector, points) -> float:
    hidden = total = 0
    for p in points:
        total += 1
        ray = p - eye
        hit, _, _, _, obj, _ = scene.ray_cast(depsgraph, eye, ray.normalized(), distance=ray.length - 1e-5)
        hidden += bool(hit and obj is not None and obj.name.startswith("hand_"))
    return hidden / total


def hidden_lanes(scene, camera, s: dict) -> list[list[float]]:
    """Per rod, the share of its heaven lane and of its earth lane that the hand hides."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    eye = camera.matrix_world.translation.copy()
    bar_top = s["rail"] + s["heaven_zone"]
    lanes = ((s["rail"], bar_top), (bar_top + s["bar"], s["height"] - s["rail"]))
    return [
        [round(_hidden_share(scene, depsgraph, eye, _lane_points(s, i, y0, y1)), 3) for y0, y1 in lanes]
        for i in range(s["rods"])
    ]
