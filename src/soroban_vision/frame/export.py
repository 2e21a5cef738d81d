"""Export a trained frame model for the browser (TF.js graph model) or ONNX Runtime with its
contract (`frame.contract`), and refuse an export whose answers differ from Keras's: a float32
one whose corners or score stray beyond the contract's tolerance, a quantized one that moves a
corner more than MAX_CORNER_SHIFT_PX in a 640x480 photo or changes more than 0.1% of the
frame-present decisions. Staged beside --out and renamed into place, as `export` does."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

from soroban_vision import contract as contract_mod
from soroban_vision.export import (
    MAX_DISAGREEMENT,
    ExportRefused,
    convert,
    graph_weights,
    order_outputs,
    rank_quantization_error,
    saved_model,
)
from soroban_vision.folders import staged_folder
from soroban_vision.frame import contract as frame_contract
from soroban_vision.frame.input import PRESENT, frame_input
from soroban_vision.frame.model import INPUT_NAME, OUTPUTS
from soroban_vision.versions import versions

GOLDEN_SEED = 20_240_602  # the frame contract's golden scenes (not a training or held-out seed)
CHECK_SEED = 555_000  # the frame export check's scenes
CHECK_SCENES, CHECK_TABLES = 96, 24
GOLDEN_SCENES, GOLDEN_TABLES = 6, 2
MAX_CORNER_SHIFT_PX = 1.0  # a quantized export may move a corner at most this far, in a 640x480 photo
PHOTO = np.array([640.0, 480.0])


def check_inputs(seed: int, scenes: int, tables: int) -> tuple[np.ndarray, list[str]]:
    """Model inputs of rendered scenes (wide, no markers, 9-31 rods) and soroban-free tables."""
    from soroban_vision.frame.examples import _table_example
    from soroban_vision.preprocess import to_gray
    from soroban_vision.render.scene import render_scene, scene_seed

    xs, labels = [], []
    for i in range(scenes):
        columns = int(np.random.default_rng([seed, i]).integers(9, 32))
        rgb, truth = render_scene(0, columns, scene_seed(seed, i), False, variety="wide")
        xs.append(frame_input(to_gray(rgb)))
        labels.append(f"scene {i}: {columns} rods")
    for i in range(tables):
        png, _ = _table_example(seed + i)[0]
        xs.append(
            cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)[..., None] / np.float32(255)
        )
        labels.append(f"table {i}")
    # what the golden PNGs hold: 8-bit levels, so the contract's images are the inputs exactly
    return np.rint(np.stack(xs).astype(np.float32) * 255) / np.float32(255), labels


def compare(reference: dict, other: dict) -> dict:
    """How far an export's answers are from Keras's: |diff|, corner shift in 640x480 pixels, decisions."""
    ref_p, got_p = reference["frame"].ravel() >= PRESENT, other["frame"].ravel() >= PRESENT
    shift = np.linalg.norm((np.asarray(other["corners"]) - reference["corners"]) * PHOTO, axis=-1)
    return {
        "n": len(ref_p),
        "agreement": float((ref_p == got_p).mean()),
        "disagreements": int((ref_p != got_p).sum()),
        "max_abs_diff": {k: float(np.abs(np.asarray(other[k]) - reference[k]).max()) for k in OUTPUTS},
        "max_corner_shift_px": float(shift[ref_p].max()) if ref_p.any() else 0.0,
    }


def _run(runner, x: np.ndarray) -> dict[str, np.ndarray]:
    parts: dict[str, list] = {k: [] for k in OUTPUTS}
    for i in range(0, len(x), 32):
        out = runner.run({INPUT_NAME: x[i : i + 32]})
        for k in OUTPUTS:
            parts[k].append(np.asarray(out[k], np.float64))
    return {k: np.concatenate(v) for k, v in parts.items()}


def export_frame(
    model, source: Path, out: Path, precision: str, fmt: str, force: bool, say, tolerance
) -> dict:
    """The frame model's export (`export.export` hands a model with corners here)."""
    from soroban_vision.model import weight_bytes
    from soroban_vision.runners.keras import KerasRunner

    golden_x, golden_labels = check_inputs(GOLDEN_SEED, GOLDEN_SCENES, GOLDEN_TABLES)
    check_x, _ = check_inputs(CHECK_SEED, CHECK_SCENES, CHECK_TABLES)
    keras_runner = KerasRunner(model=model)
    ref_golden, ref_check = _run(keras_runner, golden_x), _run(keras_runner, check_x)
    with tempfile.TemporaryDirectory(prefix="sv-frame-export-") as tmp:
        staged, runner_name, files, f32, quantized = _convert(model, Path(tmp), precision, fmt, say)
        with _runner(staged, fmt) as runner:
            got_check, got_golden = _run(runner, check_x), _run(runner, golden_x)
        verification = {"runtime": runner_name, **compare(ref_check, got_check)}
        verification["golden_max_abs_diff"] = max(
            float(np.abs(got_golden[k] - ref_golden[k]).max()) for k in OUTPUTS
        )
        golden_tolerance = _judge(verification, precision, force, say, tolerance, f32, quantized)
        exported_bytes = sum((staged / n).stat().st_size for n in files if n != "model.json")
        doc = frame_contract.build(
            model=model,
            source_keras=source,
            precision=precision,
            files=files,
            weight_bytes=exported_bytes,
            golden=frame_contract.golden_vectors(golden_x, golden_labels, ref_golden),
            verification=verification,
            versions=versions(),
            tolerance=golden_tolerance,
            fmt="tfjs_graph_model" if fmt == "tfjs" else "onnx",
        )
        with staged_folder(out) as folder:
            for f in staged.iterdir():
                shutil.move(str(f), folder / f.name)
            contract_mod.write(doc, folder)
    v = verification
    say(
        f"exported the frame model ({fmt} {precision}): {exported_bytes / 1024:.1f} KiB of weights "
        f"(Keras float32: {weight_bytes(model) / 1024:.1f} KiB) -> {out}"
    )
    say(
        f"checked on {v['n']} images with {v['runtime']}: frame decisions agree {v['agreement']:.4f}, "
        f"corners move at most {v['max_corner_shift_px']:.3g} px (640x480), max |diff| "
        f"corners {v['max_abs_diff']['corners']:.2g}, frame {v['max_abs_diff']['frame']:.2g}"
    )
    return doc


