"""Markerless rows: the learned frame model (models/frame, asked first, the outline search as its
fallback) against the classical outline search alone, on the same rendered scenes without markers:
time per 640x480 frame to find the frame and to read it; frame not found, exact and silent wrong
numbers and the corner error, as evaluate-scenes decides and computes them (abacus.outcomes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from soroban_vision.bench.config import BenchConfig
from soroban_vision.bench.markerless_reads import (
    RODS,
    VARIETIES,
    MethodRun,
    Scene,
    read_both,
    render_scenes,
    variety_seed,
)
from soroban_vision.bench.markerless_video import video_rows
from soroban_vision.bench.results import FRAME_MODEL, OUTLINE, Row, Value
from soroban_vision.bench.timing import median, p95
from soroban_vision.errors import UsageError

TIME = "Markerless reading: Python time per 640×480 frame"
ACCURACY = "Markerless reading: accuracy"
MODEL = "Markerless reading: the frame model itself"
BROWSER = "Markerless reading: browser"
NO_FRAME_MODEL = "not measured: no shipped frame model (models/frame)"
NO_FRAME_FOUND = "not measured: no frame found"
STATS = (("median", median), ("p95", p95))


def markerless_rows(cfg: BenchConfig, root: Path, say) -> list[Row]:
    scenes = render_scenes(cfg, root, say)
    runs = read_both(cfg, scenes, say)
    return [
        *time_rows(cfg, runs),
        *accuracy_rows(scenes, runs),
        *model_rows(runs),
        *browser_rows(cfg, root, scenes, runs[FRAME_MODEL], say),
        *video_rows(cfg, root, say),
    ]


def _row(key: str, section: str, metric: str, unit: str, ours: Value, outline: Value, **kw) -> Row:
    return Row(f"markerless.{key}", section, metric, unit, ours, outline, pair="frame", **kw)


def time_rows(cfg: BenchConfig, runs: dict[str, MethodRun]) -> list[Row]:
    n = len(runs[OUTLINE].read_s)
    how = f"{n} scenes after {cfg.markerless_warmup} untimed read(s) of each method; p95 nearest-rank"
    rows = []
    for key, attr, what, note in (
        ("locate", "locate_s", "find the frame", "`abacus.frame_options` as the reader calls it"),
        ("read", "read_s", "whole read, pixels to number", '`read_abacus(pixels, markers="off")`'),
    ):
        samples = {m: [1000 * s for s in getattr(r, attr)] for m, r in runs.items()}
        for stat, fn in STATS:
            model, outline = (
                fn(samples[m]) if m in samples else NO_FRAME_MODEL for m in (FRAME_MODEL, OUTLINE)
            )
            rows.append(
                _row(
                    f"{key}.{stat}",
                    TIME,
                    f"{what}, {stat}",
                    "ms",
                    model,
                    outline,
                    better="lower",
                    samples=samples,
                    note=f"{note}; {how}",
                )
            )
    return rows


def _groups(scenes: list[Scene]) -> list[tuple[str, str, list[int]]]:
    """(key, label, scene indices): all scenes, then each variety."""
    out = [("all", f"all {len(scenes)} scenes", list(range(len(scenes))))]
    for variety in VARIETIES:
        idx = [i for i, s in enumerate(scenes) if s.variety == variety]
        out.append((variety, f"{variety} ({len(idx)})", idx))
    return out


def _corner(which: str) -> Callable[[dict], Value]:
    def pick(f: dict) -> Value:
        v = f["corner_error_pct_of_width"][which]
        return NO_FRAME_FOUND if v is None else v

    return pick


CORNER = "over the frames each method found: the farthest corner from the truth ÷ the frame's top side"
NOTES = {
    "silent_wrong": "a wrong number with no wrong column flagged, as evaluate-scenes decides it",
    "corner.median": f"{CORNER}, as evaluate-scenes computes it",
    "corner.p95": f"{CORNER}, as evaluate-scenes computes it",
}
ACCURACY_FIGURES = (  # (key, what, the figure from abacus.outcomes.figures, better)
    ("frame_not_found", "frame not found", lambda f: 100 * f["frame_not_found_rate"], "lower"),
    ("exact", "exact number", lambda f: 100 * f["exact_number_accuracy"], "higher"),
    ("silent_wrong", "silent wrong", lambda f: 100 * f["silent_wrong_rate"], "lower"),
    ("corner.median", "corner error median, % of frame width", _corner("median"), "lower"),
    ("corner.p95", "corner error p95, % of frame width", _corner("p95"), "lower"),
)


def accuracy_rows(scenes: list[Scene], runs: dict[str, MethodRun]) -> list[Row]:
    from soroban_vision.abacus.outcomes import figures

    seeds = ", ".join(f"{v} seed {variety_seed(v)}" for v in VARIETIES)
    rows = []
    for key, what, pick, better in ACCURACY_FIGURES:
        for group, label, idx in _groups(scenes):
            items = [scenes[i].item for i in idx]
            model, outline = (
                pick(figures(items, [runs[m].outcomes[i] for i in idx])) if m in runs else NO_FRAME_MODEL
                for m in (FRAME_MODEL, OUTLINE)
            )
            rows.append(
                _row(
                    f"{key}.{group}",
                    ACCURACY,
                    f"{what}, {label}",
                    "%",
                    model,
                    outline,
                    better=better,
                    note=NOTES.get(key, "as evaluate-scenes decides it")
                    + (
                        f"; render-scenes, {RODS} rods, no markers, rod count fitted ({seeds})"
                        if group == "all"
                        else ""
                    ),
                )
            )
    return rows


def model_rows(runs: dict[str, MethodRun]) -> list[Row]:
    """What only the frame model has: how often it found the frame itself, its call, its size."""
    from soroban_vision.frame.detector import FRAME_MODEL_DIR, shipped_detector

    if FRAME_MODEL not in runs:
        return []
    run = runs[FRAME_MODEL]
    found_by = 100 * sum(m == "model" for m in run.methods) / max(1, len(run.methods))
    calls = [1000 * s for s in run.inference_s]
    runtime = {"onnxruntime": "ONNX Runtime", "keras": "Keras"}.get(shipped_detector().runtime, "")
    metrics = json.loads((FRAME_MODEL_DIR / "training-metrics.json").read_text())
    return [
        _row(
            "found_by_model",
            MODEL,
            "frames the frame model found itself",
            "%",
            found_by,
            None,
            note="the rest: the outline search, when the model saw no frame (or none that passed its tests)",
        ),
        *(
            _row(
                f"inference.{stat}",
                MODEL,
                f"one call of the model ({runtime or shipped_detector().runtime}), {stat}",
                "ms",
                fn(calls),
                None,
                better="lower",
                samples={FRAME_MODEL: calls},
                note=f"one call per scene, {len(calls)} scenes; the reader calls it up to 3 times a frame "
                "(the photo, a closer look, a second look for another soroban)",
            )
            for stat, fn in STATS
        ),
        _row(
            "size",
            MODEL,
            "frame model float32 weights",
            "bytes",
            int(metrics["weight_bytes_float32"]),
            None,
            better="lower",
            note=f"{metrics['params']:,} parameters × 4 bytes (models/frame/training-metrics.json)",
        ),
    ]


# the browser reader's stages (reader.js `times`), in order, and what each does on this path
STAGES = (
    ("pixels", "the photo's pixels"),
    ("prepare", "gray and working size"),
    ("locate", "the frame: the frame model's three looks and the snapping"),
    ("crops", "every layout's column crops"),
    ("model", "the column model on the crops"),
    ("views", "shifted crops of unsteady columns"),
    ("ends", "the crops past each end"),
)


def browser_rows(cfg: BenchConfig, root: Path, scenes: list[Scene], model: MethodRun, say) -> list[Row]:
    """The browser's markerless read (wasm, 640×480, its own frame model): ms per frame on the
    first classic scene Python framed with the model, one frame at a time after a warm-up; and
    the median of each of its stages, so that where the time goes is measured, not guessed."""
    per_method = _browser_times(cfg, root, scenes, model, say)
    reads = per_method[FRAME_MODEL]
    times = {m: r if isinstance(r, str) else [x["median"] for x in r] for m, r in per_method.items()}
    note = (
        f"{cfg.frame_runs} frames after {cfg.browser_warmup} warm-up; the frame model (two looks and a "
        "look for a second soroban), snapping, rods and columns; the outline search (the reader with no "
        "frame model) on the same photo"
    )
    rows = [
        _browser_row(
            stat,
            f"640×480 frame, whole read without markers, wasm, {stat}",
            *(t if isinstance(t, str) else fn(t) for t in (times[FRAME_MODEL], times[OUTLINE])),
            note,
            {m: t for m, t in times.items() if not isinstance(t, str)},
        )
        for stat, fn in STATS
    ]
    for stage, what in STAGES:
        rows.append(
            _browser_row(
                f"stage.{stage}",
                f"of which {stage}, median",
                _stage_median(reads, stage),
                None,
                f"{what} (the reader's own `times`; 0 where a frame skips the stage)",
            )
        )
    return rows


def _stage_median(reads: list[dict] | str, stage: str) -> Value:
    """The median ms of one stage over the timed frames, or why there is none."""
    if isinstance(reads, str):
        return reads
    if not any(stage in r["stages"] for r in reads):  # a stage renamed in reader.js, say
        return f"not measured: the browser reader gave no time for {stage}"
    return median([r["stages"].get(stage, 0.0) for r in reads])


def _browser_row(
    key: str, metric: str, value: Value, outline: Value, note: str, samples: dict | None = None
) -> Row:
    return _row(
        f"browser.wasm.{key}",
        BROWSER,
        metric,
        "ms",
        value,
        outline,
        better="lower",
        note=note,
        samples=samples or {},
    )


def _browser_times(cfg: BenchConfig, root: Path, scenes: list[Scene], model: MethodRun, say) -> dict:
    """Each timed frame of the browser's markerless read ({median: ms, stages: {stage: ms}}), with
    the frame model and with the outline search alone: {method: its frames, or the sentence that
    says why there are none}."""
    from soroban_vision.frame.detector import FRAME_MODEL_DIR
    from soroban_vision.reader import DEFAULT_MODEL
    from soroban_vision.runners.chromium import BrowserError, ChromiumRunner

    framed = [
        s for s, m in zip(scenes, model.methods, strict=True) if m == "model" and s.variety == "classic"
    ]
    if not framed:
        return dict.fromkeys((FRAME_MODEL, OUTLINE), "not measured: the frame model framed no classic scene")
    photo = root / framed[0].variety / framed[0].item["file"]
    frame = FRAME_MODEL_DIR / "tfjs"
    say("timing the browser's markerless read (wasm)")
    try:
        with ChromiumRunner(DEFAULT_MODEL / "tfjs", "wasm") as runner:
            out = {}
            for method, options in ((FRAME_MODEL, {"frame_model": frame}), (OUTLINE, {})):
                try:
                    runner.time_abacus(photo, runs=1, warmup=cfg.browser_warmup, markers="off", **options)
                    out[method] = [
                        runner.time_abacus(photo, runs=1, warmup=0, markers="off", **options)
                        for _ in range(cfg.frame_runs)
                    ]
                except BrowserError as e:  # this photo's frame not found this way, say
                    out[method] = f"not measured: {str(e).splitlines()[0]}"
            return out
    except (BrowserError, UsageError) as e:
        return dict.fromkeys((FRAME_MODEL, OUTLINE), f"not measured: {str(e).splitlines()[0]}")
