"""Blender side: the frame (four rails, the reckoning bar with its unit dots, an optional back
board), the rods, and the marker cards stuck on the frame's top corners.

The soroban dict (`design.soroban_design`) holds the flat layout (lengths along the frame, as in
the 2D renderer) and the heights: the rods at z_rod, the frame's top face at z_top, above the
beads' tops, so a tilted camera sees the beads shift against the top face and its markers.
"""

from __future__ import annotations

import math

import bmesh
import bpy

from .materials import image_material, material


def link(obj: bpy.types.Object) -> bpy.types.Object:
    bpy.context.scene.collection.objects.link(obj)
    return obj


def box(name: str, centre, size, mat, along_y: bool = False, bevel: float = 0.0) -> bpy.types.Object:
    """A box of `size` (length, width, height) long along x, or along y (turned, so that the wood
    grain of its material, which runs along local x, follows the length)."""
    mesh = bpy.data.meshes.new(name)
    bm = bmesh.new()
    bmesh.ops.create_cube(bm, size=1.0)
    for v in bm.verts:
        v.co.x *= size[0]
        v.co.y *= size[1]
        v.co.z *= size[2]
    bm.to_mesh(mesh)
    bm.free()
    mesh.materials.append(mat)
    obj = link(bpy.data.objects.new(name, mesh))
    obj.location = centre
    if along_y:
        obj.rotation_euler = (0.0, 0.0, math.pi / 2)
    if bevel > 0:
        mod = obj.modifiers.new("bevel", "BEVEL")
        mod.width = bevel
        mod.segments = 2
    return obj


def _cylinder(name: str, radius: float, depth: float, location, rotation, mat) -> bpy.types.Object:
    mesh = bpy.data.meshes.new(name)
    bm = bmesh.new()
    bmesh.ops.create_cone(bm, cap_ends=True, segments=16, radius1=radius, radius2=radius, depth=depth)
    for f in bm.faces:
        f.smooth = True
    bm.to_mesh(mesh)
    bm.free()
    mesh.materials.append(mat)
    obj = link(bpy.data.objects.new(name, mesh))
    obj.location = location
    obj.rotation_euler = rotation
    return obj


def rod_x(s: dict, i: int) -> float:
    """Rod i's x in world coordinates."""
    return s["side"] + (i + 0.5) * s["pitch"] - s["width"] / 2


def world_y(s: dict, yf: float) -> float:
    """A flat y (down from the frame's outer top edge) in world coordinates."""
    return s["height"] / 2 - yf


def build_frame(s: dict, looks: dict) -> list[bpy.types.Object]:
    """The rails, bar, dots, back board and rods of soroban `s`."""
    w, h, top = s["width"], s["height"], s["z_top"]
    bevel = s.get("bevel", 0.0)
    frame_mat = material("frame", looks["frame"])
    parts = []
    for name, yf in (("rail_top", s["rail"] / 2), ("rail_bottom", h - s["rail"] / 2)):
        parts.append(box(name, (0, world_y(s, yf), top / 2), (w, s["rail"], top), frame_mat, bevel=bevel))
    inner = h - 2 * s["rail"]
    for name, x in (("side_left", (s["side"] - w) / 2), ("side_right", (w - s["side"]) / 2)):
        size = (inner + 0.0002, s["side"], top)
        parts.append(box(name, (x, 0, top / 2), size, frame_mat, along_y=True, bevel=bevel))
    z0, z1 = s["bar_z"]
    bar_y = world_y(s, s["rail"] + s["heaven_zone"] + s["bar"] / 2)
    bar_w = w - 2 * s["side"] + 0.0002
    parts.append(
        box("bar", (0, bar_y, (z0 + z1) / 2), (bar_w, s["bar"], z1 - z0), material("bar", looks["bar"]))
    )
    if s.get("dots"):
        dot_mat = material("dot", looks["dot"])
        for i in range(s["rods"]):
            if (s["rods"] - 1 - i) % 3 == 0 and i != s["rods"] - 1:
                radius = 0.28 * s["bar"]
                parts.append(
                    _cylinder(f"dot_{i}", radius, 0.0004, (rod_x(s, i), bar_y, z1), (0, 0, 0), dot_mat)
                )
    if s.get("back") == "panel":
        board = (w - 2 * s["side"] + 0.0002, inner + 0.0002, 0.003)
        parts.append(box("back", (0, 0, 0.0015), board, material("back", looks["back"])))
    rod_mat = material("rod", looks["rod"])
    for i in range(s["rods"]):
        rod = _cylinder(
            f"rod_{i}",
            s["rod_r"],
            inner + s["rail"],
            (rod_x(s, i), 0, s["z_rod"]),
            (math.pi / 2, 0, 0),
            rod_mat,
        )
        parts.append(rod)
    return parts


