"""The model's own reading of every collected crop, and what it decides: a label that disagrees with
a confident reading goes to review (`needs_review`) and is never trained on unless a person accepts
it; any other crop waits as `unreviewed`."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soroban_vision import contract
from soroban_vision.abacus.spec import LOW_CONFIDENCE
from soroban_vision.preprocess import preprocess
from soroban_vision.reader import DEFAULT_MODEL, ColumnReader

NEEDS_REVIEW, UNREVIEWED, ACCEPTED, REJECTED = "needs_review", "unreviewed", "accepted", "rejected"
STATUSES = (NEEDS_REVIEW, UNREVIEWED, ACCEPTED, REJECTED)  # the review page's order


@dataclass(frozen=True)
class Verdict:
    digit: int
    confidence: float
    status: str


class Judge:
    """A column model (ONNX Runtime when exported) with its name and the SHA-256 of its weights."""

    def __init__(self, model: str | Path | None = None, confident: float = LOW_CONFIDENCE):
        path = Path(model) if model is not None else DEFAULT_MODEL
        self.reader = ColumnReader.open(path)
        self.confident = confident
        self.name, self.sha256 = _identity(path, self.reader.runtime)
        self._lock = threading.Lock()  # one inference at a time: 2 cores, and the batch is small

    def judge(self, pixels: list[np.ndarray], labels: list[int]) -> list[Verdict]:
        inputs = np.stack([preprocess(p) for p in pixels])
        with self._lock:
            readings = self.reader.read_inputs(inputs)
        return [
            Verdict(
                r["digit"],
                round(r["confidence"], 6),
                decide(r["digit"], r["confidence"], label, self.confident),
            )
            for r, label in zip(readings, labels, strict=True)
        ]


def decide(digit: int, confidence: float, label: int, confident: float) -> str:
    return NEEDS_REVIEW if digit != label and confidence >= confident else UNREVIEWED


def _identity(path: Path, runtime: str) -> tuple[str, str]:
    """(model name, SHA-256 of the weights file that runs): model.onnx or the .keras file."""
    folder = path if path.is_dir() else path.parent
    name = path.stem if path.is_file() else path.name
    if (folder / contract.FILENAME).is_file():
        name = contract.read(folder).get("model", {}).get("name", name)
    if runtime == "onnxruntime":
        weights = folder / "model.onnx"
    else:
        weights = path if path.is_file() else folder / "model.keras"
    return name, hashlib.sha256(weights.read_bytes()).hexdigest()
