"""ONNX Runtime: the fast CPU runtime for Python inference."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from soroban_vision.errors import UsageError
from soroban_vision.runners.base import BaseRunner, TensorInfo


class OnnxRunner(BaseRunner):
    name = "onnxruntime"

    def __init__(self, path: str | Path, threads: int | None = None):
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise UsageError(f"ONNX model {path} does not exist")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:
            raise UsageError(f"cannot load ONNX model {path}: {str(e).splitlines()[0][:160]}") from None

    def inputs(self) -> list[TensorInfo]:
        return [TensorInfo(i.name, tuple(i.shape), i.type) for i in self.session.get_inputs()]

    def outputs(self) -> list[TensorInfo]:
        return [TensorInfo(o.name, tuple(o.shape), o.type) for o in self.session.get_outputs()]

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = [o.name for o in self.session.get_outputs()]
        out = self.timed(self.session.run, names, feed)
        return dict(zip(names, out, strict=True))

    def close(self) -> None:
        self.session = None
