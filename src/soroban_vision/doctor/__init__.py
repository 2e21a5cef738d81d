"""`soroban-vision doctor`: find why a deployed model answers differently from its reference.

    soroban-vision doctor [--keras PATH] [--tfjs DIR] [--onnx FILE] [--images DIR]
                          [--input-range LO,HI] [--runtimes LIST] [--json FILE] [--html FILE]
    soroban-vision doctor --frame DIR [--scenes DIR] [...]     # a frame (corner) model

A frame model (its contract names the roles corners and frame, or its input is the frame
model's 128x160 gray) gets the same six checks on photos with their true corners (24 scenes of the
widened renderer and 8 tables rendered on the spot, or --scenes DIR), measured in the photo's
pixels: normalization scores corner error and frame-present decisions under each range;
quantization applies the frame export's rule (a corner moves at most 1 px in a 640x480 photo,
0.1% of decisions) on export's own check scenes; preprocess_parity runs the browser library's
whole frame detection (web/src/frame) in Chromium against Python's; runtime_parity fails a
float32 runtime whose corners move more than 0.5 px or whose decisions change (frame_*.py,
checks/frame_*.py; docs/doctor-frame.md).

It runs the same inputs through every runtime that can run here (keras, onnxruntime,
tfjs-node, chromium-cpu, chromium-wasm, chromium-webgl, chromium-webgl-f16) and runs six
checks. Exit code 0 when every check passes or warns, 1 when any fails, 2 on a usage error.

Checks (stable ids, in this order):
  preprocessing_layers  normalization layers inside the model (Keras Rescaling/Normalization/
                        Resizing; Mul/AddV2/Sub/RealDiv constants after the graph's input) and
                        the input range they expect.
  normalization         errors on labelled images under [0,255], [0,1], [-1,1], [0,2] and the
                        declared range; a range better than the declared one by more than 1% of
                        the digits (or 1.5x the expected errors + 0.1) fails the check when an exact
                        paired test on the same images gives p < 0.01, else warns "inconclusive".
  quantization          float16/uint8 weights against the float32 Keras model, judged as export
                        judges them: on export's 1,000 check columns (with tfjs-node), at most 0.1%
                        of the decisions may change and the outputs must stay within the contract's
                        golden tolerance; a contract recording that export refused these files
                        fails it too. Weight tensors ranked by quantization error.
  output_mapping        output names, predict() order and shapes: Keras vs graph vs contract roles.
  preprocess_parity     Python's preprocessing vs the browser library's, on the image files.
  runtime_parity        every runtime against the reference: max/mean |diff|, decisions, and the
                        smallest tolerance that would pass (as Polygraphy prints it).

Where things live. Gathering runs and measures everything once; then each check is a pure
function of those facts, so the checks' order does not matter:
  session.py            the arguments, the inputs, every runtime run once: gather() -> Facts
  measure.py            what the checks need beyond the runtimes' answers, measured right after
  facts.py              Facts: everything the checks read
  runtimes.py           every runtime behind the Runner interface (Chromium in background threads)
  inputs.py             labelled image sets and generated feeds
  check_set.py          export's check columns through Keras and the quantized deployment
  paired.py             exact paired tests: is one input range better than another, or chance?
  graph.py              model.json read without running it (with or without a signature), and
                        the arithmetic after its input
  own_normalization.py  the model's own normalization (layers or graph arithmetic) as one view
  reference.py          the Keras reference converted to float32 weights (cached)
  compare.py            difference statistics, decisions, roles, input ranges
  pitfalls.py           known ways browser preprocessing goes wrong, in numpy
  checks/               one module per check id: Facts -> Finding (status, evidence);
                        agreement.py (one runtime against another), wording.py (every sentence)
  report.py             console table, JSON and HTML;  jsonable.py: values as JSON types

JSON report (`--json FILE`), format "soroban-vision/doctor", version 1:

    {
      "format": "soroban-vision/doctor", "version": 1,
      "status": "pass" | "warn" | "fail",          # the worst check status (skip counts as pass)
      "exit_code": 0 | 1,
      "checks": [                                   # always all six, in the order above
        {"id": str, "status": "pass" | "warn" | "fail" | "skip",
         "summary": str,                            # one line a person can act on
         "evidence": {...}}                         # check-specific, see below
      ],
      "runtimes": [                                 # every requested runtime, in the order above
        {"id": str, "status": "ran" | "skipped" | "failed", "reason": str,
         "weights": "float32" | "float16" | "uint8" | "mixed" | null,
         "compute": "float32" | "float16",
         "inputs": [{"name", "shape", "dtype"}], "outputs": [{"name", "shape", "dtype"}],
         "median_ms_per_batch": float | null, "batches": int}
      ],
      "model": {"keras": str | null, "tfjs": str | null, "onnx": str | null, "contract": bool,
                "kind": "column" | "frame" | "generic", "weights_precision": str | null,
                "inputs": [...], "outputs": [...],        # outputs in predict() order
                "input_range": {"declared": [lo, hi], "source": "--input-range" | "contract" | "default"}},
      "data": {"source": "rendered" | "folder" | "generated", "path": str | null, "n": int,
               "per_digit": {digit: count}, "feeds": int, "notes": [str]},
               # a frame model: {"source": "rendered" | "scenes", "path", "n", "scenes", "tables",
               #                 "feeds", "notes"}
      "notes": [str], "seconds": float, "versions": {package: version}
    }

Evidence keys by check (shapes use null for an unknown dimension):
  preprocessing_layers: declared, range_source, keras {layers: [{layer, type, scale, offset,
      expects, maps_to, identity, affine}]}, graph {inputs: [{input, steps: [{op, node, const}],
      scale, offset, expects, maps_to, identity, affine, resize, stopped_at}]}, expects, maps_to
  normalization: runtime, n, sweep [{range, accuracy, errors, expected_errors, mean_p_true,
      declared}], declared, best, margin_errors, range_source, double_normalization,
      p_value (null when no range did better than the declared one), alpha (0.01),
      test {digits {wins, losses, p}, confidence {wins, losses, p}, p_value, alpha}
      (expected_errors: the sum over images of 1 - p(true digit), which sees a robust model
      lose confidence under a wrong range before it loses digits; test: exact one-sided
      binomial tests on the images where the best range and the declared one differ, McNemar's
      on right/wrong digits and the sign test on p(true digit); p_value: the smaller, doubled)
  quantization: precision, quantized_tensors {dtype: count}, comparison {runtime, vs, n,
      images ("export check columns" | "doctor inputs"), seed (column i rendered with seed + i;
      null for the doctor's inputs), disagreements, decision_agreement, allowed_rate (0.001),
      allowed_disagreements, tolerance, tolerance_source ("contract golden.tolerance.<backend>"
      | "doctor default for <precision>"), outputs [{output, max_abs_diff, mean_abs_diff,
      required_atol, required_rtol, within_tolerance}], disagreeing_items}, recorded (contract.json
      `verification`, or null: {status, runtime, n, disagreements, max_abs_diff, files_match,
      same_keras}), ranking [{tensor, size, max_abs_error, relative_to_range,
      mean_error_vs_typical_weight}], matched_by
  output_mapping: keras/graph/onnx {order, shapes}, order_matches_keras, roles {role:
      {contract_name, shape}}, mapping {role: output}, how {role: "name" | "shape"},
      unmatched {role: why}, use (the call to make, e.g. model.execute(x, ["heaven", "earth"]))
  preprocess_parity: source, n, max_abs_diff, max_abs_diff_in_8bit_steps, mean_abs_diff,
      files_differing, worst_files [{file, max_abs_diff}], decision_runtime, decisions_changed,
      changed_items, likely_cause {grayscale, resize, description}
  runtime_parity: reference, inputs, skipped {id: reason}, failed {id: reason},
      comparisons [{runtime, vs, kind ("float32" | "float16 compute" | "<p> weights vs float32"),
      n, disagreements, decision_agreement, tolerance, status, outputs [{output, max_abs_diff,
      mean_abs_diff, required_atol, required_rtol, within_tolerance}]}],
      disagreements [{item, file, label, answers {runtime: {digit, confidence}}}]
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from soroban_vision.doctor.checks import CHECK_IDS, Check, run_checks
from soroban_vision.doctor.facts import Facts
from soroban_vision.doctor.report import Report, console, overall, to_html, write_html
from soroban_vision.doctor.runtimes import RUNTIMES
from soroban_vision.doctor.session import gather

__all__ = [
    "CHECK_IDS",
    "RUNTIMES",
    "Check",
    "Report",
    "console",
    "diagnose",
    "to_html",
    "write_html",
]


def diagnose(
    keras: str | Path | None = None,
    tfjs: str | Path | None = None,
    onnx: str | Path | None = None,
    images: str | Path | None = None,
    input_range: str | tuple | None = None,
    runtimes: str | list[str] | None = None,
    browser_preprocess: Callable[[list[Path]], np.ndarray] | None = None,
    say: Callable[[str], None] = lambda _: None,
    frame: str | Path | None = None,
    scenes: str | Path | None = None,
) -> Report:
    """Examine a model and its deployment; raises UsageError (exit 2) on bad arguments.

    `browser_preprocess` replaces the browser library's preprocessing with a function of the
    image files (float32 [N,128,64,1]): the harness page imports the library statically, so this
    is the seam tests use to feed the preprocess_parity check a deliberately wrong copy.
    `frame`: a frame model folder (models/frame) in place of keras/tfjs/onnx; `scenes`: a
    render-scenes folder to feed a frame model (default: photos rendered on the spot).
    """
    from soroban_vision.versions import versions

    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        facts = gather(
            stack, keras, tfjs, onnx, images, input_range, runtimes, browser_preprocess, say, frame, scenes
        )
        checks = run_checks(facts, say)
        images_for_html = _images(facts, checks)
    return Report(
        status=overall(checks),
        checks=checks,
        runtimes=list(facts.runtimes.values()),
        model=facts.model_json(),
        data=_data_json(facts),
        notes=facts.notes,
        seconds=time.perf_counter() - t0,
        versions=versions(),
        images=images_for_html,
    )


def _data_json(facts: Facts) -> dict:
    if facts.scenes is not None:
        return {**facts.scenes.evidence(), "feeds": len(facts.feeds)}
    if facts.data is not None:
        return {**facts.data.evidence(), "feeds": len(facts.feeds)}
    return {
        "source": "generated",
        "path": None,
        "n": None,
        "per_digit": {},
        "feeds": len(facts.feeds),
        "notes": [],
    }


def _images(facts: Facts, checks: list[Check]) -> dict[str, np.ndarray]:
    """The pictures the HTML page shows: inputs the runtimes disagree on, and the worst
    preprocessing mismatches (Python's input next to the browser's)."""
    out: dict[str, np.ndarray] = {}
    if facts.data is None:
        return out
    by_id = {c.id: c for c in checks}
    for item in by_id["runtime_parity"].evidence.get("disagreements", []):
        out[f"input:{item['item']}"] = facts.data.x01[item["item"]]
    pp = by_id["preprocess_parity"]
    browser = facts.browser_x01
    if pp.evidence.get("worst_files") and browser is not None:
        index = {str(f): i for i, f in enumerate(facts.data.files)}
        for k, w in enumerate(pp.evidence["worst_files"][:6]):
            i = index[w["file"]]
            out[f"python:{k}"], out[f"browser:{k}"] = facts.data.x01[i], browser[i]
    return out
