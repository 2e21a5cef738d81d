"""The model contract: what goes into the column classifier and what its outputs mean.

Defined once here (and once in web/src for the browser). The output roles and the decode
rule live here from the start, so Python inference, evaluation and the browser all turn
the two heads into a digit the same way.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import TypedDict

import numpy as np

from soroban_vision.beads import to_digit
from soroban_vision.errors import UsageError
from soroban_vision.precision import PRECISIONS, check_precision
from soroban_vision.preprocess import HEIGHT, SPEC, WIDTH

FORMAT = "soroban-vision/contract"
VERSION = 1
FILENAME = "contract.json"
INPUT = {
    "name": "image",
    "shape": [1, HEIGHT, WIDTH, 1],
    "batch_dimension": 0,
    "layout": "NHWC",
    "dtype": "float32",
    "range": [0.0, 1.0],
}
# How far a runtime's probabilities may stray from the golden float32 reference, by backend.
# float32 runtimes differ only by float rounding (measured on the shipped model: at most 1.2e-7 for ONNX
# Runtime and TF.js wasm on 1,000 columns); WebGL's shaders are looser.
# WebGL with half-float textures (what many phones compute) rounds activations to float16.
FLOAT32_TOLERANCE = {
    "keras": 1e-5,
    "onnxruntime": 1e-5,
    "cpu": 1e-5,
    "wasm": 1e-5,
    "webgl": 1e-3,
    "webgl-f16": 1e-2,
}

HEAVEN_THRESHOLD = 0.5

OUTPUTS = {
    "heaven": {
        "role": "heaven",
        "shape": [None, 1],
        "activation": "sigmoid",
        "meaning": "probability that the heaven bead touches the bar",
        "threshold": HEAVEN_THRESHOLD,
    },
    "earth": {
        "role": "earth",
        "shape": [None, 5],
        "activation": "softmax",
        "meaning": "probability of 0, 1, 2, 3 or 4 earth beads touching the bar",
    },
}
# The frame model's outputs (soroban_vision/frame): the same contract document, other roles.
CORNER_ORDER = ["top-left", "top-right", "bottom-right", "bottom-left"]
FRAME_OUTPUTS = {
    "corners": {
        "role": "corners",
        "shape": [None, 4, 2],
        "order": CORNER_ORDER,
        "units": "normalized (x, y) of the input: 0 and 1 are the outer edges of its first and last pixels",
        "meaning": "the soroban frame's four outer corners",
    },
    "frame": {
        "role": "frame",
        "shape": [None, 1],
        "activation": "sigmoid",
        "meaning": "probability that one whole soroban frame is in the image (decode.threshold: the spec's)",
    },
}
ROLES = {"heaven", "earth", "corners", "frame"}  # every output role a contract may give
DECODE = {
    "digit": "5 * (heaven >= threshold) + argmax(earth)",
    "confidence": "max(heaven, 1 - heaven) * max(earth)",
}
# The decode section's optional "calibration": each head's probabilities tempered before the
# confidence is taken (heaven = sigmoid(logit / T), earth = softmax(log / T)). Digits never change;
# a contract without it (every contract before it existed) means temperatures of 1.
CALIBRATION_METHOD = "temperature"
_EPS = 1e-12  # probabilities kept off 0 and 1 before their logarithms


class Calibration(TypedDict, total=False):
    method: str
    heaven: float
    earth: float


class Reading(TypedDict):
    digit: int
    confidence: float
    heaven: dict
    earth: dict


def calibrated(
    heaven: np.ndarray, earth: np.ndarray, calibration: Calibration | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Head outputs as float64 heaven [N] and earth [N,5], tempered by `calibration` (the
    contract's decode.calibration) when it has temperatures other than 1."""
    p = np.asarray(heaven, np.float64).reshape(-1)
    e = np.asarray(earth, np.float64).reshape(len(p), 5)
    t_heaven, t_earth = temperatures(calibration)
    if t_heaven != 1.0:
        q = np.clip(p, _EPS, 1 - _EPS)
        p = 1 / (1 + np.exp(-np.log(q / (1 - q)) / t_heaven))
    if t_earth != 1.0:
        z = np.log(np.clip(e, _EPS, 1.0)) / t_earth
        z = np.exp(z - z.max(axis=1, keepdims=True))
        e = z / z.sum(axis=1, keepdims=True)
    return p, e


