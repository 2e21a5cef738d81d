"""output_mapping: output names, predict() order and shapes, Keras against the graph model against
the contract's roles; and the call that fetches the outputs by name."""

from __future__ import annotations

import json

from soroban_vision.doctor import compare
from soroban_vision.doctor.checks.finding import Finding
from soroban_vision.doctor.facts import Facts
from soroban_vision.runners.base import TensorInfo


def check(facts: Facts) -> Finding:
    keras_outs, graph_outs = facts.keras_outputs, _graph_outputs(facts)
    onnx = facts.runtime("onnxruntime")
    subject, what = (
        (graph_outs, "graph")
        if graph_outs is not None
        else (onnx.outputs, "onnx")
        if onnx
        else (keras_outs, "keras")
    )
    ev: dict = {}
    for key, outs in (("keras", keras_outs), ("graph", graph_outs), ("onnx", onnx.outputs if onnx else None)):
        if outs is not None:
            ev[key] = {"order": [o.name for o in outs], "shapes": {o.name: list(o.shape) for o in outs}}
    # problems fail the check, warnings warn: each one a dict with its "kind" for wording.py
    problems: list[dict] = []
    warnings: list[dict] = []
    if keras_outs is not None and graph_outs is not None:
        _keras_vs_graph(keras_outs, graph_outs, ev, problems, warnings)
    call = None
    if facts.kind in ("column", "frame") or facts.contract is not None:
        specs = facts.role_specs()
        m = compare.match_roles(specs, subject)
        ev["roles"] = {role: {"contract_name": s["name"], "shape": s["shape"]} for role, s in specs.items()}
        ev.update({"mapping": m["mapping"], "how": m["how"], "unmatched": m["unmatched"]})
        problems += [
            {"kind": "unmatched_role", "role": role, "why": why} for role, why in m["unmatched"].items()
        ]
        by_shape = [(role, m["mapping"][role]) for role, how in m["how"].items() if how == "shape"]
        if by_shape:
            issue = {"kind": "matched_by_shape", "pairs": by_shape, "refused": facts.contract is not None}
            # the frame detector (Python and browser) asks for its outputs by name and checks their shapes
            (problems if facts.kind == "frame" and facts.contract is not None else warnings).append(issue)
        if not m["unmatched"]:
            names = [m["mapping"][role] for role in specs]
            call = f"model.execute(x, {json.dumps(names)})" if graph_outs is not None else None
            ev["use"] = call or {role: m["mapping"][role] for role in specs}
    elif graph_outs is not None:
        call = f"model.execute(x, {json.dumps([o.name for o in graph_outs])})"
        ev["use"] = call
        if keras_outs is None:
            return Finding(
                "skip", "nothing_to_map_against", ev, {"what": what, "outputs": subject, "call": call}
            )
    elif keras_outs is None or subject is keras_outs:
        return Finding("skip", "only_one_model", ev, {"what": what, "outputs": subject})
    words = {
        "what": what,
        "outputs": subject,
        "call": call,
        "problems": problems,
        "warnings": warnings,
        "as_in_keras": bool(keras_outs and graph_outs),
    }
    if problems:
        return Finding("fail", "problems", ev, words)
    if warnings:
        return Finding("warn", "warnings", ev, words)
    return Finding("pass", "match", ev, words)


def _keras_vs_graph(keras_outs, graph_outs, ev: dict, problems: list, warnings: list) -> None:
    k = {o.name: o for o in keras_outs}
    g = {o.name: o for o in graph_outs}
    if set(k) != set(g):
        warnings.append({"kind": "names_differ", "keras": list(k), "graph": list(g)})
    for name in k.keys() & g.keys():
        if not compare.shape_fits(k[name].shape, g[name].shape):
            problems.append(
                {"kind": "shape_differs", "output": name, "keras": k[name].shape, "graph": g[name].shape}
            )
    korder = [o.name for o in keras_outs if o.name in g]
    gorder = [o.name for o in graph_outs if o.name in k]
    ev["order_matches_keras"] = korder == gorder
    if korder != gorder:
        warnings.append({"kind": "order_differs", "keras": korder, "graph": gorder})


def _graph_outputs(facts: Facts) -> list[TensorInfo] | None:
    """The graph model's outputs in predict() order, with the shapes a TF.js runtime measured."""
    if facts.graph is None:
        return None
    measured = next((r for r in facts.ran() if r.id.startswith(("tfjs-", "chromium-"))), None)
    if measured is None:
        return facts.graph.outputs
    shapes = {o.name: o.shape for o in measured.outputs}
    return [TensorInfo(o.name, shapes.get(o.name, o.shape), o.dtype) for o in facts.graph.outputs]
