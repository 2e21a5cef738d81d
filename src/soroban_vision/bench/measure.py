"""Measuring: train both models on the same data, then time and size them on this machine.

Every step returns `Row`s; nothing here formats a table. Timed phases never overlap each
other or any other work of ours: only the exports (bytes and checks, no timings) run two at a
time, in their own processes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from pathlib import Path

import numpy as np

from soroban_vision.bench.results import OURS, REFERENCE, Results, Row, Target, is_number
from soroban_vision.errors import UsageError

ARCHS = (OURS, REFERENCE)
TRAIN_SEED = 1001  # the seed `make model` renders its training data with
TEST_SEED = 9999  # the seed of `make model`'s fresh test set: training never sees it
CHECK_SEED = 777_000  # the export check's columns: neither training nor test
TARGET_VAL_ACCURACY = 0.995
PRECISIONS = ("float32", "float16", "uint8")


@dataclass(frozen=True)
class BenchConfig:
    """The budget of one run. The defaults are the full run; `quick()` is the CI run."""

    quick: bool = False
    per_digit: int = 1000  # training columns per digit, both models
    epochs: int = 15  # both models
    batch_size: int = 64
    test_count: int = 5000
    check_count: int = 1000  # columns for the export check (0: use the test set)
    py_batches: tuple[int, ...] = (1, 13, 256)
    py_runs: int = 20
    py_warmup: int = 3
    browser_backends: tuple[str, ...] = ("wasm", "webgl", "cpu")
    browser_batches: tuple[int, ...] = (1, 13)
    browser_runs: int = 20
    browser_warmup: int = 3
    frame_runs: int = 20
    render_count: int = 1000
    render_runs: int = 3
    workers: int = 0  # processes for rendering and exports (0: all cores)

    @classmethod
    def quick_mode(cls) -> BenchConfig:
        return cls(
            quick=True,
            per_digit=30,
            epochs=1,
            test_count=200,
            check_count=0,
            py_runs=5,
            py_warmup=2,
            browser_backends=("wasm",),  # cpu costs ~30 s more per run here: not cheap
            browser_runs=5,
            browser_warmup=2,
            frame_runs=5,
            render_count=100,
            render_runs=1,
        )

    def with_budget(self, per_digit: int | None = None, epochs: int | None = None) -> BenchConfig:
        return replace(self, per_digit=per_digit or self.per_digit, epochs=epochs or self.epochs)

    @property
    def processes(self) -> int:
        return self.workers or os.cpu_count() or 1


# --------------------------------------------------------------------------- statistics


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def p95(xs: list[float]) -> float:
    """Nearest-rank 95th percentile: a value that was actually measured."""
    s = sorted(xs)
    return float(s[max(0, math.ceil(0.95 * len(s)) - 1)])


def timed_calls(fn: Callable[[], object], runs: int, warmup: int) -> list[float]:
    """Seconds of each of `runs` calls of fn, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


# --------------------------------------------------------------------------- the machine


def machine() -> dict:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = 0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = int(line.split()[1]) * 1024
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_bytes": ram,
        "os": platform.platform(),
        "versions": versions(),
    }


