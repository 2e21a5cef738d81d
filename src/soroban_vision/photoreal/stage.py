"""Blender side: what the soroban sits in. The table, a few things lying on it, the room's
ambient light (the world) and the lamps: area lights (soft shadows) and point lights (a bulb;
a small radius keeps its shadows and highlights sharp)."""

from __future__ import annotations

import bmesh
import bpy
from mathutils import Vector

from .frame import box, link
from .materials import linear, material


def build_table(table: dict) -> bpy.types.Object:
    mesh = bpy.data.meshes.new("table")
    bm = bmesh.new()
    bmesh.ops.create_grid(bm, x_segments=1, y_segments=1, size=table["size"] / 2)
    bm.to_mesh(mesh)
    bm.free()
    mesh.materials.append(material("table", table["look"]))
    obj = link(bpy.data.objects.new("table", mesh))
    obj.rotation_euler = (0.0, 0.0, table["turn"])  # the grain at any angle to the soroban
    return obj


def build_clutter(things: list[dict]) -> list[bpy.types.Object]:
    """Books, cards, erasers (boxes) and pens (long thin boxes) on the table, off the soroban."""
    out = []
    for k, thing in enumerate(things):
        size = thing["size"]
        obj = box(
            f"thing_{k}",
            (*thing["at"], size[2] / 2),
            size,
            material(f"thing_{k}", thing["look"]),
            bevel=0.0008,
        )
        obj.rotation_euler = (0.0, 0.0, thing["turn"])
        out.append(obj)
    return out


def build_world(world: dict) -> None:
    w = bpy.data.worlds.new("room")
    w.use_nodes = True
    background = w.node_tree.nodes["Background"]
    background.inputs["Color"].default_value = linear(world["colour"])
    background.inputs["Strength"].default_value = world["strength"]
    bpy.context.scene.world = w


def build_lights(lights: list[dict]) -> list[bpy.types.Object]:
    out = []
    for k, spec in enumerate(lights):
        light = bpy.data.lights.new(f"light_{k}", spec["kind"])
        light.energy = spec["power"]
        light.color = linear(spec["colour"])[:3]
        if spec["kind"] == "AREA":
            light.shape = "DISK"
            light.size = spec["size"]
        else:
            light.shadow_soft_size = spec["size"]
        obj = link(bpy.data.objects.new(f"light_{k}", light))
        obj.visible_camera = False  # a lamp hanging in the picture would hide what is behind it
        obj.location = spec["at"]
        aim = Vector(spec["target"]) - Vector(spec["at"])
        obj.rotation_euler = aim.to_track_quat("-Z", "Y").to_euler()
        out.append(obj)
    return out
