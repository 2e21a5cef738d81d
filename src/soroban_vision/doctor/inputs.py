"""What the doctor feeds the runtimes: a labelled set of image files (the user's folder, or
columns it renders itself), or, for a model of unknown purpose, seeded random tensors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from soroban_vision.errors import UsageError
from soroban_vision.preprocess import HEIGHT, WIDTH, preprocess_file
from soroban_vision.runners.base import TensorInfo

RENDER_COUNT = 200
RENDER_SEED = 31_337_000
MAX_IMAGES = 500  # a larger folder is sampled, evenly per digit, so the doctor stays fast
GENERATED_FEEDS = 8
GENERATED_SEED = 4242
INT_HIGH = 4  # generated int inputs are drawn from [0, INT_HIGH): safe for small vocabularies
# A warm light that keeps the luma of the gray column (0.299*1.1 + 0.587 + 0.114*0.7377 = 1):
# Python's luma is unchanged, but a red-channel-only grayscale is 10% too bright.
WARM = np.array([1.1, 1.0, (1 - 0.299 * 1.1 - 0.587) / 0.114])
CAMERA_SCALE = 1.5


@dataclass
class LabelledSet:
    files: list[Path]
    labels: np.ndarray  # [N] digits
    x01: np.ndarray  # [N,128,64,1] float32 in [0,1]: Python's preprocessing of the files
    source: str  # "folder" | "rendered"
    path: str | None = None
    notes: list[str] = field(default_factory=list)

    def evidence(self) -> dict:
        return {
            "source": self.source,
            "path": self.path,
            "n": len(self.files),
            "per_digit": {int(d): int((self.labels == d).sum()) for d in range(10)},
            "notes": self.notes,
        }


def render_set(where: Path, count: int = RENDER_COUNT, seed: int = RENDER_SEED) -> LabelledSet:
    """`count` rendered columns as PNG files: half as the renderer writes them (gray, 64x128),
    half as a phone camera delivers them (RGB in a warm light, 1.5x larger), so the browser's
    decoding, grayscale and resize are all exercised."""
    from soroban_vision.render import render_column

    where.mkdir(parents=True, exist_ok=True)
    files, labels = [], []
    for i in range(count):
        digit = i % 10
        gray, _ = render_column(digit, seed + i)
        if i % 2 == 0:
            im = Image.fromarray(gray, "L")
            name = f"{digit}_{i:04d}_gray.png"
        else:
            rgb = np.clip(np.rint(gray[..., None] * WARM), 0, 255).astype(np.uint8)
            size = (int(WIDTH * CAMERA_SCALE), int(HEIGHT * CAMERA_SCALE))
            im = Image.fromarray(rgb, "RGB").resize(size, Image.BILINEAR)
            name = f"{digit}_{i:04d}_camera.png"
        path = where / name
        im.save(path)
        files.append(path)
        labels.append(digit)
    x = np.stack([preprocess_file(f) for f in files])
    note = (
        f"{count} columns rendered with seed {seed}: even ones gray 64x128, odd ones RGB "
        f"{int(WIDTH * CAMERA_SCALE)}x{int(HEIGHT * CAMERA_SCALE)} in a warm light"
    )
    return LabelledSet(files, np.array(labels), x, "rendered", None, [note])


def folder_set(folder: Path, limit: int = MAX_IMAGES, seed: int = 0) -> LabelledSet:
    """A labelled `{digit}/*.png` folder; more than `limit` images are sampled evenly per digit."""
    from soroban_vision.data import scan
    from soroban_vision.preprocess import ImageError

    if not Path(folder).is_dir():
        raise UsageError(f"--images {folder} does not exist or is not a folder")
    ds = scan([folder])
    items = ds.items
    notes = list(ds.warnings)
    if len(items) > limit:
        rng = np.random.default_rng(seed)
        by_digit = [[it for it in items if it.digit == d] for d in range(10)]
        share = max(1, limit // max(1, sum(1 for b in by_digit if b)))
        picked = []
        for bucket in by_digit:
            if bucket:
                idx = rng.permutation(len(bucket))[:share]
                picked += [bucket[i] for i in sorted(idx)]
        notes.append(f"sampled {len(picked)} of {len(items)} images, evenly per digit (seed {seed})")
        items = picked
    xs, files, labels = [], [], []
    for it in items:
        try:
            xs.append(preprocess_file(it.path))
        except ImageError as e:
            notes.append(str(e))
            continue
        files.append(it.path)
        labels.append(it.digit)
    if not files:
        raise UsageError(f"--images {folder}: no readable images")
    return LabelledSet(files, np.array(labels), np.stack(xs), "folder", str(folder), notes)


def generated_feeds(
    inputs: list[TensorInfo], float_range=(0.0, 1.0), n: int = GENERATED_FEEDS, seed: int = GENERATED_SEED
) -> list[dict[str, np.ndarray]]:
    """`n` seeded random feeds of batch 1 for any signature: unknown dimensions become 1, float
    inputs are uniform in `float_range`, integer inputs uniform in [0, INT_HIGH), bools random."""
    rng = np.random.default_rng(seed)
    feeds = []
    for _ in range(n):
        feed = {}
        for info in inputs:
            shape = tuple(1 if d is None or int(d) < 0 else int(d) for d in info.shape)
            dtype = dtype_name(info.dtype)
            if dtype.startswith("int") or dtype.startswith("uint"):
                feed[info.name] = rng.integers(0, INT_HIGH, size=shape).astype(np.int32)
            elif dtype == "bool":
                feed[info.name] = rng.integers(0, 2, size=shape).astype(np.int32)
            else:
                lo, hi = float_range
                feed[info.name] = rng.uniform(lo, hi, size=shape).astype(np.float32)
        feeds.append(feed)
    return feeds


def dtype_name(dtype: str) -> str:
    """One spelling for the dtypes runtimes report (Keras 'float32', ONNX 'tensor(float)', TF 'float')."""
    d = str(dtype).lower().replace("tensor(", "").replace(")", "").replace("dt_", "")
    return {"float": "float32", "half": "float16", "double": "float64", "int": "int32", "long": "int64"}.get(
        d, d
    )
