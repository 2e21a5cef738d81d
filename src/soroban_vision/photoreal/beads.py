"""Blender side: the beads, one mesh shared by all of a soroban's beads.

A bead is turned on a lathe around the rod: its radius along the rod's axis t (from -thickness/2
to +thickness/2) is r(t) = hole + (R - hole) * (1 - |2t / thickness|^e)^(1/e). An edge exponent e
near 1 is a sharp bicone (two cones base to base), 2 and above a rounded bead. The bead's axis is
the rod, along y.
"""

from __future__ import annotations

import itertools
import math

import bmesh
import bpy

from .frame import link, rod_x, world_y
from .materials import material

AROUND = 36  # vertices around the rod
ALONG = 14  # rings from one end of the bead to the other


def _profile(radius: float, thickness: float, hole: float, edge: float) -> list[tuple[float, float]]:
    """(t, r) from one end to the other; rings crowd towards the rim, where the outline turns."""
    out = []
    for k in range(ALONG + 1):
        u = -1 + 2 * k / ALONG
        u = math.copysign(abs(u) ** 0.8, u)  # denser near the rim (u = 0)
        r = hole + (radius - hole) * max(0.0, 1 - abs(u) ** edge) ** (1 / edge)
        out.append((u * thickness / 2, r))
    return out


def bead_mesh(name: str, radius: float, thickness: float, hole: float, edge: float) -> bpy.types.Mesh:
    bm = bmesh.new()
    rings = []
    for t, r in _profile(radius, thickness, hole, edge):
        ring = [
            bm.verts.new((r * math.cos(2 * math.pi * j / AROUND), t, r * math.sin(2 * math.pi * j / AROUND)))
            for j in range(AROUND)
        ]
        rings.append(ring)
    for a, b in itertools.pairwise(rings):
        for j in range(AROUND):
            face = bm.faces.new((a[j], a[(j + 1) % AROUND], b[(j + 1) % AROUND], b[j]))
            face.smooth = True
    for ring in (rings[0], rings[-1]):  # the flat ends around the hole
        bm.faces.new(ring if ring is rings[-1] else list(reversed(ring)))
    bmesh.ops.recalc_face_normals(bm, faces=bm.faces)
    mesh = bpy.data.meshes.new(name)
    bm.to_mesh(mesh)
    bm.free()
    return mesh


def build_beads(s: dict, looks: dict) -> list[bpy.types.Object]:
    """Every bead of soroban `s` where the design put it: s["beads"][rod] holds the flat y of
    the heaven bead then the four earth beads."""
    mesh = bead_mesh("bead", s["bead_w"] / 2, s["bead_h"], s["rod_r"] * 1.6, s["bead_round"])
    mesh.materials.append(material("bead", looks["bead"]))
    beads = []
    for i, ys in enumerate(s["beads"]):
        for k, yf in enumerate(ys):
            obj = link(bpy.data.objects.new(f"bead_{i}_{k}", mesh))
            obj.location = (rod_x(s, i), world_y(s, yf), s["z_rod"])
            obj.rotation_euler = (0.0, s["spin"][i][k], 0.0)  # grain and facets not all lined up
            beads.append(obj)
    return beads
