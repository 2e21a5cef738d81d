"""How two runtimes' answers agree: outputs paired by role (or name, shape, position), the
statistics of their differences, and the items they decide differently. The answers are the
runtimes' own on the doctor's inputs, or others given by runtime id (export's check columns)."""

from __future__ import annotations

import numpy as np

from soroban_vision.doctor import compare
from soroban_vision.doctor.facts import Facts

GALLERY = 24  # items the evidence lists at most


def answers(facts: Facts, rid: str, values: dict | None = None) -> dict | None:
    """Per-item answers of a runtime (on `values` if given): digits and confidences for the
    column model."""
    r = facts.runtime(rid)
    roles = facts.role_map(rid) if facts.kind == "column" else None
    if r is None or roles is None:
        return None
    v = r.values if values is None else values
    return {"digits": compare.digits(v, roles), "confidence": compare.confidences(v, roles)}


def _pairs(facts: Facts, rid: str, ref: str, values) -> dict[str, tuple[str, str]]:
    """label -> (output name in ref, output name in rid): by role for the column model."""
    a, b = facts.role_map(ref), facts.role_map(rid)
    if facts.kind == "column" and a and b:
        return {role: (a[role], b[role]) for role in a}
    pairs = compare.align_outputs(values[ref], values[rid])
    return {name: (name, other) for name, other in pairs.items()}


def _item_disagreement(facts: Facts, rid: str, ref: str, pairs, values) -> np.ndarray | None:
    """Boolean [N]: items on which the two runtimes decide differently (None: no decisions)."""
    a, b = answers(facts, ref, values[ref]), answers(facts, rid, values[rid])
    if a is not None and b is not None:
        return a["digits"] != b["digits"]
    flags = None
    for ref_name, name in pairs.values():
        da = compare.generic_decisions(values[ref][ref_name])
        db = compare.generic_decisions(values[rid][name])
        if da is None or db is None or da.shape != db.shape:
            continue
        diff = (da != db).reshape(len(da), -1).any(axis=1)
        flags = diff if flags is None else flags | diff
    return flags


def compare_runtimes(facts: Facts, rid: str, ref: str, values: dict[str, dict] | None = None) -> dict:
    """Runtime `rid` against `ref`: per-output difference statistics and decisions; on their
    answers to the doctor's inputs, or on `values` ({runtime id: outputs by name}) if given."""
    values = values or {x: facts.runtimes[x].values for x in (rid, ref)}
    pairs = _pairs(facts, rid, ref, values)
    outputs = []
    for label, (ref_name, name) in pairs.items():
        a = values[ref][ref_name]
        b = values[rid][name]
        if np.shape(a) != np.shape(b):
            outputs.append({"output": label, "error": f"shape {np.shape(b)} vs {np.shape(a)}"})
            continue
        outputs.append({"output": label, **compare.diff_stats(a, b)})
    flags = _item_disagreement(facts, rid, ref, pairs, values)
    n = len(flags) if flags is not None else None
    return {
        "runtime": rid,
        "vs": ref,
        "outputs": outputs,
        "unpaired": [k for k in values[ref] if k not in {p[0] for p in pairs.values()}],
        "n": n,
        "disagreements": int(flags.sum()) if flags is not None else None,
        "decision_agreement": float(1 - flags.mean()) if flags is not None and n else None,
        "disagreeing_items": [int(i) for i in np.flatnonzero(flags)] if flags is not None else [],
    }


def gallery(facts: Facts, comparisons: list[dict]) -> list[dict]:
    """The items some runtime decides differently, with every runtime's answer."""
    items = sorted({i for c in comparisons for i in c["disagreeing_items"]})[:GALLERY]
    out = []
    every = {r.id: answers(facts, r.id) for r in facts.ran()}
    for i in items:
        entry: dict = {"item": i}
        if facts.data is not None:
            entry["file"] = facts.data.files[i].name
            entry["label"] = int(facts.data.labels[i])
        entry["answers"] = {
            rid: {"digit": int(a["digits"][i]), "confidence": float(a["confidence"][i])}
            for rid, a in every.items()
            if a is not None
        }
        out.append(entry)
    return out
