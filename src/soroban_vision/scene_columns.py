"""Column crops cut from rendered scenes: what the whole-soroban reader feeds the column model.

The column renderers draw a rod centred in its crop. The reader cuts its crops from a photo
through the frame it found: perspective, lens, a soroban 10 px a rod, a hand's shadow, a crop a
little off the rod. Training on crops cut the reader's way from `render-scenes` and `render-3d`
folders closes that gap, and is the only way the Blender renderer's looks reach training.

Each rod's true quad (the manifest's `column_quads`, the reader's crop geometry) is sampled
with the reader's own `warp_gray`, after a small seeded offset in the crop's own frame, the size
of the reader's frame errors. A rod a hand covers (`hand_rods`) goes to `occluded/`; a rod a
hand only grazes is left out, since no label is honest for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from soroban_vision import data
from soroban_vision.abacus.photo import load_photo
from soroban_vision.abacus.rods import crop_homography
from soroban_vision.errors import DatasetError
from soroban_vision.folders import check_fresh, staged_folder
from soroban_vision.preprocess import HEIGHT, WIDTH, warp_gray
from soroban_vision.render.column_set import OCCLUDED

# a rod whose heaven or earth lane a hand hides more than this (and not past COVERED_SHARE) is left out
GRAZED_SHARE = 0.05
# per crop, standard deviations of the offset in the crop's own units: sideways (crop widths),
# up-down (crop heights), width and height scale; about the reader's frame error on wide scenes
JITTER = {"x": 0.035, "y": 0.012, "width": 0.03, "height": 0.015}
CROP_CONDITIONS_DROPPED = ("hand_rods", "scale", "pitch_px", "marker_px")  # scene-only keys


def lane_cover(item: dict) -> list[float]:
    """Per rod, the larger share of its heaven or earth lane a hand hides (0 without a hand).
    `render-scenes --variety wide` writes it as params.hand.cover, `render-3d` as hidden_lanes."""
    hand = (item.get("params") or {}).get("hand") or {}
    lanes = hand.get("cover") or hand.get("hidden_lanes") or []
    shares = [max(h, e) for h, e in lanes]
    return shares + [0.0] * (item["columns"] - len(shares))


def jittered(quad: np.ndarray, rng: np.random.Generator, scale: float) -> np.ndarray:
    """The homography from crop pixels to photo pixels for `quad`, its crop moved and resized
    by a random offset `scale` times JITTER (0: the quad exactly)."""
    to_photo = crop_homography(quad)
    dx, dy, sw, sh = rng.normal(0.0, 1.0, 4) * scale
    sw, sh = 1 + sw * JITTER["width"], 1 + sh * JITTER["height"]
    x0 = WIDTH * (0.5 + dx * JITTER["x"] - sw / 2)  # the moved crop's top-left, in the true crop's pixels
    y0 = HEIGHT * (0.5 + dy * JITTER["y"] - sh / 2)
    return to_photo @ np.array([[sw, 0.0, x0], [0.0, sh, y0], [0.0, 0.0, 1.0]])


def _scene_items(scenes: Path) -> tuple[dict, list[dict]]:
    path = scenes / data.MANIFEST
    try:
        manifest = json.loads(path.read_text())
        items = manifest["items"]
    except FileNotFoundError:
        raise DatasetError(
            f"{scenes} has no {data.MANIFEST}: give a render-scenes or render-3d folder"
        ) from None
    except (ValueError, KeyError, TypeError):
        raise DatasetError(f"{path} is not a scenes manifest (no 'items' list)") from None
    if not items or any("column_quads" not in it or "digits" not in it for it in items):
        raise DatasetError(f"{path} lists no scenes with digits and column_quads")
    return manifest, items


def _crop_conditions(item: dict, occluded: bool) -> dict:
    kept = {k: v for k, v in (item.get("conditions") or {}).items() if k not in CROP_CONDITIONS_DROPPED}
    return kept | {"occluded": occluded}


def _cut_scene(root: Path, item: dict, rng, per_column: int, jitter: float):
    """(folder, rod, crop uint8) for every rod of one scene that has an honest label."""
    photo = load_photo(root / item["file"])
    covered, cover = set(item["conditions"].get("hand_rods", [])), lane_cover(item)
    for rod, quad in enumerate(item["column_quads"]):
        if rod not in covered and cover[rod] > GRAZED_SHARE:
            yield None, rod, None
            continue
        folder = OCCLUDED if rod in covered else str(item["digits"][rod])
        for _ in range(per_column):
            crop = warp_gray(photo.gray, jittered(photo.from_photo(quad), rng, jitter), WIDTH, HEIGHT)
            yield folder, rod, np.clip(np.rint(crop), 0, 255).astype(np.uint8)


def _source(root: Path, manifest: dict) -> dict:
    return {"folder": str(root), "seed": manifest.get("seed"), "variety": manifest.get("variety")}


def _crop_item(rel: str, folder: str, rod: int, root: Path, item: dict) -> dict:
    digit = None if folder == OCCLUDED else int(folder)
    hidden = {"occluded": True, "hidden_digit": item["digits"][rod]} if digit is None else {}
    where = {"scene": f"{root.name}/{item['file']}", "rod": rod}
    return {
        "file": rel,
        "digit": digit,
        **hidden,
        **where,
        "conditions": _crop_conditions(item, digit is None),
    }


def write_scene_columns(
    scenes_dirs: list[str | Path],
    out: str | Path,
    seed: int = 0,
    per_column: int = 1,
    jitter: float = 1.0,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Cut every rod of every scene in `scenes_dirs` into `out/{digit}/` (covered rods into
    `out/occluded/`), `per_column` crops each, with `out/manifest.json`. `out` must be missing
    or empty, and is written whole or not at all. `progress(1, scenes)` after each scene.
    Returns the manifest."""
    if per_column < 1:
        raise DatasetError(f"--per-column must be at least 1, got {per_column}")
    sources = [(Path(d), *_scene_items(Path(d))) for d in scenes_dirs]
    if not sources:
        raise DatasetError("give at least one scenes folder")
    check_fresh(out, error=DatasetError, beside=True)
    total = sum(len(scene_items) for _, _, scene_items in sources)
    items, skipped = [], 0
    with staged_folder(out) as staging:
        for name in [str(d) for d in range(10)] + [OCCLUDED]:
            (staging / name).mkdir()
        for k, (root, _, scene_items) in enumerate(sources):
            for n, item in enumerate(scene_items):
                rng = np.random.default_rng([seed, k, n])  # a scene's crops do not depend on the others
                for j, (folder, rod, crop) in enumerate(_cut_scene(root, item, rng, per_column, jitter)):
                    if crop is None:
                        skipped += 1
                        continue
                    rel = f"{folder}/scn_s{seed}_{k}_{Path(item['file']).stem}_r{rod:02d}_{j}.png"
                    cv2.imwrite(str(staging / rel), crop)
                    items.append(_crop_item(rel, folder, rod, root, item))
                if progress:
                    progress(1, total)
        manifest = data.column_manifest(
            "scene-crops",
            items,
            seed=seed,
            size=[WIDTH, HEIGHT],
            sources=[_source(r, m) for r, m, _ in sources],
            per_column=per_column,
            jitter=jitter,
            grazed_skipped=skipped,
            occluded_count=sum(1 for it in items if it["digit"] is None),
        )
        data.write_json_atomic(staging / data.MANIFEST, manifest)
    return manifest