CARD_THICKNESS = 0.0003  # a printed card, metres
INK_LIFT = 0.00002  # the printed square, just above the card


def marker_squares(s: dict, m: dict) -> list[list[tuple[float, float, float]]]:
    """Per marker id 0-3: its black square's corners in world coordinates, in the order ArUco
    reports them (the marker's own top-left first, clockwise, the marker upright like the
    soroban). The square's corner nearest the frame is the frame's outer top corner."""
    w, h = s["width"], s["height"]
    z = s["z_top"] + CARD_THICKNESS + INK_LIFT
    side = m["side"]
    out = []
    for (cx, cy), (sx, sy) in zip(
        ((-w / 2, h / 2), (w / 2, h / 2), (w / 2, -h / 2), (-w / 2, -h / 2)),
        ((-1, 1), (1, 1), (1, -1), (-1, -1)),
        strict=True,
    ):
        x0, x1 = sorted((cx, cx + sx * side))
        y0, y1 = sorted((cy, cy + sy * side))
        out.append([(x0, y1, z), (x1, y1, z), (x1, y0, z), (x0, y0, z)])
    return out


def _quad(name: str, corners, mat) -> bpy.types.Object:
    """A flat quad through 4 corners (top-left first, clockwise seen from above), UV mapped 0-1."""
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([tuple(c) for c in corners], [], [(0, 3, 2, 1)])
    uv = mesh.uv_layers.new()
    for loop, (u, v) in zip(mesh.loops, ((0, 1), (0, 0), (1, 0), (1, 1)), strict=True):
        uv.data[loop.index].uv = (u, v)
    mesh.materials.append(mat)
    return link(bpy.data.objects.new(name, mesh))


def build_markers(s: dict, m: dict, looks: dict) -> list[bpy.types.Object]:
    """Four white cards on the frame's corners, each printed with its marker (quiet zone all
    round: narrow towards the frame, wide away from it)."""
    paper = material("paper", looks["paper"])
    parts = []
    for marker_id, square in enumerate(marker_squares(s, m)):
        xs = [p[0] for p in square]
        ys = [p[1] for p in square]
        sx = 1 if marker_id in (1, 2) else -1  # away from the frame, along x
        sy = 1 if marker_id in (0, 1) else -1
        grow = {1: m["quiet_out"], -1: m["quiet_in"]}
        x0, x1 = min(xs) - grow[-sx], max(xs) + grow[sx]
        y0, y1 = min(ys) - grow[-sy], max(ys) + grow[sy]
        centre = ((x0 + x1) / 2, (y0 + y1) / 2, s["z_top"] + CARD_THICKNESS / 2)
        parts.append(box(f"card_{marker_id}", centre, (x1 - x0, y1 - y0, CARD_THICKNESS), paper))
        ink, white = looks["ink"]["colour"], looks["paper"]["colour"]
        pixels = [[white if bit else ink for bit in row] for row in m["bits"][marker_id]]
        parts.append(_quad(f"marker_{marker_id}", square, image_material(f"marker_{marker_id}", pixels)))
    return parts