def versions() -> dict:
    from soroban_vision.serve import WEB_DIR

    out = {"python": platform.python_version()}
    for name in ("tensorflow", "keras", "tensorflowjs", "onnxruntime", "tf2onnx", "numpy"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    for pkg in ("tfjs", "tfjs-backend-wasm"):
        with contextlib.suppress(OSError, ValueError, KeyError):
            doc = json.loads((WEB_DIR / "node_modules" / "@tensorflow" / pkg / "package.json").read_text())
            out[f"@tensorflow/{pkg}"] = doc["version"]
    with contextlib.suppress(Exception):
        from soroban_vision.runners.chromium import find_chromium

        answer = subprocess.run([find_chromium(), "--version"], capture_output=True, text=True, timeout=30)
        out["chromium"] = answer.stdout.strip()
    return out


def cpu_seconds() -> float:
    """CPU time of this process and of every child process it has waited for."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


# --------------------------------------------------------------------------- data


def render_sets(cfg: BenchConfig, root: Path, say) -> dict[str, Path]:
    from soroban_vision.data import write_dataset

    sets = {"train": (cfg.per_digit, TRAIN_SEED), "test": (cfg.test_count // 10, TEST_SEED)}
    if cfg.check_count:
        sets["check"] = (cfg.check_count // 10, CHECK_SEED)
    out = {}
    for name, (per_digit, seed) in sets.items():
        say(f"rendering the {name} set: {per_digit * 10} columns, seed {seed}")
        write_dataset(root / name, per_digit, seed, workers=cfg.processes)
        out[name] = root / name
    return out


# --------------------------------------------------------------------------- training


class EpochClock:
    """A training Reporter that notes the wall time of each epoch's validation result."""

    def __init__(self, arch: str, say):
        self.arch, self.say = arch, say
        self.t0 = time.perf_counter()
        self.epochs: list[dict] = []

    def event(self, kind: str, **f) -> None:
        if kind != "epoch":
            return
        row = {
            "epoch": f["epoch"],
            "seconds": time.perf_counter() - self.t0,
            "val_digit_accuracy": f["val"]["digit_accuracy"],
        }
        self.epochs.append(row)
        self.say(
            f"{self.arch} epoch {row['epoch']}/{f['epochs']}: val digit accuracy "
            f"{row['val_digit_accuracy']:.4f} at {row['seconds']:.0f} s"
        )

    def reached(self, accuracy: float) -> dict | None:
        return next((e for e in self.epochs if e["val_digit_accuracy"] >= accuracy), None)


def train_both(cfg: BenchConfig, data: Path, root: Path, say) -> dict[str, dict]:
    from soroban_vision.train import TrainConfig, train

    out = {}
    for arch in ARCHS:
        say(f"training {arch}: {cfg.per_digit * 10} columns, {cfg.epochs} epoch(s), batch {cfg.batch_size}")
        clock = EpochClock(arch, say)
        metrics = train(
            TrainConfig(
                data=[str(data)],
                arch=arch,
                epochs=cfg.epochs,
                batch_size=cfg.batch_size,
                seed=TRAIN_SEED,
                out=str(root / arch),
            ),
            clock,
        )
        out[arch] = {"model": root / arch / "model.keras", "metrics": metrics, "clock": clock}
    return out


def training_rows(cfg: BenchConfig, trained: dict[str, dict]) -> list[Row]:
    def to_target(arch):
        clock = trained[arch]["clock"]
        hit = clock.reached(TARGET_VAL_ACCURACY)
        if hit:
            return hit["seconds"], hit["epoch"]
        best = max((e["val_digit_accuracy"] for e in clock.epochs), default=0.0)
        n = len(clock.epochs)
        return f"not reached in {n} epoch{'s' if n != 1 else ''} (best {100 * best:.2f}%)", None

    (t_ours, e_ours), (t_ref, e_ref) = to_target(OURS), to_target(REFERENCE)
    m = {a: trained[a]["metrics"] for a in ARCHS}
    best = {a: 100 * max(e["val_digit_accuracy"] for e in trained[a]["clock"].epochs) for a in ARCHS}
    n_val = m[OURS]["n_val"]
    return [
        Row(
            "training.time_to_target",
            "Training",
            f"wall time to {100 * TARGET_VAL_ACCURACY:.1f}% validation digit accuracy",
            "s",
            t_ours,
            t_ref,
            better="lower",
            note=f"from the start of `train()`; reached at epoch {e_ours or '-'} (ours), "
            f"{e_ref or '-'} (reference); {n_val} validation columns",
        ),
        Row(
            "training.best_val_accuracy",
            "Training",
            "best validation digit accuracy",
            "%",
            best[OURS],
            best[REFERENCE],
            note=f"{n_val} validation columns",
        ),
        Row(
            "training.duration",
            "Training",
            "training wall time, all epochs run",
            "s",
            float(m[OURS]["duration_s"]),
            float(m[REFERENCE]["duration_s"]),
            better="lower",
            note=f"epochs run: {m[OURS]['epochs_run']} (ours), {m[REFERENCE]['epochs_run']} (reference) "
            f"of {cfg.epochs}; early stopping as in `train`",
        ),
    ]


# --------------------------------------------------------------------------- accuracy


def accuracy_rows(trained: dict[str, dict], test: Path, say) -> list[Row]:
    from soroban_vision.evaluate import evaluate
    from soroban_vision.model import load_model
    from soroban_vision.reader import DEFAULT_MODEL

    acc, n, errors = {}, 0, {}
    for arch in ARCHS:
        say(f"evaluating {arch} on the test set")
        r = evaluate(load_model(trained[arch]["model"]), [test])
        acc[arch], n, errors[arch] = 100 * r["digit_accuracy"], r["n"], r["errors"]
    rows = [
        Row(
            "accuracy.digit",
            "Accuracy",
            f"digit accuracy on {n:,} rendered test columns (seed {TEST_SEED})",
            "%",
            acc[OURS],
            acc[REFERENCE],
            note=f"errors: {errors[OURS]} (ours), {errors[REFERENCE]} (reference); Keras float32",
        )
    ]
    if (DEFAULT_MODEL / "model.keras").is_file():
        say("evaluating the shipped models/column on the test set")
        r = evaluate(load_model(DEFAULT_MODEL), [test])
        rows.append(
            Row(
                "accuracy.shipped",
                "Accuracy",
                f"shipped models/column (compact, `make model` budget) on the same {n:,} columns",
                "%",
                100 * r["digit_accuracy"],
                single=True,
                note=f"errors: {r['errors']}",
            )
        )
    return rows


# --------------------------------------------------------------------------- size and exports


def _export_job(job: tuple[str, str, str, str, str | None]) -> dict:
    """One `soroban-vision export` (in a worker process): bytes shipped and the check's verdict."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from soroban_vision.export import export

    model_path, out, precision, fmt, check = job
    # force: a quantized export that changes answers is still written, so its bytes are measured;
    # its verification status then says "failed-forced"
    doc = export(
        model_path, out, precision=precision, fmt=fmt, force=True, check_data=check, say=lambda *a: None
    )
    v = doc["verification"]
    return {
        "bytes": int(doc["weights"]["bytes"]),
        "status": v["status"],
        "n": int(v["n"]),
        "disagreements": int(v["disagreements"]),
        "runtime": v["runtime"],
    }


def export_all(cfg: BenchConfig, trained: dict[str, dict], check: Path, root: Path, say) -> dict:
    """{arch: {"tfjs-float32": {...,"dir"}, ..., "onnx-float32": {...}}}, two exports at a time."""
    jobs = {}
    for arch in ARCHS:
        for fmt, precision in [("tfjs", p) for p in PRECISIONS] + [("onnx", "float32")]:
            out = root / arch / f"{fmt}-{precision}"
            jobs[(arch, f"{fmt}-{precision}")] = (
                str(trained[arch]["model"]),
                str(out),
                precision,
                fmt,
                str(check),
            )
    say(f"exporting {len(jobs)} models ({min(2, cfg.processes)} at a time), each checked against Keras")
    import multiprocessing

    results: dict = {arch: {} for arch in ARCHS}
    with ProcessPoolExecutor(min(2, cfg.processes), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {key: pool.submit(_export_job, job) for key, job in jobs.items()}
        for (arch, name), fut in futures.items():
            r = fut.result()
            r["dir"] = Path(jobs[(arch, name)][1])
            results[arch][name] = r
            say(f"export {arch} {name}: {r['bytes']:,} bytes, check {r['status']}")
    return results


def _check_text(r: dict) -> str:
    verdict = "passed" if r["status"] == "passed" else "failed"
    return f"{verdict} ({r['disagreements']}/{r['n']} digits changed)"


def size_rows(trained: dict[str, dict], exports: dict) -> list[Row]:
    kb = {a: trained[a]["metrics"]["weight_bytes_float32"] for a in ARCHS}
    n = exports[OURS]["tfjs-float32"]["n"]
    rows = [
        Row(
            "size.keras_float32",
            "Size",
            "float32 weights (Keras, incl. batch-norm statistics)",
            "bytes",
            kb[OURS],
            kb[REFERENCE],
            better="lower",
        )
    ]
    labels = {
        "tfjs-float32": "TF.js float32 weights",
        "tfjs-float16": "TF.js float16 weights",
        "tfjs-uint8": "TF.js uint8 weights",
        "onnx-float32": "ONNX float32 model file",
    }
    for name, label in labels.items():
        rows.append(
            Row(
                f"size.{name}",
                "Size",
                label,
                "bytes",
                exports[OURS][name]["bytes"],
                exports[REFERENCE][name]["bytes"],
                better="lower",
                checks={a: _check_text(exports[a][name]) for a in ARCHS},
                note=f"export check: digit decisions vs Keras float32 on {n:,} columns "
                f"({exports[OURS][name]['runtime']})",
            )
        )
    return rows


# --------------------------------------------------------------------------- Python inference


def inputs_for(test: Path, n: int) -> np.ndarray:
    """`n` real test columns as model input (repeated when the test set is smaller)."""
    from soroban_vision.data import scan
    from soroban_vision.preprocess import preprocess_file

    items = scan([test]).items[:n]
    x = np.stack([preprocess_file(it.path) for it in items]).astype(np.float32)
    return np.resize(x, (n, *x.shape[1:]))


def python_rows(cfg: BenchConfig, trained: dict, exports: dict, test: Path, say) -> list[Row]:
    from soroban_vision.model import load_model
    from soroban_vision.runners.keras import KerasRunner
    from soroban_vision.runners.onnx import OnnxRunner

    x_all = inputs_for(test, max(cfg.py_batches))
    rows = []
    runtimes = {
        "keras": ("Keras `model(x)`", lambda a: KerasRunner(model=load_model(trained[a]["model"]))),
        "onnxruntime": (
            "ONNX Runtime",
            lambda a: OnnxRunner(exports[a]["onnx-float32"]["dir"] / "model.onnx"),
        ),
    }
    for key, (label, open_runner) in runtimes.items():
        samples: dict[str, dict[int, list[float]]] = {}
        for arch in ARCHS:
            say(f"timing {label} for {arch}")
            with open_runner(arch) as runner:
                samples[arch] = {
                    b: timed_calls(
                        lambda r=runner, b=b: r.run({"image": x_all[:b]}), cfg.py_runs, cfg.py_warmup
                    )
                    for b in cfg.py_batches
                }
        for b in cfg.py_batches:
            rows.append(
                Row(
                    f"python.{key}.b{b}",
                    "Python inference",
                    f"{label}, batch {b}",
                    "columns/s",
                    b / median(samples[OURS][b]),
                    b / median(samples[REFERENCE][b]),
                    samples={a: samples[a][b] for a in ARCHS},
                    note=f"median of {cfg.py_runs} calls after {cfg.py_warmup} warm-up calls",
                )
            )
    return rows


# --------------------------------------------------------------------------- browser inference


FRAME_ABSENT = "not measured: browser abacus pipeline not present"


def abacus_pipeline_present() -> bool:
    from soroban_vision.runners.chromium import ChromiumRunner
    from soroban_vision.serve import WEB_DIR

    return (WEB_DIR / "src" / "soroban-abacus.js").is_file() and hasattr(ChromiumRunner, "time_abacus")


def frame_photo(root: Path) -> Path:
    """One rendered 640x480 photo of a 13-rod soroban with markers."""
    from PIL import Image

    from soroban_vision.render.scene import render_scene

    number = int(np.random.default_rng(TEST_SEED).integers(0, 10**13))
    rgb, _ = render_scene(number, 13, TEST_SEED, markers=True)
    path = root / "frame-640x480.png"
    Image.fromarray(rgb).save(path)
    return path


def _browser_times(runner, batch: int, runs: int, warmup: int) -> list[float]:
    """Single-inference ms, one call each: the page's own clock (upload, model, download)."""
    runner.time(batch, runs=1, warmup=warmup)
    return [float(runner.time(batch, runs=1, warmup=0)["median"]) for _ in range(runs)]


def _frame_times(runner, photo: Path, runs: int, warmup: int) -> list[float] | str:
    from soroban_vision.runners.chromium import BrowserError

    try:
        runner.time_abacus(photo, runs=1, warmup=warmup)
        times = []
        for _ in range(runs):
            t = runner.time_abacus(photo, runs=1, warmup=0)
            if (t["width"], t["height"]) != (640, 480):
                return f"not measured: the page read a {t['width']}x{t['height']} frame"
            times.append(float(t["median"]))
        return times
    except BrowserError as e:
        if "has no function timeAbacus" in str(e):
            return FRAME_ABSENT
        return f"not measured: browser abacus pipeline failed ({str(e)[:120]})"


def browser_rows(cfg: BenchConfig, exports: dict, root: Path, say) -> list[Row]:
    from soroban_vision.runners.chromium import ChromiumRunner

    photo = frame_photo(root) if abacus_pipeline_present() else None
    rows = []
    frames: dict[str, list[float] | str] = {a: FRAME_ABSENT for a in ARCHS}
    for backend in cfg.browser_backends:
        samples: dict[str, dict[int, list[float]]] = {}
        for arch in ARCHS:
            say(f"timing TF.js {backend} in Chromium for {arch}")
            with ChromiumRunner(exports[arch]["tfjs-float32"]["dir"], backend) as runner:
                samples[arch] = {
                    b: _browser_times(runner, b, cfg.browser_runs, cfg.browser_warmup)
                    for b in cfg.browser_batches
                }
                if backend == "wasm" and photo is not None:
                    say(f"timing the whole-abacus pipeline (wasm) for {arch}")
                    frames[arch] = _frame_times(runner, photo, cfg.frame_runs, cfg.browser_warmup)
        for b in cfg.browser_batches:
            for stat, fn in (("median", median), ("p95", p95)):
                rows.append(
                    Row(
                        f"browser.{backend}.b{b}.{stat}",
                        "Browser inference (TF.js float32, headless Chromium)",
                        f"{backend}, batch {b}, {stat}",
                        "ms",
                        fn(samples[OURS][b]),
                        fn(samples[REFERENCE][b]),
                        better="lower",
                        samples={a: samples[a][b] for a in ARCHS},
                        note=f"{cfg.browser_runs} inferences after {cfg.browser_warmup} warm-up",
                    )
                )
    for stat, fn in (("median", median), ("p95", p95)):
        rows.append(
            Row(
                f"browser.frame.{stat}",
                "Browser inference (TF.js float32, headless Chromium)",
                f"640×480 frame, whole-abacus pipeline, wasm, {stat}",
                "ms",
                *(fn(frames[a]) if isinstance(frames[a], list) else frames[a] for a in ARCHS),
                better="lower",
                samples={a: frames[a] for a in ARCHS if isinstance(frames[a], list)},
                note=f"{cfg.frame_runs} frames after {cfg.browser_warmup} warm-up; pixels to number, "
                "13 rods, markers searched in every frame",
            )
        )
    return rows


# --------------------------------------------------------------------------- rendering


def render_rows(cfg: BenchConfig, say) -> list[Row]:
    from soroban_vision.render.bench import measure

    say(f"timing the renderer: {cfg.render_count} columns, {cfg.render_runs} run(s)")
    by_procs: dict[int, list[float]] = {}
    for _ in range(cfg.render_runs):
        for r in measure(cfg.render_count, cfg.processes):
            by_procs.setdefault(r["processes"], []).append(r["columns_per_s"])
    return [
        Row(
            f"render.p{p}",
            "Rendering",
            f"columns rendered per second, {p} process{'es' if p > 1 else ''}",
            "columns/s",
            median(v),
            single=True,
            samples={"single": v},
            note=f"median of {len(v)} run(s) of {cfg.render_count} columns after a warm-up",
        )
        for p, v in sorted(by_procs.items())
    ]


# --------------------------------------------------------------------------- targets


def targets(rows: list[Row]) -> list[Target]:
    r = {row.key: row for row in rows}
    acc, size = r["accuracy.digit"], r["size.keras_float32"]
    ratio = size.reference / size.ours if is_number(size.ours) and is_number(size.reference) else None
    equal_or_better = is_number(acc.ours) and is_number(acc.reference) and acc.ours >= acc.reference
    return [
        Target("accuracy", "compact digit accuracy ≥ 99.8%", acc.ours, 99.8, ">=", "%"),
        Target("size", "compact float32 weights ≤ 300 KB (300,000 bytes)", size.ours, 300_000, "<=", "bytes"),
        Target(
            "smaller",
            "compact ≥ 5× smaller than the reference (float32 weights), at equal or better accuracy",
            ratio,
            5.0,
            ">=",
            "×",
            condition=("compact accuracy ≥ reference accuracy", bool(equal_or_better)),
        ),
        Target(
            "browser",
            "browser wasm, batch 13: median ≤ 10 ms",
            r["browser.wasm.b13.median"].ours,
            10.0,
            "<=",
            "ms",
        ),
        Target(
            "onnx",
            "Python ONNX Runtime, batch 256: ≥ 5,000 columns/s",
            r["python.onnxruntime.b256"].ours,
            5000.0,
            ">=",
            "columns/s",
        ),
    ]


# --------------------------------------------------------------------------- the run


def run(cfg: BenchConfig, workdir: str | Path | None = None, say: Callable[[str], None] = print) -> Results:
    """Measure everything `cfg` asks for; data, models and exports go to `workdir` (kept) or
    to a temporary folder (removed)."""
    if workdir is not None:
        root = Path(workdir)
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise UsageError(f"{root} exists and is not empty; give a fresh --workdir")
        root.mkdir(parents=True, exist_ok=True)
    else:
        root = Path(tempfile.mkdtemp(prefix="sv-bench-"))
    started, cpu0, load0 = time.perf_counter(), cpu_seconds(), os.getloadavg()
    date = dt.datetime.now(dt.UTC).astimezone()
    phases: dict[str, dict[str, float]] = {}

    def phase(name: str, fn, *args):
        t, c = time.perf_counter(), cpu_seconds()
        out = fn(*args)
        phases[name] = {"wall_s": round(time.perf_counter() - t, 1), "cpu_s": round(cpu_seconds() - c, 1)}
        return out

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
    order = ["Accuracy", "Size", "Python inference", "Browser", "Training", "Rendering"]
    rows.sort(key=lambda row: next(i for i, s in enumerate(order) if row.section.startswith(s)))
    meta = {
        "tool": "soroban-vision bench",
        "mode": "quick" if cfg.quick else "full",
        "date": date.isoformat(timespec="seconds"),
        "machine": info,
        "load_average": {
            "start": [round(v, 2) for v in load0],
            "end": [round(v, 2) for v in os.getloadavg()],
        },
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
        "config": asdict(cfg),
        "phases": phases,
        "wall_s": round(time.perf_counter() - started, 1),
        "cpu_s": round(cpu_seconds() - cpu0, 1),
        "workdir": str(root) if workdir is not None else None,
    }
    return Results(meta=meta, rows=rows, targets=targets(rows))
