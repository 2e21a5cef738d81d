"""Datasets of column crops in the `{digit}/*.png` layout that abacus apps collect.

Writing: `write_dataset` renders a labelled synthetic set with a manifest.
Reading: `scan` reads any folder(s) in that layout, real or synthetic, optionally filtered
by a manifest, and reports what it skipped instead of failing on it.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from soroban_vision import occluded
from soroban_vision.beads import to_beads
from soroban_vision.errors import DatasetError
from soroban_vision.folders import fresh_folder
from soroban_vision.preprocess import HEIGHT, WIDTH
from soroban_vision.render import render_column

MANIFEST = "manifest.json"
FORMAT = "soroban-vision/columns"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
# How collecting apps name their crops: {timestamp}_{player}_{session}_col{index}_{uuid}.png
COLLECTED_NAME = re.compile(
    r"^(?P<timestamp>[^_]+)_(?P<player>[^_]+)_(?P<session>[^_]+)_col(?P<column>\d+)_(?P<uuid>[^_.]+)$"
)


# --------------------------------------------------------------------------- writing


def item_seed(seed: int, digit: int, index: int) -> int:
    """The seed of one rendered item: independent streams for every (seed, digit, index)."""
    return int(np.random.SeedSequence([seed, digit, index]).generate_state(1)[0])


def _render_one(job: tuple[int, int, int]) -> tuple[bytes, dict]:
    seed, digit, index = job
    gray, params = render_column(digit, item_seed(seed, digit, index))
    ok, png = cv2.imencode(".png", gray)
    return png.tobytes(), params


def digit_item(seed: int, digit: int, index: int, params: dict) -> dict:
    """A rendered crop's manifest item: its file under `{digit}/`, its beads and how it was drawn."""
    beads = to_beads(digit)
    return {
        "file": f"{digit}/syn_s{seed}_d{digit}_{index:06d}.png",
        "digit": digit,
        "heaven": beads.heaven,
        "earth": beads.earth,
        "seed": params["seed"],
        "params": params,
    }


def _jobs(per_digit: int, seed: int) -> list[tuple[int, int, int]]:
    return [(seed, d, k) for d in range(10) for k in range(per_digit)]


