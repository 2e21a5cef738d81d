"""Blender side: the camera, placed exactly where the design put it (a pinhole: position, a
rotation whose columns are the camera's right, up and backward axes, a focal length on a 36 mm
wide sensor), with depth of field when the design gives an f-number."""

from __future__ import annotations

import bpy
from mathutils import Matrix, Vector

from .frame import link

SENSOR_MM = 36.0


def build_camera(spec: dict) -> bpy.types.Object:
    cam = bpy.data.cameras.new("camera")
    cam.sensor_fit = "HORIZONTAL"
    cam.sensor_width = SENSOR_MM
    cam.lens = spec["focal_mm"]
    cam.clip_start = 0.01
    cam.clip_end = 20.0
    if spec.get("fstop"):
        cam.dof.use_dof = True
        cam.dof.aperture_fstop = spec["fstop"]
        cam.dof.focus_distance = spec["focus_m"]
    obj = link(bpy.data.objects.new("camera", cam))
    rotation = Matrix(spec["axes"])  # rows of a matrix whose columns are right, up, backward
    obj.matrix_world = Matrix.Translation(Vector(spec["at"])) @ rotation.to_4x4()
    bpy.context.scene.camera = obj
    return obj
