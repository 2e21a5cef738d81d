"""quantization: float16/uint8 deployed weights against the float32 Keras model, judged as export
judges them. Decisions: at most export's MAX_DISAGREEMENT of them may change, counted on export's
own check columns when TF.js in Node ran (check_set.py), else on the doctor's images, which are too
few to see that rate. Probabilities: within the contract's golden tolerance for the runtime (a
stated default without a contract). A contract that records export refusing these very files
fails the check too, so the doctor never passes what export refused. The weight tensors are
ranked by quantization error, the worst named."""

from __future__ import annotations

import numpy as np

from soroban_vision import contract as contract_mod
from soroban_vision.doctor.checks.agreement import GALLERY, compare_runtimes
from soroban_vision.doctor.checks.finding import Finding
from soroban_vision.doctor.facts import Facts
from soroban_vision.errors import SorobanError
from soroban_vision.export import MAX_DISAGREEMENT, rank_quantization_error

# The contract keeps its golden tolerance by backend; each of the doctor's runtimes runs on one.
BACKEND = {
    "keras": "keras",
    "onnxruntime": "onnxruntime",
    "tfjs-node": "wasm",
    "chromium-cpu": "cpu",
    "chromium-wasm": "wasm",
    "chromium-webgl": "webgl",
    "chromium-webgl-f16": "webgl-f16",
}
# Without a contract, how far quantized weights may move a probability before the doctor warns:
# 13-40x what healthy exports of the shipped model show on export's check columns (float16 2.6e-5,
# uint8 7.6e-4), so another healthy model has room and a broken one does not.
DEFAULT_TOLERANCE = {"float16": 1e-3, "uint8": 1e-2, "mixed": 1e-2}


def opening(facts: Facts) -> tuple[dict, Finding | None]:
    """The evidence every quantization check starts from, and the finding when there is nothing
    to judge (no graph, float32 weights, no Keras reference)."""
    if facts.graph is None:
        return {}, Finding("skip", "no_graph")
    p = facts.graph.precision
    ev: dict = {"precision": p, "quantized_tensors": facts.graph.quantized_tensors}
    if p == "float32":
        return ev, Finding("skip", "float32", ev)
    if facts.keras_path is None:
        return ev, Finding("skip", "no_reference", ev)
    ev["recorded"] = recorded(facts)
    return ev, None


def not_compared(facts: Facts, ranking: list | None, ev: dict) -> Finding:
    """Keras or the deployed runtime did not run: the tensor ranking is all there is to show."""
    reason = "keras_did_not_run" if not facts.runtime("keras") else "deployed_did_not_run"
    return Finding("warn" if ranking else "skip", reason, ev)


def check(facts: Facts) -> Finding:
    ev, early = opening(facts)
    if early is not None:
        return early
    comparison = _comparison(facts, ev["precision"])
    ranking = ranking_of(facts, ev)
    if comparison is None or (comparison["disagreements"] is None and not _measured(comparison)):
        return not_compared(facts, ranking, ev)
    ev["comparison"] = {k: v for k, v in comparison.items() if k != "disagreeing_items"}
    ev["comparison"]["disagreeing_items"] = comparison["disagreeing_items"][:GALLERY]
    return verdict(ev)


def verdict(ev: dict) -> Finding:
    c, rec = ev["comparison"], ev["recorded"]
    n, bad = c["n"], c["disagreements"]
    by_contract = c["tolerance_source"].startswith("contract")
    if bad is not None and n and bad / n > MAX_DISAGREEMENT:  # export's own rule
        return Finding("fail", "decisions_change", ev)
    if any(o.get("within_tolerance") is False for o in c["outputs"]):
        return Finding("fail" if by_contract else "warn", "beyond_tolerance", ev)
    if rec is not None and rec["files_match"] and rec["status"] not in ("passed", None):
        return Finding("fail", "refused_by_export", ev)
    if bad is None:  # outputs without decisions (not a column model): their values are all there is
        return Finding("pass", "outputs_within", ev)
    needed = round(1 / MAX_DISAGREEMENT)
    if n < needed:
        # too few images to see the rate export allows: export's record of these files decides
        if (
            rec is not None
            and rec["files_match"]
            and rec["same_keras"] is not False
            and rec["status"] == "passed"
            and (rec["n"] or 0) >= needed
        ):
            return Finding("pass", "kept_as_recorded", ev)
        return Finding("warn", "too_few_images", ev, {"needed": needed})
    return Finding("pass", "decisions_kept", ev)


