"""The training page's server-side settings, from the server's environment (never from a request):
where runs and published models go, and the bounds of every run's subprocesses. Training is off
unless SOROBAN_COLLECT_RUNS_DIR is set; publishing is off unless SOROBAN_COLLECT_PUBLISH_DIR is."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from soroban_vision.collect.confine import Bounds
from soroban_vision.errors import UsageError

RUNS_ENV, PUBLISH_ENV = "SOROBAN_COLLECT_RUNS_DIR", "SOROBAN_COLLECT_PUBLISH_DIR"
MEMORY_ENV, THREADS_ENV, HOURS_ENV = (
    "SOROBAN_COLLECT_RUN_MEMORY_MB",
    "SOROBAN_COLLECT_RUN_THREADS",
    "SOROBAN_COLLECT_RUN_HOURS",
)
RUNTIMES_ENV = "SOROBAN_COLLECT_DOCTOR_RUNTIMES"
# the browser runtime the model ships to, next to Keras and TF.js in Node
DOCTOR_RUNTIMES = "keras,tfjs-node,chromium-wasm"


@dataclass(frozen=True)
class TrainerSettings:
    runs_dir: Path
    publish_dir: Path | None = None
    bounds: Bounds = field(default_factory=Bounds)
    doctor_runtimes: str = DOCTOR_RUNTIMES
    max_streams: int = 8  # event streams open at once

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> TrainerSettings | None:
        """The settings, or None when training is off; a bad value is a UsageError at start-up."""
        runs = env.get(RUNS_ENV)
        if not runs:
            return None
        publish = env.get(PUBLISH_ENV) or None
        runs_dir = Path(runs).expanduser().absolute()
        publish_dir = Path(publish).expanduser().absolute() if publish else None
        if publish_dir is not None and (publish_dir == runs_dir or runs_dir in publish_dir.parents):
            raise UsageError(f"{PUBLISH_ENV} must be a folder apart from {RUNS_ENV}", code="bad_setting")
        defaults = Bounds()
        bounds = Bounds(
            memory_mb=_number(env, MEMORY_ENV, int, defaults.memory_mb, 1024, 1 << 20),
            threads=_number(env, THREADS_ENV, int, defaults.threads, 0, 256),
            seconds=round(_number(env, HOURS_ENV, float, defaults.seconds / 3600, 0.01, 24 * 7) * 3600),
        )
        runtimes = env.get(RUNTIMES_ENV) or DOCTOR_RUNTIMES
        from soroban_vision.doctor.runtimes import RUNTIMES

        names = [r.strip() for r in runtimes.split(",") if r.strip()]
        if not names or any(r not in RUNTIMES for r in names):
            raise UsageError(
                f"{RUNTIMES_ENV}: a comma-separated list from {', '.join(RUNTIMES)}", code="bad_setting"
            )
        return cls(runs_dir, publish_dir, bounds, ",".join(names))


def _number(env: Mapping[str, str], name: str, kind: type, default, low, high):
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise UsageError(f"{name} must be a number from {low:g} to {high:g}, got {raw!r}", code="bad_setting")
    return value
