"""Blender side: a simple 3D hand as metaballs, so that finger segments melt into each other at the
joints as skin does. Each family (a finger, or the palm with thumb and wrist) is its own metaball
object: families do not melt together, so neighbouring fingers stay apart.

A part is a capsule {"kind": "capsule", "a", "b", "r"} (the segment a-b thickened by r) or an
ellipsoid {"kind": "ellipsoid", "at", "radii", "axes"} (axes: rows are its local x, y, z), all in
metres: the surface the design asked for, not the metaball's field radius.
"""

from __future__ import annotations

import bpy
from mathutils import Matrix, Vector

from .frame import link
from .materials import material

# A metaball's surface lies where its field, stiffness * (1 - d^2 / R^2)^3, falls to the
# threshold: with stiffness 2 and threshold 0.6 that is at d = 0.575 R.
SURFACE = 0.575
THRESHOLD = 0.6
RESOLUTION_M = 0.0012  # the polygon size of the rendered surface


def _capsule(ball, part: dict) -> None:
    a, b = Vector(part["a"]), Vector(part["b"])
    e = ball.elements.new(type="CAPSULE")
    e.co = (a + b) / 2
    e.radius = part["r"] / SURFACE
    e.size_x = max((b - a).length / 2, 1e-5)
    e.rotation = Vector((1, 0, 0)).rotation_difference(b - a)
    e.stiffness = 2.0


def _ellipsoid(ball, part: dict) -> None:
    radii = part["radii"]
    big = max(radii)
    e = ball.elements.new(type="ELLIPSOID")
    e.co = Vector(part["at"])
    e.radius = big / SURFACE
    e.size_x, e.size_y, e.size_z = (r / big for r in radii)
    e.rotation = Matrix(part["axes"]).transposed().to_quaternion()
    e.stiffness = 2.0


def build_hand(hand: dict) -> list[bpy.types.Object]:
    skin = material("skin", hand["skin"])
    out = []
    for family in hand["families"]:
        ball = bpy.data.metaballs.new(f"hand_{family['name']}")
        ball.threshold = THRESHOLD
        ball.resolution = RESOLUTION_M * 4
        ball.render_resolution = RESOLUTION_M
        for part in family["parts"]:
            (_capsule if part["kind"] == "capsule" else _ellipsoid)(ball, part)
        ball.materials.append(skin)
        out.append(link(bpy.data.objects.new(f"hand_{family['name']}", ball)))
    return out
