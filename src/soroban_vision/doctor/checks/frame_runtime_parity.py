"""runtime_parity, for a frame model: every runtime against its reference on the same photos,
in the units a reader sees: corner shift in the photo's pixels, frame-present decisions, and raw
|diff| per output with the smallest tolerance that would pass (as Polygraphy prints it)."""

from __future__ import annotations

from soroban_vision.doctor import frame_compare
from soroban_vision.doctor.checks.finding import Finding
from soroban_vision.doctor.checks.quantization import BACKEND
from soroban_vision.doctor.checks.runtime_parity import closing, opening, reference_for
from soroban_vision.doctor.compare import fmt_range, within
from soroban_vision.doctor.facts import Facts
from soroban_vision.frame.contract import FLOAT32_TOLERANCE

GALLERY = 24


def tolerance(facts: Facts, rid: str) -> tuple[float, str]:
    """How far a runtime's raw outputs may stray: the contract's golden tolerance for its backend
    (what the browser library holds it to on load), else the frame export's float32 default."""
    key = BACKEND.get(rid, "wasm")
    tol = ((facts.contract or facts.frame_contract or {}).get("golden") or {}).get("tolerance") or {}
    if isinstance(tol.get(key), int | float):
        return float(tol[key]), f"contract golden.tolerance.{key}"
    return float(FLOAT32_TOLERANCE[key]), f"frame export default for {key}"


def check(facts: Facts) -> Finding:
    scenes = facts.scenes
    inputs = (
        f"{len(scenes.files)} photos ({int(scenes.has_frame.sum())} with a soroban), preprocessed by "
        f"Python, in {fmt_range(facts.declared)}"
    )
    ran, ev, early = opening(facts, inputs=inputs, parity_px=frame_compare.PARITY_PX)
    if early is not None:
        return early
    comparisons = [_comparison(facts, r) for r in ran if r.id != facts.reference]
    ev["comparisons"] = [{k: v for k, v in c.items() if k != "disagreeing_items"} for c in comparisons]
    ev["frame_disagreements"] = _gallery(facts, comparisons)
    return closing(comparisons, ev, {"ran": len(ran)})


def _comparison(facts: Facts, r) -> dict:
    ref, kind = reference_for(facts, r)
    base = {"runtime": r.id, "vs": ref, "kind": kind, "n": None, "disagreements": None, "outputs": []}
    a_roles, b_roles = facts.role_map(ref), facts.role_map(r.id)
    if not a_roles or not b_roles:
        missing = r.id if not b_roles else ref
        why = f"{missing}'s outputs do not map to corners and frame (see output_mapping)"
        return {**base, "status": "fail", "unpaired": [], "disagreeing_items": [], "error": why}
    a = frame_compare.by_role(facts.runtimes[ref].values, a_roles)
    b = frame_compare.by_role(r.values, b_roles)
    c = {**base, **frame_compare.runtimes(facts.scenes, a, b), "unpaired": []}
    c["tolerance"], c["tolerance_source"] = tolerance(facts, r.id)
    for o in c["outputs"]:
        o["within_tolerance"] = within(o, c["tolerance"])
    bad = c["disagreements"] > 0 or c["max_corner_shift_px"] > frame_compare.PARITY_PX
    loose = any(not o["within_tolerance"] for o in c["outputs"])
    if bad:
        c["status"] = "fail" if kind == "float32" else "warn"
    elif loose and kind == "float32":
        c["status"] = "warn"
    else:
        c["status"] = "pass"
    return c


def _gallery(facts: Facts, comparisons: list[dict]) -> list[dict]:
    """The photos some runtime decides differently, with every runtime's frame score."""
    items = sorted({i for c in comparisons for i in c["disagreeing_items"]})[:GALLERY]
    scores = {
        r.id: frame_compare.by_role(r.values, facts.role_map(r.id))["frame"]
        for r in facts.ran()
        if facts.role_map(r.id)
    }
    return [
        {
            "item": i,
            "file": facts.scenes.files[i].name,
            "label": facts.scenes.labels[i],
            "scores": {rid: float(s[i]) for rid, s in scores.items()},
        }
        for i in items
    ]