def temperatures(calibration: Calibration | None) -> tuple[float, float]:
    """(heaven, earth) temperatures of a decode.calibration; UsageError for one this code does
    not implement, as the browser refuses it."""
    if not calibration:
        return 1.0, 1.0
    t = (calibration.get("heaven", 1.0), calibration.get("earth", 1.0))
    if calibration.get("method") != CALIBRATION_METHOD or not all(
        isinstance(v, int | float) and 0 < v < np.inf for v in t
    ):
        raise UsageError(
            f"the contract's calibration {calibration} is not temperature scaling with two positive "
            "temperatures (heaven, earth)",
            code="contract_unsupported",
        )
    return float(t[0]), float(t[1])


def decode(
    heaven: np.ndarray, earth: np.ndarray, calibration: Calibration | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Head outputs [N,1] and [N,5] -> digits [N] and confidences [N], per DECODE (the
    probabilities tempered first by `calibration`, when given)."""
    p, e = calibrated(heaven, earth, calibration)
    active = p >= HEAVEN_THRESHOLD
    digits = 5 * active.astype(np.int64) + e.argmax(axis=1)
    confidence = np.maximum(p, 1 - p) * e.max(axis=1)
    return digits, confidence


def readings(heaven: np.ndarray, earth: np.ndarray, calibration: Calibration | None = None) -> list[Reading]:
    """Per-image results in the shape the browser library returns (probabilities calibrated)."""
    digits, confidence = decode(heaven, earth, calibration)
    p, e = calibrated(heaven, earth, calibration)
    out = []
    for i in range(len(p)):
        count = int(e[i].argmax())
        active = bool(p[i] >= HEAVEN_THRESHOLD)
        out.append(
            {
                "digit": to_digit(int(active), count),
                "confidence": float(confidence[i]),
                "heaven": {"active": active, "p": float(p[i])},
                "earth": {"count": count, "probs": [float(v) for v in e[i]]},
            }
        )
    return out


# --------------------------------------------------------------------------- the document


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def normalization_layers(model) -> list[dict]:
    """The normalization and preprocessing layers inside a Keras model, with the input range
    each one expects, so nobody applies them again outside."""
    found = []
    for layer in all_layers(model):
        kind = layer.__class__.__name__
        if kind == "Rescaling":
            scale, offset = float(np.asarray(layer.scale)), float(np.asarray(layer.offset))
            found.append(
                {
                    "layer": layer.name,
                    "type": kind,
                    "scale": scale,
                    "offset": offset,
                    "maps": [[0.0, 1.0], [offset, scale + offset]],
                }
            )
        elif kind in ("Normalization", "Resizing", "CenterCrop"):
            found.append({"layer": layer.name, "type": kind})
    return found


def all_layers(model):
    """Every layer of a Keras model, the layers of nested models included (depth first)."""
    for layer in getattr(model, "layers", []):
        yield layer
        yield from all_layers(layer)


def png_data_url(gray: np.ndarray) -> str:
    import cv2

    ok, buf = cv2.imencode(".png", gray)
    return "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode()


def gray_from_data_url(url: str) -> np.ndarray:
    """The gray image of a golden vector's PNG data URL (what `png_data_url` wrote)."""
    import cv2

    data = np.frombuffer(base64.b64decode(url.split(",", 1)[-1]), np.uint8)
    gray = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    if gray is None:
        raise UsageError("a golden vector's image is not a PNG", code="no_golden")
    return gray


def build(
    *,
    model,
    source_keras: Path,
    precision: str,
    files: dict[str, str],
    weight_bytes: int,
    golden: list[dict],
    verification: dict,
    versions: dict,
    tolerance: dict,
) -> dict:
    """The contract document for one exported model."""
    check_precision(precision)
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": {
            "name": model.name,
            "source_keras_sha256": sha256_file(source_keras),
            "versions": versions,
        },
        "input": {**INPUT, "normalization_inside_model": normalization_layers(model)},
        "preprocessing": SPEC,
        "outputs": OUTPUTS,
        "decode": {**DECODE, "threshold": HEAVEN_THRESHOLD},
        "weights": {"precision": precision, "bytes": weight_bytes, "files": files},
        "verification": verification,
        "golden": {"tolerance": tolerance, "vectors": golden},
    }


def write(contract: dict, directory: Path) -> Path:
    path = Path(directory) / FILENAME
    path.write_text(json.dumps(contract, indent=1) + "\n")
    return path


