"""Markerless reading, measured: rendered scenes without markers, each read by the learned frame
model and by the outline search alone, with the clock on finding the frame and on the whole read.

What each reading amounts to is decided by evaluate-scenes' own `abacus.outcomes.outcome`; this
module only renders, reads and times."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from soroban_vision.bench.config import BenchConfig
from soroban_vision.bench.results import FRAME_MODEL, OUTLINE
from soroban_vision.seeds import MARKERLESS_SEED

VARIETIES = ("wide", "classic")  # render-scenes --variety; the wide one is the hard one
PROGRESS_EVERY = 25  # scenes between progress lines
RODS = 13  # rods on every scene: a common soroban; the reader still fits the count itself


@dataclass
class Scene:
    variety: str
    item: dict  # the manifest item: number, digits, corners, conditions
    pixels: np.ndarray  # uint8, as a camera frame or a decoded photo is handed to read_abacus


@dataclass
class MethodRun:
    """One method's figures over the scenes, in scene order."""

    locate_s: list[float] = field(default_factory=list)  # finding the frame (and its rod layouts)
    read_s: list[float] = field(default_factory=list)  # pixels to number, frame not found included
    outcomes: list[dict] = field(default_factory=list)  # abacus.outcomes.outcome of each reading
    methods: list[str | None] = field(default_factory=list)  # reading.method, None: frame not found
    inference_s: list[float] = field(default_factory=list)  # one frame model call (the model only)


def variety_seed(variety: str) -> int:
    return MARKERLESS_SEED + VARIETIES.index(variety)


def render_scenes(cfg: BenchConfig, root: Path, say) -> list[Scene]:
    """`cfg.markerless_scenes` 640x480 scenes of each variety, no markers, decoded once."""
    from soroban_vision.preprocess import load_rgba_or_gray
    from soroban_vision.render.scene import write_scenes

    scenes = []
    for variety in VARIETIES:
        say(f"rendering {cfg.markerless_scenes} {variety} scenes without markers")
        out = root / variety
        manifest = write_scenes(
            out, cfg.markerless_scenes, RODS, variety_seed(variety), False, cfg.processes, variety=variety
        )
        scenes += [Scene(variety, it, load_rgba_or_gray(out / it["file"])) for it in manifest["items"]]
    return scenes


def read_both(cfg: BenchConfig, scenes: list[Scene], say) -> dict[str, MethodRun]:
    """Every scene read by both methods, one after the other (which goes first alternates, so
    drifting load falls on both alike), after `cfg.markerless_warmup` untimed reads of each."""
    from soroban_vision.frame.detector import shipped_detector

    detector = shipped_detector()
    runs = (
        {FRAME_MODEL: MethodRun(), OUTLINE: MethodRun()} if detector is not None else {OUTLINE: MethodRun()}
    )
    for scene in scenes[: cfg.markerless_warmup]:
        for method in runs:
            _read_one(scene, method, detector, MethodRun())
    say(f"reading {len(scenes)} scenes without markers: frame model, then the outline search alone")
    for i, scene in enumerate(scenes):
        for method in list(runs)[:: 1 if i % 2 == 0 else -1]:
            _read_one(scene, method, detector, runs[method])
        if (i + 1) % PROGRESS_EVERY == 0 and i + 1 < len(scenes):
            say(f"read {i + 1} of {len(scenes)} scenes without markers")
    return runs


def _read_one(scene: Scene, method: str, detector, run: MethodRun) -> None:
    """Read one scene as a user would (the public `read_abacus`), then time its frame search
    alone, and (frame model only) one call of the model."""
    from soroban_vision import read_abacus
    from soroban_vision.abacus import FrameNotFound, frame_options, prepare
    from soroban_vision.abacus.outcomes import outcome
    from soroban_vision.abacus.read import FRAMES_READ
    from soroban_vision.frame.input import frame_input

    model = method == FRAME_MODEL
    t = time.perf_counter()
    try:
        reading = read_abacus(scene.pixels, markers="off", frame_model=model)
    except FrameNotFound:
        reading = None
    run.read_s.append(time.perf_counter() - t)
    run.outcomes.append(outcome(scene.item, reading))
    run.methods.append(None if reading is None else reading.method)
    photo = prepare(scene.pixels)
    t = time.perf_counter()
    with contextlib.suppress(FrameNotFound):  # as read_abacus asks: up to FRAMES_READ frames, their layouts
        frame_options(photo.gray, None, "off", photo.colour, FRAMES_READ, None, detector if model else None)
    run.locate_s.append(time.perf_counter() - t)
    if model:
        x = frame_input(photo.gray)[None]
        t = time.perf_counter()
        detector.run(x)
        run.inference_s.append(time.perf_counter() - t)
