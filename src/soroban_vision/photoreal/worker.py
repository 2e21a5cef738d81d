"""Blender side: the process that renders. `main(job)` reads a job file written by `blender.py`
(the render settings and one design per scene), and for each scene builds it from an empty
Blender, renders it with Cycles to its PNG, measures its labels and writes them next to the job.
One line `photoreal-done <index>` on stdout per scene tells the project's side how far it got;
everything else Blender prints is noise to it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import bpy

from .beads import build_beads
from .camera import build_camera
from .frame import build_frame, build_markers
from .hands import build_hand
from .labels import geometry, hidden_lanes
from .stage import build_clutter, build_lights, build_table, build_world

DONE = "photoreal-done"


def _settings(scene, settings: dict, design: dict) -> None:
    """Cycles on the CPU with few samples and the OpenImageDenoise denoiser: the settings that keep
    a photo's look (soft shadows, glossy highlights, depth of field) at a few seconds a frame."""
    scene.render.engine = "CYCLES"
    c = scene.cycles
    c.device = "CPU"
    c.samples = settings["samples"]
    c.use_adaptive_sampling = True
    c.adaptive_threshold = 0.05
    c.use_denoising = settings["samples"] > 1
    c.denoiser = "OPENIMAGEDENOISE"
    c.denoising_input_passes = "RGB_ALBEDO_NORMAL"
    c.denoising_prefilter = "FAST"  # ACCURATE costs about half the frame again on the CPU
    c.max_bounces, c.diffuse_bounces, c.glossy_bounces = 6, 2, 2
    c.transmission_bounces, c.transparent_max_bounces = 6, 4
    c.caustics_reflective = c.caustics_refractive = False
    c.seed = design["seed"] % (2**31)
    r = scene.render
    r.resolution_x, r.resolution_y = settings["size"]
    r.resolution_percentage = 100
    r.threads_mode = "FIXED" if settings.get("threads") else "AUTO"
    if settings.get("threads"):
        r.threads = settings["threads"]
    r.image_settings.file_format = "PNG"
    r.image_settings.color_mode = "RGB"
    r.image_settings.color_depth = "8"
    scene.view_settings.view_transform = "AgX"
    scene.view_settings.look = "AgX - Medium High Contrast"  # a phone photo's contrast
    scene.view_settings.exposure = design["exposure"]


def render_one(design: dict, settings: dict, out: Path) -> dict:
    """Build one scene from nothing, render it to out/design["file"], return its labels."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    t0 = time.perf_counter()
    _settings(scene, settings, design)
    s, looks = design["soroban"], design["looks"]
    build_table(design["table"])
    build_clutter(design["clutter"])
    build_frame(s, looks)
    build_beads(s, looks)
    if design["markers"]:
        build_markers(s, design["markers"], looks)
    if design["hand"]:
        build_hand(design["hand"])
    build_world(design["world"])
    build_lights(design["lights"])
    camera = build_camera(design["camera"])
    bpy.context.view_layer.update()
    labels = geometry(scene, camera, s, design["markers"], settings["width_pitches"])
    labels["hidden"] = hidden_lanes(scene, camera, s) if design["hand"] else []
    t1 = time.perf_counter()
    scene.render.filepath = str(out / design["file"])
    bpy.ops.render.render(write_still=True)
    labels["seconds"] = {"build": round(t1 - t0, 3), "render": round(time.perf_counter() - t1, 3)}
    return labels


def main(job_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    out = Path(job["out"])
    for design in job["scenes"]:
        labels = render_one(design, job["settings"], out)
        (Path(job_path).parent / f"{design['index']:05d}.json").write_text(json.dumps(labels))
        print(f"{DONE} {design['index']}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
