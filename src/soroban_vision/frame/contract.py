"""The frame model's contract: the column contract's document (format, version, hashes, golden
vectors) with the frame model's input, preprocessing rule and output roles (`contract.FRAME_OUTPUTS`),
and the checks a reader runs on load: every file's SHA-256, then the golden vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from soroban_vision import contract
from soroban_vision.contract import FRAME_OUTPUTS, gray_from_data_url, png_data_url
from soroban_vision.errors import UsageError
from soroban_vision.frame.input import FRAME_SPEC, HEIGHT, PRESENT, WIDTH
from soroban_vision.frame.model import INPUT_NAME
from soroban_vision.precision import check_precision

INPUT = {**contract.INPUT, "name": INPUT_NAME, "shape": [1, HEIGHT, WIDTH, 1]}  # the same conventions
DECODE = {
    "corners": "corners * [region width, region height] - 0.5, in the working photo's pixels",
    "present": "frame >= threshold",
    "threshold": PRESENT,
}
# corners are normalized (a pixel of a 640-wide photo is 0.0016): float32 runtimes differ by ~1e-6
FLOAT32_TOLERANCE = {
    "keras": 1e-4,
    "onnxruntime": 1e-4,
    "cpu": 1e-4,
    "wasm": 1e-4,
    "webgl": 1e-3,
    "webgl-f16": 1e-2,
}


def preprocessing() -> dict:
    """The preprocessing rule, as data: the spec's frame_model section and the gray rule."""
    from soroban_vision.preprocess import SPEC

    return {
        "rule": FRAME_SPEC["about"],
        "alpha": SPEC["alpha"],
        "grayscale": SPEC["grayscale"],
        "box": {"factor": "max(1, min(W // width, H // height))", "region": "top-left, whole boxes"},
        "resize": {"method": "bilinear", "half_pixel_centers": True, "align_corners": False,
                   "antialias": False, "edge": "clamp", "width": WIDTH, "height": HEIGHT},
        "scale": {"divide_by": 255.0, "range": [0.0, 1.0]},
    }  # fmt: skip


def build(*, model, source_keras: Path, precision: str, files: dict, weight_bytes: int, golden: list[dict],
          verification: dict, versions: dict, tolerance: dict, fmt: str) -> dict:  # fmt: skip
    """The contract document of one exported frame model."""
    check_precision(precision)
    return {
        "format": contract.FORMAT,
        "version": contract.VERSION,
        "model": {
            "name": "frame",
            "task": "frame",
            "format": fmt,
            "source_keras_sha256": contract.sha256_file(source_keras),
            "versions": versions,
        },
        "input": {**INPUT, "normalization_inside_model": contract.normalization_layers(model)},
        "preprocessing": preprocessing(),
        "outputs": FRAME_OUTPUTS,
        "decode": DECODE,
        "weights": {"precision": precision, "bytes": weight_bytes, "files": files},
        "verification": verification,
        "golden": {"tolerance": tolerance, "vectors": golden},
    }


def golden_vectors(inputs: np.ndarray, labels: list[str], out: dict) -> list[dict]:
    """Each golden input as an 8-bit PNG (exact: the inputs are 8-bit levels / 255) and the answer."""
    return [
        {
            "label": label,
            "image": png_data_url(np.rint(inputs[i, ..., 0] * 255.0).astype(np.uint8)),
            "corners": np.asarray(out["corners"][i], np.float64).tolist(),
            "frame": [float(out["frame"][i, 0])],
        }
        for i, label in enumerate(labels)
    ]


def golden_inputs(doc: dict) -> np.ndarray:
    """The contract's golden images as model inputs [N,H,W,1]."""
    return np.stack(
        [gray_from_data_url(v["image"]).astype(np.float32) / 255.0 for v in doc["golden"]["vectors"]]
    )[..., None]


def verify_golden(doc: dict, runner, directory: str | Path, backend: str | None = None) -> dict:
    """The golden vectors through `runner`; a runtime whose corners or score stray beyond the
    contract's tolerance for `backend` is one UsageError line (golden_mismatch)."""
    backend = backend or runner.name
    vectors = (doc.get("golden") or {}).get("vectors") or []
    tolerance = ((doc.get("golden") or {}).get("tolerance") or {}).get(backend)
    if not vectors or not isinstance(tolerance, int | float):
        raise UsageError(
            f"{directory}: the contract has no golden vectors or tolerance for {backend}", code="no_golden"
        )
    out = runner.run({doc["input"]["name"]: golden_inputs(doc)})
    worst = 0.0
    for head in ("corners", "frame"):
        want = np.array([v[head] for v in vectors], np.float64)
        diff = np.abs(np.asarray(out[head], np.float64).reshape(want.shape) - want)
        diff[np.isnan(diff)] = np.inf
        worst = max(worst, float(diff.max()))
    if not worst <= tolerance:
        raise UsageError(
            f"{directory}: golden self-check failed on {backend}: the frame model's outputs differ from the "
            f"contract's by {worst:.2e} (> tolerance {tolerance:g}); do not trust this runtime's corners",
            code="golden_mismatch",
        )
    return {"vectors": len(vectors), "max_abs_diff": worst, "tolerance": float(tolerance)}


def read(directory: str | Path) -> dict:
    """A frame model's contract, checked (a column model's contract is refused by name)."""
    doc = contract.read(directory)
    roles = {o.get("role") for o in doc.get("outputs", {}).values()}
    if roles != set(FRAME_OUTPUTS):
        raise UsageError(
            f"{directory}: the contract's outputs {sorted(roles)} are not a frame model's", code="not_frame"
        )
    return doc


def open_verified_onnx(directory: Path):
    """An OnnxRunner for directory/model.onnx, its SHA-256 and golden vectors checked."""
    from soroban_vision.runners.onnx import OnnxRunner

    doc = read(directory)
    if "model.onnx" not in doc["weights"]["files"]:
        raise UsageError(f"{directory}: the contract does not list model.onnx", code="no_frame_model")
    contract.verify_files(doc, directory)
    runner = OnnxRunner(directory / "model.onnx")
    verify_golden(doc, runner, directory)
    return runner