def write_dataset(
    out: str | Path,
    per_digit: int,
    seed: int,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Render `per_digit` columns of each digit into `out/{digit}/` with `out/manifest.json`.

    `out` must be missing or empty: rendering never overwrites a user's files.
    """
    out = Path(out)
    if per_digit < 1:
        raise DatasetError(f"--per-digit must be at least 1, got {per_digit}")
    fresh_folder(out, error=DatasetError)
    for d in range(10):
        (out / str(d)).mkdir(parents=True, exist_ok=True)
    jobs = _jobs(per_digit, seed)
    items = []
    results = map_in_order(_render_one, jobs, workers, max_chunk=64)
    for (s, digit, index), (png, params) in zip(jobs, results, strict=True):
        item = digit_item(s, digit, index, params)
        (out / item["file"]).write_bytes(png)
        items.append(item)
        if progress:
            progress(1)
    manifest = column_manifest("synthetic", items, seed=seed, per_digit=per_digit, size=[WIDTH, HEIGHT])
    write_json_atomic(out / MANIFEST, manifest)
    return manifest


def column_manifest(kind: str, items: list[dict], **fields) -> dict:
    """A column dataset's manifest: format, version and kind, then `fields` in the order given,
    then the items (every writer of `{digit}/*.png` folders says the same header)."""
    return {"format": FORMAT, "version": 1, "kind": kind, **fields, "items": items}


def map_in_order(fn: Callable, jobs: Sequence, workers: int | None, max_chunk: int) -> Iterable:
    """`fn` over `jobs` in spawned worker processes (all cores by default; inline for one),
    yielding the results in job order, so a seeded render is the same for any worker count."""
    workers = workers or os.cpu_count() or 1
    if workers <= 1:
        yield from map(fn, jobs)
        return
    chunk = max(1, min(max_chunk, len(jobs) // (workers * 8) or 1))
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap(fn, jobs, chunksize=chunk)


def write_json_atomic(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    os.replace(tmp, path)


def contact_sheet(examples: Sequence[Sequence[tuple[np.ndarray, str]]], zoom: int = 2) -> Image.Image:
    """Rows of labelled gray images as one picture for a person to check."""
    label_h = 14
    cell_w, cell_h = WIDTH * zoom + 6, HEIGHT * zoom + label_h + 6
    cols = max(len(r) for r in examples)
    sheet = Image.new("L", (cols * cell_w + 4, len(examples) * cell_h + 4), 255)
    draw = ImageDraw.Draw(sheet)
    for r, row in enumerate(examples):
        for c, (gray, label) in enumerate(row):
            im = Image.fromarray(gray).resize((gray.shape[1] * zoom, gray.shape[0] * zoom), Image.NEAREST)
            x, y = 4 + c * cell_w, 4 + r * cell_h
            sheet.paste(im, (x, y + label_h))
            draw.text((x, y), label, fill=0)
    return sheet


def preview(root: str | Path, manifest: dict, per_digit: int = 8) -> Image.Image:
    """A contact sheet of the first examples of each digit, labelled with digit and beads."""
    root = Path(root)
    rows = []
    for d in range(10):
        picked = [it for it in manifest["items"] if it["digit"] == d][:per_digit]
        rows.append(
            [
                (np.asarray(Image.open(root / it["file"])), f"{d}  h{it['heaven']} e{it['earth']}")
                for it in picked
            ]
        )
    return contact_sheet(rows)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Item:
    path: Path
    digit: int | None  # None: a covered column (occluded.FOLDER), trained toward no information
    meta: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Dataset:
    items: list[Item]  # columns with a digit
    occluded: list[Item] = field(default_factory=list)  # covered columns: only training uses them
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # unreadable files and why
    resized: list[Path] = field(default_factory=list)  # readable, but not 64x128
    ignored: list[Path] = field(default_factory=list)  # folders that are not a digit
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[int, int]:
        c = Counter(it.digit for it in self.items)
        return {d: c.get(d, 0) for d in range(10)}


def parse_collected_name(stem: str) -> dict:
    """Metadata from a collected crop's file name, or {} for any other name."""
    m = COLLECTED_NAME.match(stem)
    if not m:
        return {}
    meta = m.groupdict()
    meta["column"] = int(meta["column"])
    return meta


def _check_image(path: Path) -> tuple[str | None, tuple[int, int] | None]:
    """(error, size): a full decode, so truncated files are caught here, not mid-training."""
    try:
        with Image.open(path) as im:
            im.load()
            return None, im.size
    except Exception as e:
        return f"{type(e).__name__}: {e}".splitlines()[0][:120], None


def _list_folder(root: Path) -> tuple[list[tuple[Path, int | None]], list[Path]]:
    files, ignored = [], []
    for child in sorted(root.iterdir()):
        labelled = child.is_dir() and child.name.isdigit() and len(child.name) == 1
        if labelled or (child.is_dir() and child.name == occluded.FOLDER):
            digit = int(child.name) if labelled else None
            files += [
                (p, digit)
                for p in sorted(child.iterdir())
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            ]
        elif child.is_dir():
            ignored.append(child)
    return files, ignored


def _resolve_manifest(manifest: Path) -> tuple[Path, list[tuple[Path, int | None]]]:
    """Files a manifest lists, each checked to lie inside the manifest's folder."""
    try:
        doc = json.loads(manifest.read_text())
    except FileNotFoundError:
        raise DatasetError(f"manifest {manifest} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DatasetError(f"manifest {manifest} is not valid JSON ({e})") from None
    entries = doc.get("items") if isinstance(doc, dict) else doc
    if not isinstance(entries, list):
        raise DatasetError(f"manifest {manifest} has no 'items' list")
    root = manifest.parent.resolve()
    out = []
    for entry in entries:
        rel = entry.get("file") if isinstance(entry, dict) else entry
        if not isinstance(rel, str) or not rel:
            raise DatasetError(f"manifest {manifest}: an item has no 'file'")
        if os.path.isabs(rel) or ".." in Path(rel).parts:
            raise DatasetError(f"manifest {manifest}: item {rel!r} points outside the dataset folder")
        path = (root / rel).resolve()
        if root not in path.parents:
            raise DatasetError(f"manifest {manifest}: item {rel!r} points outside the dataset folder")
        folder = Path(rel).parts[0] if len(Path(rel).parts) > 1 else ""
        digit = entry.get("digit") if isinstance(entry, dict) else None
        if digit is None and folder.isdigit():
            digit = int(folder)
        if digit is None and folder == occluded.FOLDER:
            out.append((path, None))
            continue
        if not isinstance(digit, int) or not 0 <= digit <= 9:
            raise DatasetError(f"manifest {manifest}: item {rel!r} has no digit 0-9")
        if folder.isdigit() and int(folder) != digit:
            raise DatasetError(
                f"manifest {manifest}: item {rel!r} says digit {digit} but lies in folder {folder}"
            )
        out.append((path, digit))
    return root, out


def scan(dirs: Iterable[str | Path], manifest: str | Path | None = None, threads: int = 8) -> Dataset:
    """Read the items of one or more `{digit}/*.png` folders, or of a manifest.

    Corrupt files are skipped and counted; images of another size are kept (they are
    resized by the preprocessing spec) and counted; covered columns (an `occluded/`
    folder) go to Dataset.occluded; other non-digit folders are ignored.
    An empty or missing dataset raises DatasetError.
    """
    candidates: list[tuple[Path, int | None]] = []
    ds = Dataset(items=[])
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            raise DatasetError(f"dataset folder {d} does not exist")
        files, ignored = _list_folder(d)
        candidates += files
        ds.ignored += ignored
    if manifest is not None:
        _, listed = _resolve_manifest(Path(manifest))
        missing = [p for p, _ in listed if not p.is_file()]
        if missing:
            ds.warnings.append(f"{len(missing)} manifest item(s) are missing, e.g. {missing[0]}")
        candidates += [(p, dg) for p, dg in listed if p.is_file()]
    seen: set[Path] = set()
    unique = []
    for p, dg in candidates:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append((p, dg))
    with ThreadPoolExecutor(threads) as pool:
        checks = list(pool.map(lambda c: _check_image(c[0]), unique))
    for (path, digit), (error, size) in zip(unique, checks, strict=True):
        if error:
            ds.skipped.append((path, error))
            continue
        if size != (WIDTH, HEIGHT):
            ds.resized.append(path)
        item = Item(path=path, digit=digit, meta=parse_collected_name(path.stem))
        (ds.occluded if digit is None else ds.items).append(item)
    if ds.skipped:
        names = ", ".join(str(p) for p, _ in ds.skipped[:5])
        more = f" and {len(ds.skipped) - 5} more" if len(ds.skipped) > 5 else ""
        ds.warnings.append(f"skipped {len(ds.skipped)} unreadable image(s): {names}{more}")
    if ds.resized:
        ds.warnings.append(
            f"{len(ds.resized)} image(s) are not {WIDTH}x{HEIGHT}; "
            f"they are resized by the preprocessing spec, e.g. {ds.resized[0]}"
        )
    if ds.ignored:
        ds.warnings.append(
            "ignored folders that are not a digit 0-9: " + ", ".join(str(p) for p in ds.ignored[:5])
        )
    if not ds.items:
        where = ", ".join(str(d) for d in dirs) or str(manifest)
        raise DatasetError(f"no usable images in {where}: expected image files in {{digit}}/ subfolders 0-9")
    empty = [d for d, n in ds.counts().items() if n == 0]
    if empty:
        ds.warnings.append(f"no images of digit(s) {', '.join(map(str, empty))}")
    return ds
