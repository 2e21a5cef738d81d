"""Export a trained column model for the browser (TF.js graph model) or for ONNX Runtime,
with its contract, and refuse exports that fail their check: quantized weights that change the
answers, or a float32 graph that strays from Keras beyond float32 rounding. (A frame model's
export, check and contract are `frame.export`'s.)

The export is checked, then staged beside --out and renamed into place: a refused or crashed
export leaves nothing in --out, and an --out that cannot be written is refused before any work.

Keras -> SavedModel -> the real `tensorflowjs_converter` -> graph model. Nothing here depends
on the converter's output order: outputs are always fetched by name. The converter writes the
outputs in a different order from run to run, though, and `predict()` returns them in that
order, so the export puts them back in the Keras model's order: code that takes outputs by
position gets what Keras gives it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soroban_vision import contract as contract_mod
from soroban_vision.contract import FLOAT32_TOLERANCE, decode, png_data_url
from soroban_vision.errors import SorobanError, UsageError
from soroban_vision.fold import fold_for_tfjs
from soroban_vision.folders import check_fresh, staged_folder
from soroban_vision.precision import check_precision
from soroban_vision.preprocess import preprocess
from soroban_vision.seeds import CHECK_SEED, GOLDEN_SEED
from soroban_vision.versions import versions

MAX_DISAGREEMENT = 0.001  # a quantized export may change at most 0.1% of digit decisions
CHECK_COUNT = 1000
FORMATS = ("tfjs", "onnx")


class ExportRefused(SorobanError):
    """The export failed its check (its answers differ from Keras's); exit code 3."""

    exit_code = 3
    code = "export_refused"


# --------------------------------------------------------------------------- inputs for checks


def golden_inputs() -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """One rendered column per digit: (inputs [10,128,64,1], labels [10], gray images)."""
    from soroban_vision.render import render_column

    grays = [render_column(d, GOLDEN_SEED + d)[0] for d in range(10)]
    return np.stack([preprocess(g) for g in grays]), np.arange(10), grays


def check_inputs(data: str | Path | None) -> tuple[np.ndarray, np.ndarray]:
    """A labelled validation set: the user's folder, or 1,000 freshly rendered columns."""
    if data is not None:
        from soroban_vision.data import scan
        from soroban_vision.preprocess import preprocess_file

        items = scan([data]).items
        return np.stack([preprocess_file(it.path) for it in items]), np.array([it.digit for it in items])
    from soroban_vision.render import render_column

    labels = np.arange(CHECK_COUNT) % 10
    return np.stack(
        [preprocess(render_column(int(d), CHECK_SEED + i)[0]) for i, d in enumerate(labels)]
    ), labels


# --------------------------------------------------------------------------- conversion


def saved_model(model, where: Path, folded: bool = True) -> Path:
    """The SavedModel the TF.js converter reads: `folded`, the model as `fold.fold_for_tfjs`
    rewrites it (every TF.js export's); else the model as it is."""
    with contextlib.redirect_stdout(io.StringIO()):
        (fold_for_tfjs(model) if folded else model).export(str(where), format="tf_saved_model", verbose=False)
    return where


def convert(saved: Path, out: Path, precision: str) -> Path:
    """The real tensorflowjs_converter, SavedModel -> graph model."""
    args = [
        sys.executable,
        "-m",
        "tensorflowjs.converters.converter",
        "--input_format=tf_saved_model",
        "--output_format=tfjs_graph_model",
        "--weight_shard_size_bytes=4194304",
    ]
    # `--quantize_float16 IN OUT` would swallow IN as the flag's value: always use `=*`.
    if precision == "float16":
        args.append("--quantize_float16=*")
    elif precision == "uint8":
        args.append("--quantize_uint8=*")
    proc = subprocess.run(
        [*args, str(saved), str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    if proc.returncode != 0 or not (out / "model.json").is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise SorobanError(f"tensorflowjs_converter failed: {last}")
    return out


def order_outputs(model_dir: Path, names: list[str]) -> None:
    """Rewrite model.json so its signature lists the outputs in `names`' order (the Keras
    model's), whatever order this converter run chose."""
    path = model_dir / "model.json"
    doc = json.loads(path.read_text())
    outputs = doc["signature"]["outputs"]
    if sorted(outputs) != sorted(names):
        raise SorobanError(f"the converted model's outputs {sorted(outputs)} are not the model's {names}")
    doc["signature"]["outputs"] = {name: outputs[name] for name in names}
    path.write_text(json.dumps(doc))


def graph_weights(model_dir: Path) -> dict[str, np.ndarray]:
    """The weights a graph model ships, dequantized to float32, by name."""
    doc = json.loads((model_dir / "model.json").read_text())
    out = {}
    for group in doc["weightsManifest"]:
        data = b"".join((model_dir / p).read_bytes() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            dtype = q["dtype"] if q else w["dtype"]
            width = {"float32": 4, "int32": 4, "float16": 2, "uint8": 1, "uint16": 2, "bool": 1}[dtype]
            raw = data[offset : offset + n * width]
            offset += n * width
            if q is None:
                arr = np.frombuffer(raw, {"float32": np.float32, "int32": np.int32, "bool": np.uint8}[dtype])
            elif dtype == "float16":
                arr = np.frombuffer(raw, np.float16).astype(np.float32)
            else:
                ints = np.frombuffer(raw, {"uint8": np.uint8, "uint16": np.uint16}[dtype]).astype(np.float32)
                arr = ints * np.float32(q["scale"]) + np.float32(q["min"])
            out[w["name"]] = arr.reshape(w["shape"]).astype(np.float32)
    return out


def rank_quantization_error(reference: dict[str, np.ndarray], quantized: dict[str, np.ndarray]) -> list[dict]:
    """Weight tensors ranked by quantization error relative to each tensor's own range."""
    rows = []
    for name, ref in reference.items():
        if name not in quantized or ref.dtype != np.float32 or ref.size == 0:
            continue
        if np.shape(quantized[name]) != ref.shape:  # the same name for another tensor (a kernel spelled out)
            continue
        err = np.abs(quantized[name] - ref)
        span = float(ref.max() - ref.min()) or 1.0
        typical = float(np.median(np.abs(ref))) or 1e-12
        rows.append(
            {
                "tensor": name,
                "size": int(ref.size),
                "max_abs_error": float(err.max()),
                "relative_to_range": float(err.max() / span),
                "mean_error_vs_typical_weight": float(err.mean() / typical),
            }
        )
    return sorted(rows, key=lambda r: -r["mean_error_vs_typical_weight"])


# --------------------------------------------------------------------------- checking a conversion


@dataclass(frozen=True)
class Reference:
    """The Keras model's answers, that every conversion of it is checked against."""

    golden_x: np.ndarray  # one rendered column per digit: the contract's golden vectors
    golden: dict[str, np.ndarray]
    check_x: np.ndarray  # the labelled check set
    check_y: np.ndarray
    check: dict[str, np.ndarray]


@dataclass(frozen=True)
class Conversion:
    """One conversion to make: the model, its precision, where to stage it and what to check it against."""

    model: object  # a keras.Model
    precision: str
    reference: Reference
    staging: Path  # a temporary folder; the staged export is moved to `out` only once it passed
    force: bool = False  # write the export even if it fails its check (recorded in its contract)
    say: Callable[[str], None] = print
    tolerance: float | None = None  # float32 exports: largest |diff| from Keras; None: the contract's


@dataclass(frozen=True)
class Staged:
    """A conversion written and checked: the files of the export and what its contract records."""

    folder: Path
    files: dict[str, str]  # file name -> SHA-256
    verification: dict
    tolerance: dict[str, float]  # by runtime: how far its probabilities may stray from the golden ones


def _files(directory: Path) -> dict[str, str]:
    doc = json.loads((directory / "model.json").read_text())
    names = ["model.json"] + [p for g in doc["weightsManifest"] for p in g["paths"]]
    return {n: contract_mod.sha256_file(directory / n) for n in names}


def _compare(reference: dict, other: dict, labels: np.ndarray) -> dict:
    d_ref, _ = decode(reference["heaven"], reference["earth"])
    d_other, _ = decode(other["heaven"], other["earth"])
    return {
        "n": len(labels),
        "agreement": float((d_ref == d_other).mean()),
        "disagreements": int((d_ref != d_other).sum()),
        "reference_accuracy": float((d_ref == labels).mean()),
        "accuracy": float((d_other == labels).mean()),
        "max_abs_diff": {
            k: float(np.abs(np.asarray(other[k]) - np.asarray(reference[k])).max())
            for k in ("heaven", "earth")
        },
    }


def _golden_diff(reference: Reference, golden_out: dict) -> float:
    return max(float(np.abs(golden_out[k] - reference.golden[k]).max()) for k in ("heaven", "earth"))


def _run_batched(runner, x: np.ndarray, batch: int = 128) -> dict[str, np.ndarray]:
    from soroban_vision.runners.base import run_batched

    return run_batched(runner, "image", x, batch)


# --------------------------------------------------------------------------- the export


def export(
    model_path: str | Path,
    out: str | Path,
    precision: str = "float32",
    fmt: str = "tfjs",
    force: bool = False,
    check_data: str | Path | None = None,
    say=print,
    tolerance: float | None = None,
) -> dict:
    """Write the exported model and its contract.json into `out`; return the contract.

    The export is checked against Keras first; one that fails is refused (ExportRefused, nothing
    written) unless `force`, which writes it with `verification.status` "failed-forced". A quantized
    export fails when it changes more than MAX_DISAGREEMENT of the digit decisions. A float32 one
    fails when a probability on the golden vectors or the check set strays from Keras's by more
    than `tolerance` (default: the contract's FLOAT32_TOLERANCE for the
    runtime that checks it, "wasm" for TF.js and "onnxruntime" for ONNX)."""
    if fmt not in FORMATS:
        raise UsageError(f"unsupported format {fmt!r}; choose tfjs or onnx")
    check_precision(precision, fmt)
    if tolerance is not None and precision != "float32":
        raise UsageError("--tolerance is for float32 exports; quantized ones are judged by their decisions")
    if tolerance is not None and not tolerance >= 0:
        raise UsageError(f"--tolerance must be a number >= 0, got {tolerance}")
    out = check_fresh(out, beside=True)  # before TensorFlow is even imported
    from soroban_vision.model import load_model, weight_bytes

    model_path = Path(model_path)
    model = load_model(model_path)
    source = model_path if model_path.is_file() else next(model_path.glob("*.keras"))
    if "corners" in model.output_names:  # the frame model: its own check set, rule and contract roles
        from soroban_vision.frame.export import export_frame

        return export_frame(model, source, out, precision, fmt, force, say, tolerance)
    golden_x, golden_y, golden_gray = golden_inputs()
    reference = _reference(model, golden_x, *check_inputs(check_data))
    with tempfile.TemporaryDirectory(prefix="sv-export-") as tmp:
        job = Conversion(model, precision, reference, Path(tmp), force, say, tolerance)
        staged = _export_tfjs(job) if fmt == "tfjs" else _export_onnx(job)
        exported_bytes = sum((staged.folder / n).stat().st_size for n in staged.files if n != "model.json")
        doc = contract_mod.build(
            model=model,
            source_keras=source,
            precision=precision,
            files=staged.files,
            weight_bytes=exported_bytes,
            golden=_golden_vectors(reference, golden_y, golden_gray),
            verification=staged.verification,
            versions=versions(),
            tolerance=staged.tolerance,
        )
        doc["model"]["format"] = "tfjs_graph_model" if fmt == "tfjs" else "onnx"
        with staged_folder(out) as folder:
            for f in staged.folder.iterdir():
                shutil.move(str(f), folder / f.name)
            contract_mod.write(doc, folder)
    v = staged.verification
    say(
        f"exported {fmt} {precision}: {exported_bytes / 1024:.1f} KiB of weights "
        f"(Keras float32 weights: {weight_bytes(model) / 1024:.1f} KiB) -> {out}"
    )
    say(
        f"checked on {v['n']} images with {v['runtime']}: digit agreement {v['agreement']:.4f}, "
        f"max |diff| heaven {v['max_abs_diff']['heaven']:.2g}, earth {v['max_abs_diff']['earth']:.2g}"
    )
    return doc


def _reference(model, golden_x: np.ndarray, check_x: np.ndarray, check_y: np.ndarray) -> Reference:
    from soroban_vision.runners.keras import KerasRunner

    keras_runner = KerasRunner(model=model)
    golden = keras_runner.run({"image": golden_x})
    return Reference(golden_x, golden, check_x, check_y, _run_batched(keras_runner, check_x))


def _golden_vectors(reference: Reference, labels: np.ndarray, grays: list[np.ndarray]) -> list[dict]:
    """The contract's golden vectors: each column's image and Keras's answer on it."""
    return [
        {
            "label": int(y),
            "image": png_data_url(g),
            "heaven": [float(v) for v in reference.golden["heaven"][i]],
            "earth": [float(v) for v in reference.golden["earth"][i]],
        }
        for i, (y, g) in enumerate(zip(labels, grays, strict=True))
    ]


def _export_tfjs(job: Conversion) -> Staged:
    from soroban_vision.runners.node import NodeRunner

    saved = saved_model(job.model, job.staging / "saved")
    job.say(f"converting to a TF.js graph model ({job.precision}) with tensorflowjs_converter")
    f32 = convert(saved, job.staging / "float32", "float32")
    staged = f32 if job.precision == "float32" else convert(saved, job.staging / job.precision, job.precision)
    order_outputs(staged, list(job.model.output_names))
    with NodeRunner(staged, backend="wasm") as runner:
        check_out = _run_batched(runner, job.reference.check_x)
        golden_out = runner.run({"image": job.reference.golden_x}, ["heaven", "earth"])
        name = runner.name
    verification = {"runtime": name, **_compare(job.reference.check, check_out, job.reference.check_y)}
    verification["golden_max_abs_diff"] = _golden_diff(job.reference, golden_out)
    if job.precision == "float32":
        tolerance = _judge_float32(job, verification, "wasm", "TF.js")
    else:
        tolerance = _judge_quantized(job, verification, graph_weights(f32), graph_weights(staged))
    return Staged(staged, _files(staged), verification, tolerance)


def _export_onnx(job: Conversion) -> Staged:
    from soroban_vision.runners.onnx import OnnxRunner

    staged = job.staging / "onnx"
    staged.mkdir()
    job.say("converting to ONNX")
    with contextlib.redirect_stdout(io.StringIO()):
        job.model.export(str(staged / "model.onnx"), format="onnx", verbose=False)
    with OnnxRunner(staged / "model.onnx") as runner:
        check_out = _run_batched(runner, job.reference.check_x)
        golden_out = runner.run({"image": job.reference.golden_x})
        name = runner.name
    missing = {"heaven", "earth"} - set(check_out)
    if missing:
        raise SorobanError(f"the ONNX model lacks outputs named {sorted(missing)}")
    verification = {"runtime": name, **_compare(job.reference.check, check_out, job.reference.check_y)}
    verification["golden_max_abs_diff"] = _golden_diff(job.reference, golden_out)
    tolerance = _judge_float32(job, verification, name, "ONNX")
    files = {"model.onnx": contract_mod.sha256_file(staged / "model.onnx")}
    return Staged(staged, files, verification, tolerance)


# --------------------------------------------------------------------------- judging a conversion


def _judge_float32(job: Conversion, verification: dict, backend: str, what: str) -> dict[str, float]:
    """Pass, refuse or (with force) record the failure of a float32 export, in `verification`: no
    probability may stray from Keras's by more than the tolerance of the `backend` that checked
    it. A decision that flips while every probability stays within that tolerance is a tie the
    model itself cannot settle (an untrained model sits at 0.5), not a fault of the export: it is
    recorded, not refused. Return the golden tolerance it is written with."""
    allowed = float(FLOAT32_TOLERANCE[backend] if job.tolerance is None else job.tolerance)
    worst = max(verification["golden_max_abs_diff"], *verification["max_abs_diff"].values())
    verification["tolerance"] = allowed
    # readers' golden checks are never stricter than the check this export passed
    tolerance = {k: max(v, allowed) for k, v in FLOAT32_TOLERANCE.items()}
    if worst <= allowed:
        verification["status"] = "passed"
        return tolerance
    message = (
        f"the float32 {what} model differs from Keras on {verification['runtime']}: max |diff| "
        f"{worst:.2g} (tolerance {allowed:.2g}), {verification['disagreements']} of {verification['n']} "
        "digit decisions changed"
    )
    remedy = "--force writes it anyway, for `soroban-vision doctor` to find why"
    _refuse_unless_forced(job, verification, message, remedy)
    return tolerance


def _judge_quantized(job: Conversion, verification: dict, f32: dict, quantized: dict) -> dict[str, float]:
    """Pass, refuse or (with force) record the failure of a quantized export, in `verification`;
    return the golden tolerance it is written with."""
    ranking = rank_quantization_error(f32, quantized)
    verification["worst_tensors"] = ranking[:5]
    rate = verification["disagreements"] / verification["n"]
    measured = max(verification["golden_max_abs_diff"], *verification["max_abs_diff"].values())
    # golden checks allow the quantization error this export was measured to have, with headroom
    tolerance = {k: float(v + 2 * measured) for k, v in FLOAT32_TOLERANCE.items()}
    if rate <= MAX_DISAGREEMENT:
        verification["status"] = "passed"
        return tolerance
    worst = ", ".join(f"{r['tensor']} ({r['mean_error_vs_typical_weight']:.2f})" for r in ranking[:3])
    message = (
        f"{job.precision} weights change {verification['disagreements']} of {verification['n']} digit "
        f"decisions (agreement {verification['agreement']:.4f}, allowed "
        f"{1 - MAX_DISAGREEMENT:.3f}); worst tensors by error/typical weight: {worst}"
    )
    _refuse_unless_forced(job, verification, message, "use float32, or --force to write it anyway")
    return tolerance


def _refuse_unless_forced(job: Conversion, verification: dict, message: str, remedy: str) -> None:
    """ExportRefused; or, with force, a warning and the failure recorded as "failed-forced"."""
    if not job.force:
        raise ExportRefused(f"export refused: {message}; {remedy}")
    job.say(f"warning: {message}; written anyway because of --force")
    verification["status"] = "failed-forced"