def _measured(comparison: dict) -> bool:
    return any("max_abs_diff" in o for o in comparison["outputs"])


def _comparison(facts: Facts, precision: str) -> dict | None:
    """The deployment against Keras: on export's check columns if they were run, else on the
    doctor's inputs through the first float32-compute runtime that ran the deployed weights."""
    cs = facts.check_set
    if cs is not None:
        c = compare_runtimes(facts, cs.runtime, "keras", {cs.runtime: cs.deployed, "keras": cs.reference})
        c.update(images="export check columns", seed=cs.seed)
    else:
        deployed = next(
            (
                r.id
                for r in facts.ran()
                if r.id not in ("keras", "onnxruntime") and r.compute == "float32" and r.weights == precision
            ),
            None,
        )
        if deployed is None or facts.runtime("keras") is None:
            return None
        c = compare_runtimes(facts, deployed, "keras")
        c.update(images="doctor inputs", seed=None)
    c["allowed_rate"] = MAX_DISAGREEMENT
    c["allowed_disagreements"] = int(MAX_DISAGREEMENT * c["n"]) if c["n"] else None
    c["tolerance"], c["tolerance_source"] = tolerance_for(facts, c["runtime"], precision)
    for o in c["outputs"]:
        if "max_abs_diff" in o:
            o["within_tolerance"] = o["max_abs_diff"] <= c["tolerance"]
    return c


def tolerance_for(facts: Facts, runtime: str, precision: str) -> tuple[float, str]:
    """How far the deployment's probabilities may stray from Keras's, and where that comes from:
    the contract's golden tolerance for the runtime's backend, if the contract is for these weights."""
    c = facts.contract or {}
    key = BACKEND.get(runtime, "wasm")
    tol = c.get("golden", {}).get("tolerance", {}).get(key)
    if tol is not None and c.get("weights", {}).get("precision") == precision:
        return float(tol), f"contract golden.tolerance.{key}"
    return DEFAULT_TOLERANCE.get(precision, DEFAULT_TOLERANCE["uint8"]), f"doctor default for {precision}"


def recorded(facts: Facts) -> dict | None:
    """What export recorded when it checked these weights (contract.json `verification`), and
    whether it was about these very files and this Keras model."""
    c = facts.contract
    if c is None or "verification" not in c:
        return None
    v = c["verification"]
    try:
        contract_mod.verify_files(c, facts.tfjs_path)
        files_match = True
    except SorobanError:
        files_match = False
    same_keras = None
    if facts.keras_path is not None and facts.keras_path.is_file():
        same_keras = contract_mod.sha256_file(facts.keras_path) == c.get("model", {}).get(
            "source_keras_sha256"
        )
    return {
        "status": v.get("status"),
        "runtime": v.get("runtime"),
        "n": v.get("n"),
        "disagreements": v.get("disagreements"),
        "max_abs_diff": v.get("max_abs_diff"),
        "files_match": files_match,
        "same_keras": same_keras,
    }


def ranking_of(facts: Facts, ev: dict) -> list[dict]:
    """The weight tensors ranked by quantization error (in `ev` too, or why there is none)."""
    if facts.weights_error is not None:
        ev["ranking_error"] = facts.weights_error
        return []
    try:
        ranking, matched_by = _rank(rank_quantization_error, facts.reference_weights, facts.deployed_weights)
    except SorobanError as e:
        ev["ranking_error"] = str(e)
        return []
    ev["ranking"] = ranking[:20]
    ev["matched_by"] = matched_by
    return ranking


def _rank(rank, reference: dict, deployed: dict) -> tuple[list[dict], str]:
    """Rank by tensor name; if the two conversions named their tensors differently, pair them
    by manifest order where the shapes agree."""
    common = set(reference) & set(deployed)
    if len(common) >= max(1, len(deployed) // 2):
        return rank(reference, deployed), "name"
    ref_items = [(k, v) for k, v in reference.items()]
    dep_items = [(k, v) for k, v in deployed.items()]
    if len(ref_items) == len(dep_items) and all(
        np.shape(a[1]) == np.shape(b[1]) for a, b in zip(ref_items, dep_items, strict=True)
    ):
        renamed = {b[0]: a[1] for a, b in zip(ref_items, dep_items, strict=True)}
        return rank(renamed, deployed), "manifest order"
    return [], "none (the float32 conversion and the deployed model hold different tensors)"
