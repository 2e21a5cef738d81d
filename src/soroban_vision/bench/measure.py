"""Measuring: train both models on the same data, then time and size them on this machine.

`run` wires the steps; each step lives in its own module and returns `Row`s: nothing here
formats a table. Timed phases never overlap each other or any other work of ours: only the
exports (bytes and checks, no timings) run two at a time, in their own processes.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from soroban_vision.bench.accuracy import accuracy_rows
from soroban_vision.bench.browser_inference import browser_rows
from soroban_vision.bench.config import COLUMNS, MARKERLESS, BenchConfig
from soroban_vision.bench.exports import export_all, size_rows
from soroban_vision.bench.machine import machine
from soroban_vision.bench.markerless import markerless_rows
from soroban_vision.bench.markerless_reads import RODS, VARIETIES, variety_seed
from soroban_vision.bench.python_inference import python_rows
from soroban_vision.bench.rendering import render_rows
from soroban_vision.bench.results import FRAME_MODEL, OURS, OUTLINE, REFERENCE, Results
from soroban_vision.bench.targets import targets
from soroban_vision.bench.timing import cpu_seconds
from soroban_vision.bench.training import render_sets, train_both, training_rows
from soroban_vision.folders import fresh_folder
from soroban_vision.seeds import CHECK_SEED, MARKERLESS_VIDEO_SEED, TEST_SEED, TRAIN_SEED

# the tables' order (by how a section's name starts)
SECTIONS = ["Accuracy", "Size", "Python inference", "Browser", "Training", "Rendering", "Markerless"]


class Phases:
    """Wall and CPU seconds of each phase of a run, by name."""

    def __init__(self):
        self.seconds: dict[str, dict[str, float]] = {}

    def run(self, name: str, fn, *args):
        t, c = time.perf_counter(), cpu_seconds()
        out = fn(*args)
        self.seconds[name] = {
            "wall_s": round(time.perf_counter() - t, 1),
            "cpu_s": round(cpu_seconds() - c, 1),
        }
        return out


def run(cfg: BenchConfig, workdir: str | Path | None = None, say: Callable[[str], None] = print) -> Results:
    """Measure everything `cfg` asks for (its `parts`); data, models, exports and scenes go to
    `workdir` (kept) or to a temporary folder (removed)."""
    if workdir is not None:
        root = fresh_folder(workdir, "--workdir")
    else:
        root = Path(tempfile.mkdtemp(prefix="sv-bench-"))
    started, cpu0, load0 = time.perf_counter(), cpu_seconds(), os.getloadavg()
    date = dt.datetime.now(dt.UTC).astimezone()
    phases = Phases()
    phase = phases.run
    rows = []
    try:
        info = machine()
        if COLUMNS in cfg.parts:
            rows += _column_rows(cfg, root, phase, say)
        if MARKERLESS in cfg.parts:
            rows += phase("markerless", markerless_rows, cfg, root / "markerless", say)
    finally:
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    rows.sort(key=lambda row: next(i for i, s in enumerate(SECTIONS) if row.section.startswith(s)))
    meta = {
        "tool": "soroban-vision bench",
        "mode": "quick" if cfg.quick else "full",
        "date": date.isoformat(timespec="seconds"),
        "machine": info,
        "load_average": {
            "start": [round(v, 2) for v in load0],
            "end": [round(v, 2) for v in os.getloadavg()],
        },
        **_what_was_measured(cfg),
        "config": asdict(cfg),
        "phases": phases.seconds,
        "wall_s": round(time.perf_counter() - started, 1),
        "cpu_s": round(cpu_seconds() - cpu0, 1),
        "workdir": str(root) if workdir is not None else None,
    }
    return Results(meta=meta, rows=rows, targets=targets(rows))


def _column_rows(cfg: BenchConfig, root: Path, phase, say) -> list:
    """The column models' rows: trained, checked, exported and timed."""
    sets = phase("render data", render_sets, cfg, root / "data", say)
    trained = phase("training", train_both, cfg, sets["train"], root / "models", say)
    rows = phase("accuracy", accuracy_rows, trained, sets["test"], say)
    check = sets.get("check", sets["test"])
    exports = phase("exports", export_all, cfg, trained, check, root / "exports", say)
    rows += size_rows(trained, exports)
    rows += phase("python inference", python_rows, cfg, trained, exports, sets["test"], say)
    rows += phase("browser inference", browser_rows, cfg, exports, root, say)
    rows += training_rows(cfg, trained)
    rows += phase("rendering", render_rows, cfg, say)
    return rows


def _what_was_measured(cfg: BenchConfig) -> dict:
    """The models, the training budget and the data sets of a run, for its report."""
    out = {"parts": list(cfg.parts)}
    if MARKERLESS in cfg.parts:
        out["markerless"] = {
            "scenes_per_variety": cfg.markerless_scenes,
            "seeds": {v: variety_seed(v) for v in VARIETIES},
            "video": {
                "seed": MARKERLESS_VIDEO_SEED,
                "numbers": cfg.video_numbers,
                "frames_per_number": cfg.video_frames,
                "passes": cfg.video_passes,
            },
            "rods": RODS,
            "size": [640, 480],
            "methods": {
                FRAME_MODEL: "read_abacus(markers='off', frame_model=True): models/frame, then the outline "
                "search when it sees no frame",
                OUTLINE: "read_abacus(markers='off'): the outline search alone",
            },
        }
    if COLUMNS not in cfg.parts:
        return out
    return {
        **out,
        "models": {
            OURS: "compact (soroban_vision.model.compact)",
            REFERENCE: "MobileNetV2 α=0.35, random init, gray stacked to 3 channels",
        },
        "budget": {
            "train_columns": cfg.per_digit * 10,
            "per_digit": cfg.per_digit,
            "epochs": cfg.epochs,
            "batch_size": cfg.batch_size,
            "train_seed": TRAIN_SEED,
            "val_split": 0.15,
        },
        "test": {"columns": cfg.test_count, "seed": TEST_SEED},
        "export_check": {
            "columns": cfg.check_count or cfg.test_count,
            "seed": CHECK_SEED if cfg.check_count else TEST_SEED,
        },
    }
