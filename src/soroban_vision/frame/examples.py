"""Training examples for the frame model, made from `render-scenes` folders: each scene's model
input (`frame.input`) as an 8-bit PNG with its normalized corners, whole and cropped, and
negatives, images with no whole soroban in them (a table with clutter and no soroban, a crop
that cuts the frame or misses it).

Written to OUT/{pos,neg}/*.png + OUT/examples.json; `frame.pipeline` streams them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from soroban_vision.abacus.photo import MIN_SIDE
from soroban_vision.data import map_in_order, write_json_atomic
from soroban_vision.errors import DatasetError
from soroban_vision.folders import fresh_folder
from soroban_vision.frame.input import frame_input, to_normalized
from soroban_vision.preprocess import to_gray

FORMAT = "soroban-vision/frame-examples"
FILENAME = "examples.json"
MIN_CROP = MIN_SIDE  # the reader's smallest photo side
MARGIN = 3  # pixels: a crop keeps the frame at least this far inside to count as showing it
CUT = 0.08  # of the frame's width: a corner this far outside a crop makes it a negative


def _encode(x: np.ndarray) -> bytes:
    u8 = np.clip(np.rint(x[..., 0] * 255.0), 0, 255).astype(np.uint8)
    return cv2.imencode(".png", u8)[1].tobytes()


def _example(gray: np.ndarray, corners: np.ndarray | None, how: str) -> tuple[bytes, dict]:
    h, w = gray.shape
    norm = None if corners is None else to_normalized(corners, w, h).round(5).tolist()
    return _encode(frame_input(gray)), {"frame": corners is not None, "corners": norm, "how": how}


def _crop_around(rng, corners: np.ndarray, w: int, h: int) -> tuple[int, int, int, int] | None:
    """A crop (x0, y0, x1, y1) of random size and aspect that keeps the whole frame inside."""
    (bx0, by0), (bx1, by1) = corners.min(axis=0), corners.max(axis=0)
    need_w, need_h = bx1 - bx0 + 2 * MARGIN + 2, by1 - by0 + 2 * MARGIN + 2
    cw = int(rng.uniform(max(need_w, MIN_CROP), w + 1))
    ch = int(np.clip(cw / rng.uniform(0.9, 2.2), max(need_h, MIN_CROP), h))
    lo_x, hi_x = int(np.ceil(bx1 + MARGIN + 1 - cw)), int(np.floor(bx0 - MARGIN))
    lo_y, hi_y = int(np.ceil(by1 + MARGIN + 1 - ch)), int(np.floor(by0 - MARGIN))
    lo_x, hi_x, lo_y, hi_y = max(lo_x, 0), min(hi_x, w - cw), max(lo_y, 0), min(hi_y, h - ch)
    if cw > w or lo_x > hi_x or lo_y > hi_y:
        return None
    x0, y0 = int(rng.integers(lo_x, hi_x + 1)), int(rng.integers(lo_y, hi_y + 1))
    return x0, y0, x0 + cw, y0 + ch


def _any_crop(rng, w: int, h: int) -> tuple[int, int, int, int]:
    cw = int(rng.uniform(MIN_CROP, w * 0.8))
    ch = int(np.clip(cw / rng.uniform(0.8, 2.0), MIN_CROP, h))
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return x0, y0, x0 + cw, y0 + ch


def _scene_examples(job: tuple[str, list, int]) -> list[tuple[bytes, dict]]:
    """The examples one scene gives: whole, a crop around the frame, and a random crop (a
    positive when it holds the whole frame, a negative when it cuts it or misses it)."""
    path, corners, seed = job
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise DatasetError(f"cannot read the scene {path}")
    gray = to_gray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    h, w = gray.shape
    corners = np.asarray(corners, np.float64)
    rng = np.random.default_rng(seed)
    out = [_example(gray, corners, "whole")]
    box = _crop_around(rng, corners, w, h)
    if box is not None:
        x0, y0, x1, y1 = box
        out.append(_example(gray[y0:y1, x0:x1], corners - [x0, y0], "around"))
    if rng.random() < 0.5:
        return out
    x0, y0, x1, y1 = _any_crop(rng, w, h)
    inside = corners - [x0, y0]
    cw, ch = x1 - x0, y1 - y0
    width = float(np.ptp(corners[:, 0]))
    outside = np.maximum.reduce([-inside[:, 0], -inside[:, 1], inside[:, 0] - cw + 1, inside[:, 1] - ch + 1])
    if outside.max() <= -MARGIN:
        out.append(_example(gray[y0:y1, x0:x1], inside, "crop"))
    elif outside.max() >= CUT * width:
        out.append(_example(gray[y0:y1, x0:x1], None, "cut"))
    return out


def _table_example(seed: int) -> list[tuple[bytes, dict]]:
    return [_example(to_gray(table_photo(seed)), None, "table")]


def table_photo(seed: int, size: tuple[int, int] | None = None) -> np.ndarray:
    """RGB [H,W,3]: a table with clutter and no soroban, photographed like a scene; `size` (W, H),
    else mostly 640x480 and sometimes another."""
    from soroban_vision.render import camera
    from soroban_vision.render.clutter import distractors, table_edge
    from soroban_vision.render.column import fill_background
    from soroban_vision.render.drawing import random_style

    rng = np.random.default_rng([seed, 7])
    drawn = (640, 480) if rng.random() < 0.7 else (int(rng.integers(200, 1280)), int(rng.integers(160, 720)))
    w, h = size or drawn
    img = np.empty((h, w, 3), np.uint8)
    style = random_style(rng)
    fill_background(img, style.background, style.background_texture or float(rng.uniform(0, 0.15)), rng)
    centre = rng.uniform(0.2, 0.8, 2) * [w, h]
    size = rng.uniform(0.2, 0.6) * np.array([w, h])
    table_edge(img, np.array([centre - size / 2, centre + size / 2]), rng)
    distractors(img, rng)
    rgb, _ = camera.photograph(img, rng, blur_scale=float(rng.uniform(0.3, 0.8)))
    return rgb


def _job(job):
    return _table_example(job[1]) if job[0] == "table" else _scene_examples(job[1])


def scene_jobs(scene_dirs: list[str | Path], seed: int) -> list[tuple[str, list, int]]:
    """(png path, corners, seed) of every scene in the folders' manifests."""
    jobs = []
    for d in scene_dirs:
        d = Path(d)
        try:
            manifest = json.loads((d / "manifest.json").read_text())
        except (OSError, ValueError):
            raise DatasetError(f"{d} has no readable manifest.json (make it with `render-scenes`)") from None
        if manifest.get("markers"):
            raise DatasetError(f"{d} has markers drawn: the frame model must not learn them (--markers off)")
        for i, item in enumerate(manifest["items"]):
            jobs.append((str(d / item["file"]), item["corners"], seed * 1_000_003 + len(jobs) + i))
    return jobs


