"""quantization, for a frame model: float16/uint8 deployed weights against the float32 Keras
model, judged by the frame export's own rule (frame.export): a corner may move at most
MAX_CORNER_SHIFT_PX in a 640x480 photo and at most MAX_DISAGREEMENT of the frame-present decisions
may change; on export's own check scenes when TF.js in Node ran, else on the doctor's photos. A
contract that records export refusing these very files fails it too; the weight tensors are
ranked by quantization error."""

from __future__ import annotations

from soroban_vision.doctor import frame_compare
from soroban_vision.doctor.checks import quantization
from soroban_vision.doctor.checks.finding import Finding
from soroban_vision.doctor.facts import Facts
from soroban_vision.export import MAX_DISAGREEMENT


def check(facts: Facts) -> Finding:
    ev, early = quantization.opening(facts)
    if early is not None:
        return early
    ranking = quantization.ranking_of(facts, ev)
    c = _comparison(facts, ev["precision"])
    if c is None:
        return quantization.not_compared(facts, ranking, ev)
    ev["comparison"] = c
    rec = ev["recorded"]
    if c["disagreements"] / c["n"] > MAX_DISAGREEMENT or c["max_corner_shift_px"] > c["allowed_shift_px"]:
        return Finding("fail", "export_rule", ev)
    if not all(o["within_tolerance"] for o in c["outputs"]):
        return Finding(
            "fail" if c["tolerance_source"].startswith("contract") else "warn", "beyond_tolerance", ev
        )
    if rec is not None and rec["files_match"] and rec["status"] not in ("passed", None):
        return Finding("fail", "refused_by_export", ev)
    return Finding("pass", "kept", ev)


def _comparison(facts: Facts, precision: str) -> dict | None:
    from soroban_vision.frame.export import MAX_CORNER_SHIFT_PX, compare

    cs = facts.frame_check_set
    if cs is not None:
        ref, got, runtime = cs["reference"], cs["deployed"], cs["runtime"]
        where = {"images": "export check scenes", "seed": cs["seed"]}
    else:
        runtime = next(
            (
                r.id
                for r in facts.ran()
                if r.id not in ("keras", "onnxruntime") and r.compute == "float32" and r.weights == precision
            ),
            None,
        )
        if runtime is None or facts.runtime("keras") is None or not facts.role_map("keras"):
            return None
        if not facts.role_map(runtime):
            return None
        ref = frame_compare.by_role(facts.runtimes["keras"].values, facts.role_map("keras"))
        got = frame_compare.by_role(facts.runtimes[runtime].values, facts.role_map(runtime))
        where = {"images": "doctor photos", "seed": None}
    measured = compare({**ref, "frame": ref["frame"][:, None]}, {**got, "frame": got["frame"][:, None]})
    tol, source = quantization.tolerance_for(facts, runtime, precision)
    return {
        "runtime": runtime,
        "vs": "keras",
        **where,
        "n": measured["n"],
        "disagreements": measured["disagreements"],
        "decision_agreement": measured["agreement"],
        "max_corner_shift_px": measured["max_corner_shift_px"],
        "allowed_rate": MAX_DISAGREEMENT,
        "allowed_shift_px": MAX_CORNER_SHIFT_PX,
        "tolerance": tol,
        "tolerance_source": source,
        "outputs": [
            {"output": k, "max_abs_diff": v, "within_tolerance": v <= tol}
            for k, v in measured["max_abs_diff"].items()
        ],
    }
