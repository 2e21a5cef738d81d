"""runtime_parity: every runtime against its reference: max/mean |diff|, decisions, and the
smallest tolerance that would pass (as Polygraphy prints it)."""

from __future__ import annotations

from soroban_vision.contract import FLOAT32_TOLERANCE
from soroban_vision.doctor import compare
from soroban_vision.doctor.checks.agreement import compare_runtimes, gallery
from soroban_vision.doctor.checks.finding import Finding
from soroban_vision.doctor.compare import fmt_range
from soroban_vision.doctor.facts import Facts

# How far a runtime may stray from its reference before the doctor mentions it (atol OR rtol,
# as Polygraphy compares); decisions are what fail a float32 runtime, not these.
TOLERANCE = {
    "keras": FLOAT32_TOLERANCE["keras"],
    "onnxruntime": FLOAT32_TOLERANCE["onnxruntime"],
    "tfjs-node": FLOAT32_TOLERANCE["wasm"],
    "chromium-cpu": FLOAT32_TOLERANCE["cpu"],
    "chromium-wasm": FLOAT32_TOLERANCE["wasm"],
    "chromium-webgl": FLOAT32_TOLERANCE["webgl"],
    "chromium-webgl-f16": 1e-2,
}
SEVERITY = {"pass": 0, "skip": 0, "warn": 1, "fail": 2}


def opening(facts: Facts, **evidence) -> tuple[list, dict, Finding | None]:
    """The runtimes that ran, the evidence every parity check starts from, and the finding when
    fewer than two ran (nothing to compare)."""
    ran = facts.ran()
    failed = {r.id: r.reason for r in facts.runtimes.values() if r.status == "failed"}
    skipped = {r.id: r.reason for r in facts.runtimes.values() if r.status == "skipped"}
    ev: dict = {"reference": facts.reference, "skipped": skipped, "failed": failed, **evidence}
    if len(ran) >= 2:
        return ran, ev, None
    if failed:
        return ran, ev, Finding("fail", "failed", ev)
    return ran, ev, Finding("skip", "nothing_to_compare", ev, {"ran": ran[0].id if ran else None})


def closing(comparisons: list[dict], ev: dict, details: dict) -> Finding:
    """The worst comparison decides; a runtime that failed to run fails the check too."""
    statuses = ["fail" if ev["failed"] else "pass", *(c["status"] for c in comparisons)]
    status = max(statuses, key=SEVERITY.get)
    if status != "pass":
        return Finding(status, "differ", ev)
    return Finding("pass", "agree", ev, details)


def check(facts: Facts) -> Finding:
    if facts.kind == "column" and facts.data is not None:
        inputs = (
            f"{len(facts.data.files)} labelled images, preprocessed by Python, in {fmt_range(facts.declared)}"
        )
    else:
        inputs = f"{len(facts.feeds)} generated feeds"
    ran, ev, early = opening(facts, inputs=inputs)
    if early is not None:
        return early
    comparisons = [_comparison(facts, r) for r in ran if r.id != facts.reference]
    ev["comparisons"] = [{k: v for k, v in c.items() if k != "disagreeing_items"} for c in comparisons]
    ev["disagreements"] = gallery(facts, comparisons)
    return closing(comparisons, ev, {"ran": len(ran), "column": facts.kind == "column"})


def _comparison(facts: Facts, r) -> dict:
    ref, kind = reference_for(facts, r)
    c = compare_runtimes(facts, r.id, ref)
    c["kind"] = kind
    c["tolerance"] = TOLERANCE.get(r.id, 1e-5)
    for o in c["outputs"]:
        if "max_abs_diff" in o:
            o["within_tolerance"] = compare.within(o, c["tolerance"])
    bad = c["disagreements"] or 0
    loose = any(not o.get("within_tolerance", False) for o in c["outputs"])
    if bad and kind == "float32":
        c["status"] = "fail"
    elif bad or any("error" in o for o in c["outputs"]):
        c["status"] = "warn" if kind != "float32" else "fail"
    elif loose and kind == "float32":
        c["status"] = "warn"
    else:
        c["status"] = "pass"
    return c


def reference_for(facts: Facts, r) -> tuple[str, str]:
    """(reference runtime, kind of comparison). Runtimes on the same weights in float32 must agree
    exactly in their decisions; half-float compute or quantized weights against float32 may not."""
    main = facts.runtimes[facts.reference]
    if r.weights == main.weights or r.weights is None or main.weights is None:
        return main.id, "float32" if r.compute == "float32" else "float16 compute"
    peer = next(
        (
            x.id
            for x in facts.ran()
            if x.id != r.id and x.weights == r.weights and x.compute == "float32" and x.id != main.id
        ),
        None,
    )
    if r.compute != "float32":
        return (peer or main.id), "float16 compute"
    if peer is not None and list(facts.runtimes).index(peer) < list(facts.runtimes).index(r.id):
        return peer, "float32"  # same quantized weights, float32 compute: must agree
    return main.id, f"{r.weights} weights vs float32"
