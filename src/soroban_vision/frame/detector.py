"""The frame model at run time: a gray photo in, the frame-present score and the four corners
(in the photo's working pixels) out. ONNX Runtime where the model folder has a verified ONNX
export (no TensorFlow needed), Keras otherwise: the same `Runner` interface either way."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soroban_vision.errors import UsageError
from soroban_vision.frame.input import PRESENT, frame_input, to_pixels
from soroban_vision.frame.model import INPUT_NAME
from soroban_vision.shipped import ROOT

FRAME_MODEL_DIR = ROOT / "models" / "frame"  # the shipped frame model: the wheel's copy or the checkout's


@dataclass(frozen=True)
class FrameGuess:
    score: float  # frame-present, 0..1
    corners: np.ndarray  # [4,2] in the gray's pixels, clockwise from the top-left

    @property
    def present(self) -> bool:
        return self.score >= PRESENT


class FrameDetector:
    def __init__(self, runner, source: Path):
        self.runner = runner
        self.source = source

    @property
    def runtime(self) -> str:
        return self.runner.name

    @classmethod
    def open(cls, path: str | Path | None = None, prefer_onnx: bool = True) -> FrameDetector:
        """The frame model in `path` (a folder with model.onnx and its contract, or model.keras;
        or a .keras file); default: the shipped one."""
        path = Path(path) if path is not None else FRAME_MODEL_DIR
        if not path.exists():
            raise UsageError(f"frame model {path} does not exist", code="no_frame_model")
        if prefer_onnx and path.is_dir() and (path / "model.onnx").is_file():
            from soroban_vision.frame.contract import open_verified_onnx

            return cls(open_verified_onnx(path), path)
        from soroban_vision.runners.keras import KerasRunner

        return cls(KerasRunner(path), path)

    def run(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """Model inputs [N,H,W,1] -> {corners [N,4,2] normalized, frame [N,1]}."""
        out = self.runner.run({INPUT_NAME: np.asarray(inputs, np.float32)})
        return {
            "corners": np.asarray(out["corners"], np.float64),
            "frame": np.asarray(out["frame"], np.float64),
        }

    def detect(self, gray: np.ndarray) -> FrameGuess:
        """The frame in a float64 gray photo [H,W] (0..255): its score and corners in its pixels."""
        out = self.run(frame_input(gray)[None])
        h, w = gray.shape
        return FrameGuess(float(out["frame"][0, 0]), to_pixels(out["corners"][0], w, h))


@functools.lru_cache(maxsize=1)
def shipped_detector() -> FrameDetector | None:
    """The shipped frame model, loaded once; None when this install has none."""
    if not FRAME_MODEL_DIR.is_dir():
        return None
    return FrameDetector.open(FRAME_MODEL_DIR)
