"""Python inference for column crops: ONNX Runtime where an export is available, Keras otherwise.

`ColumnReader.open(path)` accepts a `.keras` file, or a model folder such as `models/column`
(which holds `model.keras` and, once exported, `model.onnx` with its `contract.json`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from soroban_vision import contract
from soroban_vision.contract import readings
from soroban_vision.errors import UsageError
from soroban_vision.preprocess import ImageError, preprocess_file
from soroban_vision.runners.base import run_batched

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "column"


class ColumnReader:
    def __init__(self, runner):
        self.runner = runner

    @property
    def runtime(self) -> str:
        return self.runner.name

    @classmethod
    def open(cls, path: str | Path | None = None, prefer_onnx: bool = True) -> ColumnReader:
        path = Path(path) if path is not None else DEFAULT_MODEL
        if not path.exists():
            raise UsageError(f"model {path} does not exist")
        onnx = path / "model.onnx" if path.is_dir() else None
        if prefer_onnx and onnx is not None and onnx.is_file() and (path / contract.FILENAME).is_file():
            from soroban_vision.runners.onnx import OnnxRunner

            doc = contract.read(path)
            if "model.onnx" in doc["weights"]["files"]:
                contract.verify_files(doc, path)
                return cls(OnnxRunner(onnx))
        from soroban_vision.model import load_model
        from soroban_vision.runners.keras import KerasRunner

        return cls(KerasRunner(model=load_model(path)))

    def heads(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model inputs [N,128,64,1] in [0,1] -> (heaven [N,1], earth [N,5])."""
        out = run_batched(self.runner, "image", np.asarray(inputs, np.float32), batch_size=256)
        return out["heaven"], out["earth"]

    def read_inputs(self, inputs: np.ndarray) -> list[dict]:
        return readings(*self.heads(inputs))

    def read_files(self, paths) -> list[dict]:
        if not paths:
            raise UsageError("give at least one image")
        inputs = []
        for p in paths:
            try:
                inputs.append(preprocess_file(p))
            except ImageError as e:
                raise UsageError(str(e)) from None
        return [{"file": str(p), **r} for p, r in zip(paths, self.read_inputs(np.stack(inputs)), strict=True)]
