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
from soroban_vision.bench.config import BenchConfig
from soroban_vision.bench.exports import export_all, size_rows
from soroban_vision.bench.machine import machine
from soroban_vision.bench.python_inference import python_rows
from soroban_vision.bench.rendering import render_rows
from soroban_vision.bench.results import OURS, REFERENCE, Results
from soroban_vision.bench.targets import targets
from soroban_vision.bench.timing import cpu_seconds
from soroban_vision.bench.training import render_sets, train_both, training_rows
from soroban_vision.folders import fresh_folder
from soroban_vision.seeds import CHECK_SEED, TEST_SEED, TRAIN_SEED

SECTIONS = ["Accuracy", "Size", "Python inference", "Browser", "Training", "Rendering"]  # the table's order


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
    """Measure everything `cfg` asks for; data, models and exports go to `workdir` (kept) or
    to a temporary folder (removed)."""
    if workdir is not None:
        root = fresh_folder(workdir, "--workdir")
    else:
        root = Path(tempfile.mkdtemp(prefix="sv-bench-"))
    started, cpu0, load0 = time.perf_counter(), cpu_seconds(), os.getloadavg()
    date = dt.datetime.now(dt.UTC).astimezone()
    phases = Phases()
    phase = phases.run
    try:
        info = machine()
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


def _what_was_measured(cfg: BenchConfig) -> dict:
    """The models, the training budget and the data sets of a run, for its report."""
    return {
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
