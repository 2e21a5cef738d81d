"""What the doctor feeds a frame model: photos with their true corners, rendered on the spot
(the widened renderer, no markers, 9-31 rods, and tables with no soroban) or read from a
`render-scenes` folder. Each photo is a PNG file, so Python and the browser start from the same
bytes; Python's input is the reader's own path (abacus.photo, then frame.input)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from soroban_vision.errors import UsageError
from soroban_vision.frame.examples import table_photo

RENDER_SCENES = 24
RENDER_TABLES = 8
RENDER_SEED = 31_338_000  # not a training, check or golden seed of the frame model
MAX_SCENES = 200  # a larger --scenes folder is sampled, so the doctor stays fast


@dataclass
class SceneSet:
    files: list[Path]
    labels: list[str]
    x01: np.ndarray  # [N,H,W,1] float32 in [0,1]: Python's model input for each photo
    truth: np.ndarray  # [N,4,2] the frame's corners in the photo's pixels (NaN: no soroban)
    size: np.ndarray  # [N,2] the working gray's width, height (abacus.photo)
    factor: np.ndarray  # [N] the working gray's reduction of the photo
    source: str  # "rendered" | "scenes"
    path: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def has_frame(self) -> np.ndarray:
        return ~np.isnan(self.truth).any(axis=(1, 2))

    def pixels(self, corners: np.ndarray) -> np.ndarray:
        """The model's normalized corners [N,4,2] -> the photos' pixels (frame.input.to_pixels,
        then back from the working gray to the photo, as the reader maps them)."""
        from soroban_vision.frame.input import to_pixels

        c = np.asarray(corners, np.float64).reshape(len(self.files), 4, 2)
        work = np.stack([to_pixels(c[i], int(w), int(h)) for i, (w, h) in enumerate(self.size)])
        f = self.factor.astype(np.float64)[:, None, None]
        return work * f + (f - 1) / 2

    def evidence(self) -> dict:
        return {
            "source": self.source,
            "path": self.path,
            "n": len(self.files),
            "scenes": int(self.has_frame.sum()),
            "tables": int((~self.has_frame).sum()),
            "notes": self.notes,
        }


def _inputs(files: list[Path]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Python's model inputs of the files, with each working gray's size and factor."""
    from soroban_vision.abacus.photo import load_photo
    from soroban_vision.frame.input import frame_input

    xs, size, factor = [], [], []
    for f in files:
        photo = load_photo(f)
        xs.append(frame_input(photo.gray))
        size.append(photo.gray.shape[::-1])
        factor.append(photo.factor)
    return np.stack(xs), np.array(size), np.array(factor)


def render_scene_set(
    where: Path, scenes: int = RENDER_SCENES, tables: int = RENDER_TABLES, seed: int = RENDER_SEED
) -> SceneSet:
    """`scenes` photos of the widened renderer (no markers, 9-31 rods, 640x480) and `tables`
    photos with no soroban, as PNG files in `where`."""
    from soroban_vision.render.scene import render_scene, scene_seed

    where.mkdir(parents=True, exist_ok=True)
    files, labels, truth = [], [], []
    for i in range(scenes):
        rods = int(np.random.default_rng([seed, i]).integers(9, 32))
        rgb, t = render_scene(0, rods, scene_seed(seed, i), False, variety="wide")
        files.append(where / f"scene_{i:03d}.png")
        Image.fromarray(rgb).save(files[-1])
        labels.append(f"scene {i}: {rods} rods")
        truth.append(np.asarray(t["corners"], np.float64))
    for i in range(tables):
        files.append(where / f"table_{i:03d}.png")
        Image.fromarray(table_photo(seed + i, (640, 480))).save(files[-1])
        labels.append(f"table {i}")
        truth.append(np.full((4, 2), np.nan))
    x, size, factor = _inputs(files)
    note = (
        f"{scenes} scenes of the widened renderer (seed {seed}, no markers, 9-31 rods, 640x480) and "
        f"{tables} tables with no soroban"
    )
    return SceneSet(files, labels, x, np.stack(truth), size, factor, "rendered", None, [note])


def folder_scene_set(folder: Path, limit: int = MAX_SCENES) -> SceneSet:
    """A `render-scenes` folder (manifest.json with each scene's corners); more than `limit`
    scenes are sampled evenly."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"--scenes {folder} does not exist or is not a folder", code="no_scenes")
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        items = [it for it in manifest["items"] if (folder / it["file"]).is_file() and "corners" in it]
    except (OSError, ValueError, KeyError, TypeError):
        raise UsageError(
            f"--scenes {folder} is not a render-scenes folder (no readable manifest.json with scenes and "
            "their corners; make one with `soroban-vision render-scenes`)",
            code="no_scenes",
        ) from None
    if not items:
        raise UsageError(f"--scenes {folder}: the manifest lists no scene files that exist", code="no_scenes")
    notes = []
    if len(items) > limit:
        keep = np.linspace(0, len(items) - 1, limit).round().astype(int)
        notes.append(f"sampled {limit} of {len(items)} scenes, evenly")
        items = [items[i] for i in keep]
    if manifest.get("markers"):
        notes.append("the scenes have markers: the frame model was trained without them")
    files = [folder / it["file"] for it in items]
    x, size, factor = _inputs(files)
    truth = np.stack([np.asarray(it["corners"], np.float64) for it in items])
    labels = [f"{it['file']}: {it.get('columns', '?')} rods" for it in items]
    return SceneSet(files, labels, x, truth, size, factor, "scenes", str(folder), notes)
