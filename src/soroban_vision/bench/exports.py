"""Every export of both models (TF.js at each precision, ONNX), each checked against Keras, and the
size figures: bytes shipped and whether the check passed."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from soroban_vision.bench.config import ARCHS, BenchConfig
from soroban_vision.bench.results import OURS, REFERENCE, Row
from soroban_vision.precision import PRECISIONS

EXPORTS = [("tfjs", p) for p in PRECISIONS] + [("onnx", "float32")]
SIZE_LABELS = {
    "tfjs-float32": "TF.js float32 weights",
    "tfjs-float16": "TF.js float16 weights",
    "tfjs-uint8": "TF.js uint8 weights",
    "onnx-float32": "ONNX float32 model file",
}


def _export_job(job: tuple[str, str, str, str, str | None]) -> dict:
    """One `soroban-vision export` (in a worker process): bytes shipped and the check's verdict."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from soroban_vision.export import export

    model_path, out, precision, fmt, check = job
    # force: a quantized export that changes answers is still written, so its bytes are measured;
    # its verification status then says "failed-forced"
    doc = export(
        model_path, out, precision=precision, fmt=fmt, force=True, check_data=check, say=lambda *a: None
    )
    v = doc["verification"]
    return {
        "bytes": int(doc["weights"]["bytes"]),
        "status": v["status"],
        "n": int(v["n"]),
        "disagreements": int(v["disagreements"]),
        "runtime": v["runtime"],
    }


def export_all(cfg: BenchConfig, trained: dict[str, dict], check: Path, root: Path, say) -> dict:
    """{arch: {"tfjs-float32": {...,"dir"}, ..., "onnx-float32": {...}}}, two exports at a time."""
    jobs = {}
    for arch in ARCHS:
        for fmt, precision in EXPORTS:
            out = root / arch / f"{fmt}-{precision}"
            jobs[(arch, f"{fmt}-{precision}")] = (
                str(trained[arch]["model"]),
                str(out),
                precision,
                fmt,
                str(check),
            )
    say(f"exporting {len(jobs)} models ({min(2, cfg.processes)} at a time), each checked against Keras")
    results: dict = {arch: {} for arch in ARCHS}
    with ProcessPoolExecutor(min(2, cfg.processes), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {key: pool.submit(_export_job, job) for key, job in jobs.items()}
        for (arch, name), fut in futures.items():
            r = fut.result()
            r["dir"] = Path(jobs[(arch, name)][1])
            results[arch][name] = r
            say(f"export {arch} {name}: {r['bytes']:,} bytes, check {r['status']}")
    return results


def _check_verdict(r: dict) -> str:
    """The export check as a result records it: passed or failed, and how many digits changed."""
    verdict = "passed" if r["status"] == "passed" else "failed"
    return f"{verdict} ({r['disagreements']}/{r['n']} digits changed)"


def size_rows(trained: dict[str, dict], exports: dict) -> list[Row]:
    kb = {a: trained[a]["metrics"]["weight_bytes_float32"] for a in ARCHS}
    n = exports[OURS]["tfjs-float32"]["n"]
    rows = [
        Row(
            "size.keras_float32",
            "Size",
            "float32 weights (Keras, incl. batch-norm statistics)",
            "bytes",
            kb[OURS],
            kb[REFERENCE],
            better="lower",
        )
    ]
    for name, label in SIZE_LABELS.items():
        rows.append(
            Row(
                f"size.{name}",
                "Size",
                label,
                "bytes",
                exports[OURS][name]["bytes"],
                exports[REFERENCE][name]["bytes"],
                better="lower",
                checks={a: _check_verdict(exports[a][name]) for a in ARCHS},
                note=f"export check: digit decisions vs Keras float32 on {n:,} columns "
                f"({exports[OURS][name]['runtime']})",
            )
        )
    return rows
