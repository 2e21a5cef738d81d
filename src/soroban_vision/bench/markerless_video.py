"""Markerless reading of a video in the browser: a rendered feed without markers (render/video.py:
each number held for some frames, a hand crossing the soroban as it changes, every frame its
own sensor noise) read frame by frame in one page, with `track` (the frame found in full kept
while the frame model sees it still, frame/track.js) and without. Passes alternate, so that
drifting load falls on both alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from soroban_vision.bench.config import BenchConfig
from soroban_vision.bench.results import Row, Value
from soroban_vision.bench.timing import median, p95
from soroban_vision.errors import UsageError
from soroban_vision.seeds import MARKERLESS_VIDEO_SEED

SECTION = "Markerless reading: browser, a video"
RODS = 13
HAND_SHARE = 0.4  # of each number's frames: the hand crosses the soroban in the first ones
MODES = (("track", True), ("each_alone", False))
# each mode's timings: (key, which frames (None: all, else: a hand over them?), statistic, label)
TIMES = (
    ("median", None, median, ", median"),
    ("p95", None, p95, ", p95"),
    ("clear.median", False, median, ", no hand, median"),
    ("hand.median", True, median, ", a hand over it, median"),
)
KEYS = (*((key, "ms") for key, *_ in TIMES), ("exact", "%"))  # each mode's rows: (key, unit)
BOTH_KEYS = (("track.kept", "%"), ("same_text", "%"))  # the rows that are not per mode


def video_rows(cfg: BenchConfig, root: Path, say) -> list[Row]:
    """ms per frame with and without `track` (all frames, those with no hand, those with one),
    the share of hand-free frames read to the true number, the share of frames read with a kept
    frame, and how often the two modes agree."""
    got = _read_feed(cfg, root, say)
    if isinstance(got, str):
        keys = [(f"{mode}.{key}", unit) for mode, _ in MODES for key, unit in KEYS] + list(BOTH_KEYS)
        return [_row(key, key.replace(".", ", "), got, unit) for key, unit in keys]
    reads, truth, kept = got
    note = (
        f"{len(truth)} frames of {cfg.video_numbers} number(s), a hand over the soroban on "
        f"{sum(hand for _, hand in truth)}; 640×480, wasm, {cfg.video_passes} pass(es) of each mode; the "
        "reader's own ms (pixels to number), frames with no frame found left out"
    )
    rows = []
    for mode, track in MODES:
        how = "with track" if track else "each read alone"
        timed = [(r["ms"], hand) for run in reads[mode] for r, (_, hand) in zip(run, truth, strict=True)]
        for key, which, fn, label in TIMES:
            ms = [t for t, hand in timed if t is not None and which in (None, hand)]
            rows.append(_row(f"{mode}.{key}", f"a video frame {how}{label}", fn(ms), "ms", note, {mode: ms}))
        exact = [
            str(r["text"]) == str(n)
            for run in reads[mode]
            for r, (n, hand) in zip(run, truth, strict=True)
            if not hand
        ]
        rows.append(
            _row(f"{mode}.exact", f"hand-free frames read exactly, {how}", 100.0 * float(np.mean(exact)), "%")
        )
    rows.append(
        _row(
            "track.kept",
            "frames read with the frame kept from an earlier one, with track",
            100.0 * kept / (len(truth) * cfg.video_passes),
            "%",
            "reader.newVideo's count after each pass",
        )
    )
    same = [a["text"] == b["text"] for a, b in zip(reads["track"][0], reads["each_alone"][0], strict=True)]
    rows.append(
        _row(
            "same_text",
            "frames read alike with track and alone",
            100.0 * float(np.mean(same)),
            "%",
            "unread columns included; no frame on both sides counts as the same",
        )
    )
    return rows


def _row(key: str, metric: str, value: Value, unit: str, note: str = "", samples: dict | None = None) -> Row:
    better = "lower" if unit == "ms" else "higher"
    return Row(
        f"markerless.browser.wasm.video.{key}",
        SECTION,
        metric,
        unit,
        value,
        None,
        pair="frame",
        better=better,
        note=note,
        samples=samples or {},
    )


def _feed(cfg: BenchConfig, root: Path) -> tuple[list[Path], list[tuple[int, bool]]]:
    from PIL import Image

    from soroban_vision.render.video import Segment, feed_frames

    rng = np.random.default_rng(MARKERLESS_VIDEO_SEED)
    hand = max(1, round(HAND_SHARE * cfg.video_frames))
    segments = [
        Segment(int(rng.integers(10 ** (RODS - 1), 10**RODS)), cfg.video_frames, hand)
        for _ in range(cfg.video_numbers)
    ]
    frames, truth = feed_frames(segments, RODS, MARKERLESS_VIDEO_SEED, markers=False)
    out = root / "video"
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"frame-{k:04d}.png" for k in range(len(frames))]
    for path, rgb in zip(paths, frames, strict=True):
        Image.fromarray(rgb).save(path)
    return paths, truth


def _read_feed(cfg: BenchConfig, root: Path, say) -> tuple[dict, list, int] | str:
    """({mode: [one pass's readings, ...]} (each reading: ms, text), each frame's (number, hand),
    the frames read with a kept frame over the passes with track), or why there are none. Each
    pass is a video of its own (`new_video`)."""
    from soroban_vision.frame.detector import FRAME_MODEL_DIR
    from soroban_vision.reader import DEFAULT_MODEL
    from soroban_vision.runners.chromium import BrowserError, ChromiumRunner

    if not (FRAME_MODEL_DIR / "tfjs").is_dir():
        return "not measured: no shipped frame model (models/frame)"
    paths, truth = _feed(cfg, root)
    say(f"reading a {len(paths)}-frame video without markers in the browser, with and without track")
    options = {"markers": "off", "frame_model": FRAME_MODEL_DIR / "tfjs"}
    reads: dict[str, list] = {mode: [] for mode, _ in MODES}
    kept = 0
    try:
        with ChromiumRunner(DEFAULT_MODEL / "tfjs", "wasm") as runner:
            runner.read_abacus(paths[:1], **options)  # warm-up: models loaded, kernels compiled
            for _ in range(cfg.video_passes):
                for mode, track in MODES:
                    runner.new_video(options["frame_model"])
                    reads[mode].append([_reading(runner, p, options, track) for p in paths])
                    kept += runner.new_video(options["frame_model"]) if track else 0
    except (BrowserError, UsageError) as e:
        return f"not measured: {str(e).splitlines()[0]}"
    return reads, truth, kept


def _reading(runner, path: Path, options: dict, track: bool) -> dict:
    from soroban_vision.runners.chromium import BrowserError

    try:
        r = runner.read_abacus([path], track=track, **options)[0]
    except BrowserError as e:
        if e.js_name != "FrameNotFound":
            raise
        return {"ms": None, "text": None}  # no frame: not a read to time
    return {"ms": r["ms"], "text": r["text"]}
