"""One small interface for every runtime that can run a model.

A runner is a context manager: it loads on enter and frees on exit. It says what inputs it
takes and maps a feed of named arrays to named outputs. Keras, ONNX Runtime and TF.js (in
Node or in Chromium) look the same to the doctor and the tests; a new runtime is one file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple  # None for an unknown dimension
    dtype: str


@runtime_checkable
class Runner(Protocol):
    name: str

    def inputs(self) -> list[TensorInfo]: ...

    def outputs(self) -> list[TensorInfo]:
        """Outputs in the order the runtime itself returns them (e.g. predict() order)."""
        ...

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def close(self) -> None: ...


class BaseRunner:
    """Shared plumbing: context management and timing of the last `run`."""

    name = "base"
    last_ms: float = 0.0

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        pass

    def timed(self, fn, *args):
        t = time.perf_counter()
        out = fn(*args)
        self.last_ms = (time.perf_counter() - t) * 1000
        return out


def run_batched(
    runner: Runner, feed_name: str, images: np.ndarray, batch_size: int = 64
) -> dict[str, np.ndarray]:
    """Run a large input through a runner in batches and join the outputs by name."""
    parts: dict[str, list[np.ndarray]] = {}
    for i in range(0, len(images), batch_size):
        for k, v in runner.run({feed_name: images[i : i + batch_size]}).items():
            parts.setdefault(k, []).append(np.asarray(v))
    return {k: np.concatenate(v) for k, v in parts.items()}
