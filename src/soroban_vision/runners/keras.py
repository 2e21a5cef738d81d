"""Keras: the float32 reference. A `.keras` file or a SavedModel folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from soroban_vision.errors import UsageError
from soroban_vision.runners.base import BaseRunner, TensorInfo


class KerasRunner(BaseRunner):
    name = "keras"

    def __init__(self, path: str | Path | None = None, model=None):
        if model is None:
            path = Path(path)
            if path.is_dir() and (path / "saved_model.pb").is_file():
                model = _SavedModel(path)
            else:
                from soroban_vision.model import load_model

                model = load_model(path)
        self.model = model

    def inputs(self) -> list[TensorInfo]:
        if isinstance(self.model, _SavedModel):
            return self.model.inputs()
        return [TensorInfo(t.name, tuple(t.shape), str(t.dtype)) for t in self.model.inputs]

    def outputs(self) -> list[TensorInfo]:
        if isinstance(self.model, _SavedModel):
            return self.model.outputs()
        out = self.model.outputs
        names = self.output_names()
        return [TensorInfo(n, tuple(t.shape), str(t.dtype)) for n, t in zip(names, out, strict=True)]

    def output_names(self) -> list[str]:
        spec = getattr(self.model, "_outputs_struct", None)
        if spec is None:  # not `or`: a single-output model's struct is a tensor, which has no truth value
            spec = getattr(self.model, "output", None)
        if isinstance(spec, dict):
            return sorted(spec)  # Keras flattens dict outputs in sorted key order
        return list(self.model.output_names)

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if isinstance(self.model, _SavedModel):
            return self.timed(self.model.run, feed)
        x = feed if len(feed) > 1 else next(iter(feed.values()))
        out = self.timed(lambda v: self.model(v, training=False), x)
        if isinstance(out, dict):
            return {k: np.asarray(v) for k, v in out.items()}
        if not isinstance(out, list | tuple):
            out = [out]
        return {n: np.asarray(v) for n, v in zip(self.output_names(), out, strict=True)}


class _SavedModel:
    """A SavedModel's serving signature, called by input names."""

    def __init__(self, path: Path):
        import tensorflow as tf

        try:
            loaded = tf.saved_model.load(str(path))
        except Exception as e:
            raise UsageError(f"cannot load SavedModel {path}: {str(e).splitlines()[0][:160]}") from None
        self._keep = loaded
        self.fn = loaded.signatures["serving_default"]

    def inputs(self) -> list[TensorInfo]:
        _, spec = self.fn.structured_input_signature
        return [TensorInfo(k, tuple(v.shape), v.dtype.name) for k, v in sorted(spec.items())]

    def outputs(self) -> list[TensorInfo]:
        return [TensorInfo(k, tuple(v.shape), v.dtype.name) for k, v in self.fn.structured_outputs.items()]

    def run(self, feed):
        import tensorflow as tf

        return {k: v.numpy() for k, v in self.fn(**{k: tf.constant(v) for k, v in feed.items()}).items()}