def read(directory: str | Path) -> dict:
    """Load and check a contract; every problem is one UsageError line."""
    path = Path(directory) / FILENAME
    if not path.is_file():
        raise UsageError(f"{directory} has no {FILENAME}; export the model with `soroban-vision export`")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UsageError(f"{path} is not valid JSON ({e})") from None
    if doc.get("format") != FORMAT:
        raise UsageError(f"{path} is not a soroban-vision contract")
    if doc.get("version") != VERSION:
        raise UsageError(f"{path} has contract version {doc.get('version')}; this reader knows {VERSION}")
    precision = doc.get("weights", {}).get("precision")
    if precision not in PRECISIONS:
        raise UsageError(f"{path}: unsupported weight precision {precision!r}")
    return doc


def calibration_of(contract: dict) -> Calibration | None:
    """The contract's decode.calibration, checked; None when it has none (temperatures of 1)."""
    calibration = (contract.get("decode") or {}).get("calibration")
    temperatures(calibration)
    return calibration or None


def model_calibration(path: str | Path | None) -> Calibration | None:
    """The calibration of the model at `path` (a model folder, or a .keras file in one): its
    folder's contract.json decides, as the browser's export's contract does; None without one."""
    if path is None:
        return None
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    return calibration_of(read(folder)) if (folder / FILENAME).is_file() else None


def write_calibration(directory: str | Path, calibration: Calibration) -> Path:
    """Set decode.calibration in the contract.json of `directory` (nothing else changes: the
    golden vectors check the raw outputs, which calibration never touches)."""
    temperatures(calibration)
    doc = read(directory)
    doc["decode"] = {**doc.get("decode", {}), "calibration": dict(calibration)}
    return write(doc, Path(directory))


def verify_files(contract: dict, directory: str | Path) -> None:
    """Every file the contract lists is there and has the recorded SHA-256."""
    directory = Path(directory)
    for name, digest in contract["weights"]["files"].items():
        f = directory / name
        if not f.is_file():
            raise UsageError(f"{f} is missing (the contract lists it)")
        if sha256_file(f) != digest:
            raise UsageError(
                f"{f} does not match the contract's SHA-256: the file is corrupt, truncated, "
                "or from another model"
            )


def verify_golden(contract: dict, runner, directory: str | Path, backend: str | None = None) -> dict:
    """Run the contract's golden vectors through `runner` (any runners.base.Runner), preprocessed by the
    contract's rule, as the browser does on load. A runtime whose probabilities stray from the golden
    ones by more than the contract's tolerance for `backend` (default: the runner's name) is one
    UsageError line (code golden_mismatch). Returns {vectors, max_abs_diff, tolerance}."""
    from soroban_vision.preprocess import preprocess

    backend = backend or runner.name
    golden = contract.get("golden") or {}
    vectors, tolerances = golden.get("vectors") or [], golden.get("tolerance") or {}
    if not vectors:
        raise UsageError(
            f"{directory}: the contract has no golden vectors to check {backend} with", code="no_golden"
        )
    tolerance = tolerances.get(backend)
    if not isinstance(tolerance, int | float):
        raise UsageError(
            f"{directory}: the contract gives no golden tolerance for {backend} "
            f"(it has: {', '.join(tolerances) or 'none'})",
            code="no_golden",
        )
    x = np.stack([preprocess(gray_from_data_url(v["image"])) for v in vectors])
    out = runner.run({contract["input"]["name"]: x})
    worst = (0.0, "", 0, 0)  # |diff|, head, vector, index
    for head in ("heaven", "earth"):
        want = np.array([v[head] for v in vectors], np.float64)
        diff = np.abs(np.asarray(out[head], np.float64).reshape(want.shape) - want)
        diff[np.isnan(diff)] = np.inf  # a NaN is as far from the golden answer as can be
        i, k = np.unravel_index(int(diff.argmax()), diff.shape)
        if diff[i, k] > worst[0] or not worst[1]:
            worst = (float(diff[i, k]), head, int(i), int(k))
    d, head, i, k = worst
    if not d <= tolerance:
        raise UsageError(
            f"{directory}: golden self-check failed on {backend}: vector {vectors[i]['label']} "
            f"{head}[{k}] is {float(np.asarray(out[head]).reshape(len(vectors), -1)[i, k]):.6g} but the "
            f"contract says {vectors[i][head][k]:.6g} (|diff| {d:.2e} > tolerance {tolerance:g}); this "
            "runtime does not reproduce the model, do not trust its answers",
            code="golden_mismatch",
        )
    return {"vectors": len(vectors), "max_abs_diff": d, "tolerance": float(tolerance)}
