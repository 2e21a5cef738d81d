"""Python inference speed: Keras and ONNX Runtime, both models, at each batch size."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from soroban_vision.bench.config import ARCHS, BenchConfig
from soroban_vision.bench.results import OURS, REFERENCE, Row
from soroban_vision.bench.timing import median, timed_calls


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
