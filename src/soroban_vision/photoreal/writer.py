"""Project side: `render-3d`. Plan every scene (`plan_scene`), render them in Blender
(`blender.run_jobs`), then write `scene_{i:05d}.png` and a `manifest.json` in the format of
`render-scenes`, so that `evaluate-scenes` reads a 3D set unchanged.

The frame's corners of a 3D scene are the outer corners of the frame's TOP FACE: that is where the
markers' inner corners are (the rule of render/marker_cards.py and abacus/markers.py), and the
quad a reader rectifies. The beads sit below that face, so under a tilted camera they shift
against it (parallax), as on a real soroban; the column quads lie on the same plane.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from soroban_vision.beads import to_digits
from soroban_vision.data import MANIFEST, write_json_atomic
from soroban_vision.errors import DatasetError
from soroban_vision.folders import fresh_folder
from soroban_vision.photoreal import SAMPLES, SIZE
from soroban_vision.photoreal.blender import require_blender, run_jobs, write_job
from soroban_vision.photoreal.design import soroban_design
from soroban_vision.photoreal.hand_pose import hand_design
from soroban_vision.photoreal.shot import clutter, depth_of_field, lighting, solve_camera, table
from soroban_vision.preprocess import SPEC
from soroban_vision.render.conditions import COVERED_SHARE, scale_bucket
from soroban_vision.render.scene import FORMAT, MAX_COLUMNS, scene_numbers, scene_seed

VARIETY = "photoreal"
HAND_SHARE = 0.5  # of scenes with a hand
BATCH = 10  # scenes rendered between two writes of the manifest: what a stopped run can lose


def plan_scene(index: int, number: int, columns: int, seed: int, markers: bool, size) -> dict:
    """Everything random about one scene, as plain data: the same arguments, the same plan."""
    # one stream per part: a change to how the light is drawn leaves the soroban and the hand alone
    streams = np.random.SeedSequence([seed, number, columns, int(markers), *size]).spawn(5)
    soroban_rng, camera_rng, light_rng, hand_rng, table_rng = (np.random.default_rng(s) for s in streams)
    digits = to_digits(number, columns)
    plan = soroban_design(soroban_rng, digits, markers)
    s = plan["soroban"]
    camera = solve_camera(camera_rng, s, plan["markers"], size)
    lens = depth_of_field(camera_rng, camera, s)
    light = lighting(light_rng, s, camera, plan["looks"])
    hand = hand_design(hand_rng, s) if hand_rng.random() < HAND_SHARE else None
    return {
        "index": index,
        "file": f"scene_{index:05d}.png",
        "seed": seed,
        "number": number,
        "digits": digits,
        **plan,
        "camera": camera,
        "lights": light["lights"],
        "world": light["world"],
        "exposure": light["exposure"],
        "sensor": light["sensor"],
        "table": table(table_rng, plan["looks"]["bead"]["colour"]),
        "clutter": clutter(table_rng, s, plan["markers"]),
        "hand": hand,
        "names": plan["names"] | {"light": light["name"], "camera": lens},
    }


def _covered(hidden: list[list[float]]) -> list[int]:
    """The rods whose heaven or earth lane the hand hides by more than COVERED_SHARE."""
    return [i for i, lanes in enumerate(hidden) if max(lanes) > COVERED_SHARE]


def _marker_px(squares: list | None) -> float | None:
    if not squares:
        return None
    sq = np.asarray(squares, np.float64)
    return round(float(np.linalg.norm(np.roll(sq, -1, axis=1) - sq, axis=2).mean()), 2)


def _item(plan: dict, labels: dict, columns: int, markers: bool, size) -> dict:
    """One manifest item: render-scenes' truth keys, the conditions, and how the scene was made."""
    hand = plan["hand"]
    conditions = {
        "hand": "resting" if hand else "none",
        "hand_rods": _covered(labels["hidden"]) if hand else [],
        "scale": scale_bucket(labels["pitch_px"]),
        "pitch_px": labels["pitch_px"],
        "marker_px": _marker_px(labels.get("marker_corners")),
        **plan["names"],
        "renderer": "blender",
    }
    item = {"file": plan["file"], "number": plan["number"], "digits": plan["digits"], "columns": columns}
    item |= {"markers": markers, "size": list(size), "seed": plan["seed"]}
    item |= {k: labels[k] for k in ("corners", "column_quads", "marker_corners") if k in labels}
    item |= {"variety": VARIETY, "conditions": conditions}
    cam = plan["camera"]
    item["params"] = {
        "camera": {k: cam[k] for k in ("tilt_deg", "focal_mm", "fstop", "focus_m") if k in cam},
        "hand": {"pose": hand["pose"], "from": hand["from"], "hidden_lanes": labels["hidden"]}
        if hand
        else {},
        "exposure": plan["exposure"],
        "sensor": plan["sensor"],
        "seconds": labels["seconds"],
    }
    return item