def _convert(model, tmp: Path, precision: str, fmt: str, say):
    """(the staged folder, the runtime that checks it, its files' SHA-256, float32 and quantized weights)."""
    if fmt == "onnx":
        staged = tmp / "onnx"
        staged.mkdir()
        say("converting the frame model to ONNX")
        with contextlib.redirect_stdout(io.StringIO()):
            model.export(str(staged / "model.onnx"), format="onnx", verbose=False)
        return (
            staged,
            "onnxruntime",
            {"model.onnx": contract_mod.sha256_file(staged / "model.onnx")},
            None,
            None,
        )
    saved = saved_model(model, tmp / "saved")
    say(f"converting the frame model to a TF.js graph model ({precision}) with tensorflowjs_converter")
    f32 = convert(saved, tmp / "float32", "float32")
    staged = f32 if precision == "float32" else convert(saved, tmp / precision, precision)
    order_outputs(staged, list(model.output_names))
    doc = json.loads((staged / "model.json").read_text())
    names = ["model.json"] + [p for g in doc["weightsManifest"] for p in g["paths"]]
    files = {n: contract_mod.sha256_file(staged / n) for n in names}
    return staged, "tfjs-node-wasm", files, graph_weights(f32), graph_weights(staged)


@contextlib.contextmanager
def _runner(staged: Path, fmt: str):
    if fmt == "onnx":
        from soroban_vision.runners.onnx import OnnxRunner

        with OnnxRunner(staged / "model.onnx") as r:
            yield r
        return
    from soroban_vision.runners.node import NodeRunner

    with NodeRunner(staged, backend="wasm") as r:
        yield r


def _judge(verification: dict, precision: str, force: bool, say, tolerance, f32, quantized) -> dict:
    """Pass, refuse (ExportRefused) or, with force, record the failure; the golden tolerance to write."""
    tol = frame_contract.FLOAT32_TOLERANCE
    measured = max(verification["golden_max_abs_diff"], *verification["max_abs_diff"].values())
    if precision == "float32":
        key = "onnxruntime" if verification["runtime"] == "onnxruntime" else "wasm"
        allowed = float(tol[key] if tolerance is None else tolerance)
        verification["tolerance"] = allowed
        failed = None if measured <= allowed else f"max |diff| {measured:.2g} (tolerance {allowed:.2g})"
        golden = {k: max(v, allowed) for k, v in tol.items()}
    else:
        ranking = rank_quantization_error(f32, quantized)
        verification["worst_tensors"] = ranking[:5]
        rate = verification["disagreements"] / verification["n"]
        shift = verification["max_corner_shift_px"]
        failed = None
        if rate > MAX_DISAGREEMENT or shift > MAX_CORNER_SHIFT_PX:
            failed = (
                f"{precision} weights change {verification['disagreements']} of {verification['n']} frame "
                f"decisions and move a corner up to {shift:.2f} px in a 640x480 photo (allowed: "
                f"{MAX_DISAGREEMENT:.1%} and {MAX_CORNER_SHIFT_PX} px)"
            )
        golden = {k: float(v + 2 * measured) for k, v in tol.items()}
    if failed is None:
        verification["status"] = "passed"
        return golden
    if not force:
        raise ExportRefused(
            f"export refused: the frame model's {failed}; use float32, or --force to write it"
        )
    say(f"warning: {failed}; written anyway because of --force")
    verification["status"] = "failed-forced"
    return golden
