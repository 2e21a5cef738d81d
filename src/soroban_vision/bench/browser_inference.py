"""Browser inference speed: TF.js in headless Chromium on each backend, and the whole-abacus
pipeline on one 640x480 frame (pixels to number)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from soroban_vision.bench.config import ARCHS, BenchConfig
from soroban_vision.bench.results import OURS, REFERENCE, Row
from soroban_vision.bench.timing import median, p95
from soroban_vision.seeds import TEST_SEED

SECTION = "Browser inference (TF.js float32, headless Chromium)"
FRAME_ABSENT = "not measured: browser abacus pipeline not present"


def abacus_pipeline_present() -> bool:
    from soroban_vision.runners.chromium import ChromiumRunner
    from soroban_vision.serve import WEB_DIR

    return (WEB_DIR / "src" / "index.js").is_file() and hasattr(ChromiumRunner, "time_abacus")


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
    """Ms per frame of the whole-abacus pipeline, or the sentence that says why there are none."""
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
                        SECTION,
                        f"{backend}, batch {b}, {stat}",
                        "ms",
                        fn(samples[OURS][b]),
                        fn(samples[REFERENCE][b]),
                        better="lower",
                        samples={a: samples[a][b] for a in ARCHS},
                        note=f"{cfg.browser_runs} inferences after {cfg.browser_warmup} warm-up",
                    )
                )
    return rows + _frame_rows(cfg, frames)


def _frame_rows(cfg: BenchConfig, frames: dict[str, list[float] | str]) -> list[Row]:
    return [
        Row(
            f"browser.frame.{stat}",
            SECTION,
            f"640×480 frame, whole-abacus pipeline, wasm, {stat}",
            "ms",
            *(fn(frames[a]) if isinstance(frames[a], list) else frames[a] for a in ARCHS),
            better="lower",
            samples={a: frames[a] for a in ARCHS if isinstance(frames[a], list)},
            note=f"{cfg.frame_runs} frames after {cfg.browser_warmup} warm-up; pixels to number, "
            "13 rods, markers searched in every frame",
        )
        for stat, fn in (("median", median), ("p95", p95))
    ]
