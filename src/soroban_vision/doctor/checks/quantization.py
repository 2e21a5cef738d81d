"""quantization: float16/uint8 deployed weights against the float32 Keras model: decisions and
outputs compared, and the weight tensors ranked by quantization error."""

from __future__ import annotations

import numpy as np

from soroban_vision.doctor.checks.agreement import GALLERY, compare_runtimes
from soroban_vision.doctor.checks.finding import Finding
from soroban_vision.doctor.facts import Facts
from soroban_vision.errors import SorobanError


def check(facts: Facts) -> Finding:
    if facts.graph is None:
        return Finding("skip", "no_graph")
    p = facts.graph.precision
    ev: dict = {"precision": p, "quantized_tensors": facts.graph.quantized_tensors}
    if p == "float32":
        return Finding("skip", "float32", ev)
    if facts.keras_path is None:
        return Finding("skip", "no_reference", ev)
    deployed = next(
        (
            r.id
            for r in facts.ran()
            if r.id not in ("keras", "onnxruntime") and r.compute == "float32" and r.weights == p
        ),
        None,
    )
    comparison = None
    if deployed and facts.runtime("keras"):
        comparison = compare_runtimes(facts, deployed, "keras")
        ev["comparison"] = {k: v for k, v in comparison.items() if k != "disagreeing_items"}
        ev["comparison"]["disagreeing_items"] = comparison["disagreeing_items"][:GALLERY]
    ranking = _ranking(facts, ev)
    if comparison is None or comparison["disagreements"] is None:
        reason = "keras_did_not_run" if not facts.runtime("keras") else "deployed_did_not_run"
        return Finding("warn" if ranking else "skip", reason, ev)
    if comparison["disagreements"]:
        return Finding("fail", "decisions_change", ev)
    return Finding("pass", "decisions_kept", ev)


def _ranking(facts: Facts, ev: dict) -> list[dict]:
    """The weight tensors ranked by quantization error (in `ev` too, or why there is none)."""
    from soroban_vision.export import rank_quantization_error

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