def write_examples(
    scene_dirs: list[str | Path],
    out: str | Path,
    tables: int,
    seed: int = 0,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Write the examples of every scene in `scene_dirs` and `tables` soroban-free tables into
    the fresh folder `out`; return the examples' manifest."""
    jobs = [("scene", j) for j in scene_jobs(scene_dirs, seed)]
    jobs += [("table", seed * 7_000_003 + i) for i in range(tables)]
    if not jobs:
        raise DatasetError("no scenes and no tables: nothing to train the frame model on")
    out = fresh_folder(out, error=DatasetError)
    for kind in ("pos", "neg"):
        (out / kind).mkdir()
    items = []
    for group, results in enumerate(map_in_order(_job, jobs, workers, max_chunk=8)):
        for png, record in results:
            name = f"{'pos' if record['frame'] else 'neg'}/{len(items):06d}.png"
            (out / name).write_bytes(png)
            items.append({"file": name, "group": group, **record})
        if progress:
            progress(1)
    manifest = {"format": FORMAT, "version": 1, "seed": seed, "scenes": [str(d) for d in scene_dirs]}
    manifest["items"] = items
    write_json_atomic(out / FILENAME, manifest)
    return manifest


def read_examples(folder: str | Path) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(file paths, corners [N,4,2] (-1 for negatives), frame [N], group [N]: the scene or
    table each came from) of an examples folder."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / FILENAME).read_text())
    except (OSError, ValueError):
        raise DatasetError(
            f"{folder} has no readable {FILENAME} (make it with `train-frame --scenes`)"
        ) from None
    if manifest.get("format") != FORMAT:
        raise DatasetError(f"{folder / FILENAME} is not a frame-examples manifest")
    items = manifest["items"]
    paths = [str(folder / it["file"]) for it in items]
    corners = np.array([it["corners"] if it["frame"] else [[-1.0, -1.0]] * 4 for it in items], np.float32)
    frame = np.array([float(it["frame"]) for it in items], np.float32)
    return paths, corners, frame, np.array([it["group"] for it in items], np.int64)
