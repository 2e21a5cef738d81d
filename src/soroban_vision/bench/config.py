"""The budget of one bench run: how much data, how many epochs, runs and warm-ups."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from soroban_vision.bench.results import OURS, REFERENCE
from soroban_vision.errors import UsageError

ARCHS = (OURS, REFERENCE)  # both models are trained, exported and timed alike
COLUMNS, MARKERLESS = "columns", "markerless"
PARTS = (COLUMNS, MARKERLESS)  # the column models compared; the frame model against the outline search


@dataclass(frozen=True)
class BenchConfig:
    """The budget of one run. The defaults are the full run; `quick_mode()` is the CI run."""

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
    markerless_scenes: int = 100  # per variety (wide, classic), 640x480, no markers
    markerless_warmup: int = 2  # untimed reads of each method first
    video_frames: int = 20  # the markerless video: frames per number
    video_numbers: int = 3
    video_passes: int = 2  # of each mode, alternating
    workers: int = 0  # processes for rendering and exports (0: all cores)
    parts: tuple[str, ...] = PARTS

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
            markerless_scenes=2,  # the CI run only proves every markerless figure is measured
            markerless_warmup=1,
            video_frames=4,
            video_numbers=1,
            video_passes=1,
        )

    def with_budget(
        self, per_digit: int | None = None, epochs: int | None = None, parts: tuple[str, ...] = ()
    ) -> BenchConfig:
        """The same run with another training budget, or only some of its PARTS (in their order)."""
        unknown = set(parts) - set(PARTS)
        if unknown:
            text = f"unknown bench part(s) {', '.join(sorted(unknown))}: choose from {', '.join(PARTS)}"
            raise UsageError(text, code="bad_part")
        return replace(
            self,
            per_digit=per_digit or self.per_digit,
            epochs=epochs or self.epochs,
            parts=tuple(p for p in PARTS if p in parts) or self.parts,
        )

    @property
    def processes(self) -> int:
        return self.workers or os.cpu_count() or 1