def _photograph(path: Path, sensor: dict, seed: int) -> None:
    """What the phone adds that a path tracer with a denoiser does not: darker corners (vignetting),
    sensor noise, JPEG compression. The PNG keeps the result."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR).astype(np.float32)
    h, w = bgr.shape[:2]
    y, x = np.mgrid[0:h, 0:w]
    r2 = ((x - w / 2) ** 2 + (y - h / 2) ** 2) / ((w / 2) ** 2 + (h / 2) ** 2)
    bgr *= (1 - sensor["vignette"] * r2)[..., None]
    bgr += np.random.default_rng(seed).normal(0, sensor["noise"], bgr.shape).astype(np.float32)
    ok, jpeg = cv2.imencode(
        ".jpg", np.clip(np.rint(bgr), 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, sensor["jpeg"]]
    )
    cv2.imwrite(str(path), cv2.imdecode(jpeg, cv2.IMREAD_COLOR))


def write_scenes_3d(
    out: str | Path,
    count: int,
    columns: int,
    seed: int,
    markers: bool,
    samples: int = SAMPLES,
    size: tuple[int, int] = SIZE,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    resume: bool = False,
) -> dict:
    """Render `count` photoreal scenes into `out` (missing or empty) with a render-scenes manifest.

    Each scene shows a number drawn uniformly from 0 to 10**columns - 1. `workers` Blender
    processes share the scenes (and the cores). The manifest is rewritten after every BATCH
    scenes, so with `resume` a set that was stopped, or a smaller set of the same seed and
    settings, is completed: the scenes its manifest holds are kept, the others rendered.
    """
    out = Path(out)
    if count < 1:
        raise DatasetError(f"--count must be at least 1, got {count}")
    if not isinstance(columns, int) or not 1 <= columns <= MAX_COLUMNS:
        raise DatasetError(f"--columns must be 1-{MAX_COLUMNS}, got {columns}")
    if samples < 1:
        raise DatasetError(f"--samples must be at least 1, got {samples}")
    size = (int(size[0]), int(size[1]))
    if min(size) < 64:
        raise DatasetError(f"a scene is at least 64x64 pixels, got {size[0]}x{size[1]}")
    require_blender()
    manifest = _header(seed, columns, markers, samples, size)
    done = _resumed(out, manifest, count) if resume else {}
    leftover = resume and out.is_dir() and all(_ours(f) for f in out.iterdir())
    if not done and not leftover:
        fresh_folder(out, error=DatasetError)
    numbers = scene_numbers(seed, columns, count)
    plans = [
        plan_scene(i, int(n), columns, scene_seed(seed, i), bool(markers), size)
        for i, n in enumerate(numbers)
        if i not in done
    ]
    manifest["items"] = [done[i] for i in sorted(done)]
    if progress and done:
        progress(len(done))
    threads = max(1, len(os.sched_getaffinity(0)) // workers) if workers > 1 else 0
    settings = {"samples": samples, "size": list(size), "threads": threads}
    settings["width_pitches"] = SPEC["crop"]["width_pitches"]
    for start in range(0, len(plans), BATCH):
        batch = plans[start : start + BATCH]
        with tempfile.TemporaryDirectory(prefix="render-3d-") as tmp:
            work = Path(tmp)
            jobs = [
                write_job(work / f"job{k}.json", out, settings, batch[k::workers])
                for k in range(min(workers, len(batch)))
            ]
            run_jobs(jobs, progress)
            labels = [_read_labels(work, p["index"]) for p in batch]
        for plan, label in zip(batch, labels, strict=True):
            _photograph(out / plan["file"], plan["sensor"], plan["seed"])
            done[plan["index"]] = _item(plan, label, columns, bool(markers), size)
        manifest["items"] = [done[i] for i in sorted(done)]
        write_json_atomic(out / MANIFEST, manifest)
    return manifest


def kept_scenes(
    out: str | Path, count: int, columns: int, seed: int, markers: bool, samples: int, size
) -> int:
    """How many of `count` scenes `write_scenes_3d(..., resume=True)` would keep from `out`."""
    header = _header(seed, columns, markers, samples, (int(size[0]), int(size[1])))
    return len(_resumed(Path(out), header, count))


def _header(seed: int, columns: int, markers: bool, samples: int, size: tuple[int, int]) -> dict:
    """A set's manifest without its scenes: what two runs must share to be one set."""
    return {
        "format": FORMAT,
        "version": 1,
        "seed": seed,
        "columns": columns,
        "markers": bool(markers),
        "size": list(size),
        "variety": VARIETY,
        "renderer": "blender",
        "samples": samples,
        "items": [],
    }


def _ours(path: Path) -> bool:
    """A file a stopped render-3d leaves behind: its scenes, or its manifest being written."""
    return path.is_file() and (path.name.startswith("scene_") or path.name.startswith(MANIFEST))


def _resumed(out: Path, manifest: dict, count: int) -> dict[int, dict]:
    """The scenes of `out`'s manifest to keep, by index: {} when there is none. A manifest of
    other settings is a DatasetError: resuming it would mix two sets."""
    path = out / MANIFEST
    if not path.is_file():
        return {}
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DatasetError(f"cannot resume {out}: its {MANIFEST} is unreadable ({e})") from None
    differ = [k for k, v in manifest.items() if k != "items" and old.get(k) != v]
    if differ:
        raise DatasetError(f"cannot resume {out}: its scenes were made with another {', '.join(differ)}")
    kept = {}
    for item in old.get("items", []):
        index = int(item["file"][len("scene_") : -len(".png")])
        if index < count and (out / item["file"]).is_file():
            kept[index] = item
    return kept


def _read_labels(work: Path, index: int) -> dict:
    return json.loads((work / f"{index:05d}.json").read_text())
