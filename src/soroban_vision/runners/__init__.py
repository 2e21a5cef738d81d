"""Runtimes behind one interface (see base.Runner): Keras, ONNX Runtime, TF.js in Node and in Chromium."""

from soroban_vision.runners.base import Runner, TensorInfo, run_batched

__all__ = ["Runner", "TensorInfo", "run_batched"]
