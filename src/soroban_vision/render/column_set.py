"""A dataset of column crops with a chosen variety and, optionally, an `occluded/` class.

`data.write_dataset` writes the classic set (`{digit}/*.png` and a manifest). This adds:

- `variety`: "classic" (byte for byte the classic set: with no occluded share it IS
  `data.write_dataset`) or "wide" (`wide_column`);
- `occluded_share`: the share of the whole set that is crops with a hand over the centre rod,
  written to `out/occluded/*.png` and listed in the manifest's `items` with `"digit": null`,
  `"occluded": true` and the `hidden_digit` under the hand (how `data.scan` reads a covered
  column: `occluded.FOLDER`, digit None). `occluded_count` in the manifest says how many.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2

from soroban_vision import data
from soroban_vision.errors import DatasetError
from soroban_vision.folders import fresh_folder
from soroban_vision.preprocess import HEIGHT, WIDTH
from soroban_vision.render.column import render_column
from soroban_vision.render.conditions import VARIETIES
from soroban_vision.render.wide_column import render_column_variety

OCCLUDED = "occluded"  # the folder and class name of the crops whose rod a hand hides
OCCLUDED_CLASS = 10  # the `digit` slot of an occluded crop's seed: its own stream of seeds
MAX_OCCLUDED_SHARE = 0.5


def _render_one(job: tuple[int, int, int, str, bool]) -> tuple[bytes, dict]:
    seed, digit, index, variety, occluded = job
    if occluded:
        item_seed = data.item_seed(seed, OCCLUDED_CLASS, index)
        gray, params = render_column_variety(index % 10, item_seed, variety, occluded=True)
    else:
        gray, params = render_column(digit, data.item_seed(seed, digit, index), variety)
    ok, png = cv2.imencode(".png", gray)
    return png.tobytes(), params


def occluded_count(per_digit: int, share: float) -> int:
    """How many occluded crops make `share` of a set with `per_digit` readable crops per digit."""
    return round(share * 10 * per_digit / (1 - share)) if share > 0 else 0


def write_columns(
    out: str | Path,
    per_digit: int,
    seed: int,
    variety: str = "classic",
    occluded_share: float = 0.0,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Render `per_digit` crops of each digit into `out/{digit}/`, the occluded share into
    `out/occluded/`, and `out/manifest.json`. `out` must be missing or empty."""
    if variety not in VARIETIES:
        raise DatasetError(f"--variety must be one of {', '.join(VARIETIES)}, got {variety!r}")
    if not 0 <= occluded_share <= MAX_OCCLUDED_SHARE:
        raise DatasetError(f"--occluded-share must be 0-{MAX_OCCLUDED_SHARE}, got {occluded_share:g}")
    if variety == "classic" and occluded_share == 0:
        return data.write_dataset(out, per_digit, seed, workers=workers, progress=progress)
    out = Path(out)
    if per_digit < 1:
        raise DatasetError(f"--per-digit must be at least 1, got {per_digit}")
    fresh_folder(out, error=DatasetError)
    n_occluded = occluded_count(per_digit, occluded_share)
    for name in [str(d) for d in range(10)] + ([OCCLUDED] if n_occluded else []):
        (out / name).mkdir(parents=True, exist_ok=True)
    jobs = [(seed, d, k, variety, False) for d in range(10) for k in range(per_digit)]
    jobs += [(seed, OCCLUDED_CLASS, k, variety, True) for k in range(n_occluded)]
    items, hidden = [], []
    results = data.map_in_order(_render_one, jobs, workers, max_chunk=64)
    for (s, digit, index, _, occluded), (png, params) in zip(jobs, results, strict=True):
        if occluded:
            rel = f"{OCCLUDED}/syn_s{s}_occ_{index:06d}.png"
            hidden.append(
                {
                    "file": rel,
                    "digit": None,
                    "occluded": True,
                    "hidden_digit": params["digit"],
                    "seed": params["seed"],
                    "params": params,
                }
            )
        else:
            items.append(data.digit_item(s, digit, index, params))
            rel = items[-1]["file"]
        (out / rel).write_bytes(png)
        if progress:
            progress(1)
    manifest = data.column_manifest(
        "synthetic",
        items + hidden,
        seed=seed,
        per_digit=per_digit,
        size=[WIDTH, HEIGHT],
        variety=variety,
        occluded_share=occluded_share,
        occluded_count=len(hidden),
    )
    data.write_json_atomic(out / data.MANIFEST, manifest)
    return manifest
