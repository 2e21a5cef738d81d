"""The six checks. Each reads the gathered Case and returns a Check: a stable id, a status
(pass, warn, fail or skip), one line a person can act on, and the evidence behind it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from soroban_vision.contract import FLOAT32_TOLERANCE, normalization_layers
from soroban_vision.doctor import compare
from soroban_vision.doctor.compare import fmt_range, same_range, shape_str
from soroban_vision.doctor.session import Case
from soroban_vision.errors import SorobanError

STATUSES = ("pass", "warn", "fail", "skip")
CHECK_IDS = (
    "preprocessing_layers",
    "normalization",
    "quantization",
    "output_mapping",
    "preprocess_parity",
    "runtime_parity",
)
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
PIXEL_PASS = 1 / 255  # browser vs Python preprocessing: at most one 8-bit step (JPEG decoders differ)
PIXEL_FAIL = 4 / 255
POOR_ACCURACY = 0.3  # below this under every range, the labels or the preprocessing are suspect
GALLERY = 24


@dataclass
class Check:
    id: str
    status: str
    summary: str
    evidence: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "status": self.status,
            "summary": self.summary,
            "evidence": _plain(self.evidence),
        }


def _plain(v):
    """Evidence as JSON types (numpy scalars and arrays, tuples, paths)."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return _plain(v.tolist())
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    return str(v)


def run_checks(case: Case, say=lambda _: None) -> list[Check]:
    out = []
    for check in (
        preprocessing_layers,
        normalization,
        quantization,
        output_mapping,
        preprocess_parity,
        runtime_parity,
    ):
        say(f"check {check.__name__}")
        try:
            out.append(check(case))
        except SorobanError as e:
            out.append(Check(check.__name__, "fail", f"the check could not finish: {e}", {"error": str(e)}))
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.2g}%"


def _short(tensor: str) -> str:
    return tensor.removeprefix("StatefulPartitionedCall/")


# --------------------------------------------------------------------------- 1. preprocessing_layers


def affine_str(scale, offset) -> str:
    if isinstance(scale, list) or isinstance(offset, list):
        return f"x*{scale}+{offset} per channel"
    s, o = float(scale), float(offset)
    if s == 1 and o == 0:
        return "x*1+0"
    if s != 0 and abs(1 / s - round(1 / s)) < 1e-6 and abs(1 / s) > 1:
        head = f"x/{round(1 / s)}"
    else:
        head = f"x*{s:g}"
    return head if o == 0 else f"{head}{o:+g}"


def _keras_layers(model) -> list[dict]:
    layers = normalization_layers(model)
    objects = {layer.name: layer for layer in _walk(model)}
    for entry in layers:
        if entry["type"] == "Rescaling":
            entry.update(compare.affine_expectation(entry["scale"], entry["offset"]))
            entry["affine"] = affine_str(entry["scale"], entry["offset"])
        elif entry["type"] == "Normalization":
            layer = objects.get(entry["layer"])
            mean = getattr(layer, "mean", None)
            var = getattr(layer, "variance", None)
            if mean is not None and var is not None:
                m, v = np.asarray(mean, np.float64).reshape(-1), np.asarray(var, np.float64).reshape(-1)
                entry["mean"], entry["std"] = m.tolist(), np.sqrt(v).tolist()
                scale, offset = 1 / np.sqrt(v), -m / np.sqrt(v)
                entry.update(compare.affine_expectation(scale.mean(), offset.mean()))
                entry["affine"] = f"(x-{float(m.mean()):g})/{float(np.sqrt(v).mean()):g}"
        elif entry["type"] == "Resizing":
            layer = objects.get(entry["layer"])
            entry["size"] = [getattr(layer, "height", None), getattr(layer, "width", None)]
    return layers


def _walk(model):
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _walk(layer)


def _graph_weights(case: Case) -> dict:
    if "graph_weights" not in case.cache:
        from soroban_vision.export import graph_weights

        case.cache["graph_weights"] = graph_weights(case.tfjs_path)
    return case.cache["graph_weights"]


def preprocessing_layers(case: Case) -> Check:
    from soroban_vision.doctor.graph import input_arithmetic

    ev: dict = {"declared": list(case.declared), "range_source": case.range_source}
    keras_view = graph_view = None
    if case.keras_model is not None:
        if hasattr(case.keras_model, "fn"):
            ev["keras"] = {"note": "a SavedModel folder: its layers are not inspected (see the graph model)"}
        else:
            layers = _keras_layers(case.keras_model)
            ev["keras"] = {"layers": layers}
            affine = [e for e in layers if "affine" in e]
            if affine:
                e = affine[0]
                keras_view = {
                    "what": f"{e['type']} layer '{e['layer']}' ({e['affine']})",
                    "expects": e.get("expects"),
                    "maps_to": e.get("maps_to"),
                    "identity": e.get("identity", False),
                    "scale": e.get("scale"),
                    "offset": e.get("offset"),
                }
    if case.graph is not None:
        found = input_arithmetic(case.graph, _graph_weights(case))
        for entry in found:
            entry.update(compare.affine_expectation(entry["scale"], entry["offset"]))
            entry["affine"] = affine_str(entry["scale"], entry["offset"])
        ev["graph"] = {"inputs": found}
        with_ops = [e for e in found if any(s["op"] not in ("Cast", "Identity") for s in e["steps"])]
        arith = [e for e in with_ops if any("const" in s for s in e["steps"])]
        if arith:
            e = arith[0]
            ops = ", ".join(
                f"{s['op']} {s['const']:g}" for s in e["steps"] if isinstance(s.get("const"), float)
            )
            graph_view = {
                "what": f"{ops or 'constant arithmetic'} after input '{e['input']}' in model.json "
                f"({e['affine']})",
                "expects": e.get("expects"),
                "maps_to": e.get("maps_to"),
                "identity": e.get("identity", False),
                "scale": e["scale"],
                "offset": e["offset"],
            }
        resizes = [e["resize"] for e in found if e.get("resize")]
        if resizes:
            ev["graph"]["resize"] = resizes
    # Keras names the layer a person wrote; the graph shows what was deployed. Same map: say the name.
    view = (
        keras_view if keras_view and (graph_view is None or _same_map(keras_view, graph_view)) else graph_view
    )
    view = view or keras_view
    ev["expects"] = view["expects"] if view else None
    ev["maps_to"] = view["maps_to"] if view else None
    case.cache["normalization_inside"] = view
    declared = fmt_range(case.declared)
    if keras_view and graph_view and keras_view["expects"] != graph_view["expects"]:
        return Check(
            "preprocessing_layers",
            "warn",
            f"the Keras model and the graph model normalize differently: Keras has {keras_view['what']}, "
            f"the graph has {graph_view['what']}; they may not be the same model",
            ev,
        )
    if view is None:
        where = "the model" if case.keras_model is not None or case.graph is not None else "the ONNX model"
        note = (
            ""
            if case.graph is not None or case.keras_model is not None
            else " (ONNX graphs are not inspected)"
        )
        return Check(
            "preprocessing_layers",
            "pass",
            f"no normalization layer inside {where}{note}: it takes its input as fed (declared {declared}); "
            "the normalization check measures which range it expects",
            ev,
        )
    if view["identity"]:
        return Check(
            "preprocessing_layers",
            "pass",
            f"{view['what']} leaves the input unchanged: the model takes its input as fed "
            f"(declared {declared}); "
            "the normalization check measures which range it expects",
            ev,
        )
    if view["expects"] is None:
        return Check(
            "preprocessing_layers",
            "pass",
            f"{view['what']} normalizes the input inside the model; feed it the range it was fitted on "
            f"(declared {declared})",
            ev,
        )
    expects, maps_to = fmt_range(view["expects"]), fmt_range(view["maps_to"])
    if same_range(view["expects"], case.declared):
        return Check(
            "preprocessing_layers",
            "pass",
            f"{view['what']} maps {expects} to {maps_to} inside the model: it expects {expects}, as declared",
            ev,
        )
    if case.kind == "generic" and case.range_source == "default":
        return Check(
            "preprocessing_layers",
            "pass",
            f"{view['what']} maps {expects} to {maps_to} inside the model: feed it {expects} "
            f"(pass --input-range to generate inputs in that range)",
            ev,
        )
    seen = _seen(view, case.declared)
    if same_range(view["maps_to"], case.declared):
        summary = (
            f"double normalization: {view['what']} already maps {expects} to {maps_to}, and the declared "
            f"input is {declared}, so the model sees {seen}; feed {expects}"
        )
    else:
        summary = (
            f"{view['what']} expects {expects} but the declared input is {declared} (the model sees {seen})"
        )
    return Check("preprocessing_layers", "warn", summary, ev)


def _same_map(a: dict, b: dict) -> bool:
    return bool(
        np.allclose(np.mean(a["scale"]), np.mean(b["scale"]), rtol=1e-5)
        and np.allclose(np.mean(a["offset"]), np.mean(b["offset"]), atol=1e-6)
    )


def _seen(view: dict, r) -> str:
    s = float(np.mean(view["scale"]))
    o = float(np.mean(view["offset"]))
    lo, hi = sorted((s * r[0] + o, s * r[1] + o))
    return fmt_range((round(lo, 4), round(hi, 4)))


# --------------------------------------------------------------------------- 2. normalization


def _p_true(out: dict, roles: dict, labels: np.ndarray) -> np.ndarray:
    """The probability the model gives the true digit: p(heaven state) * p(earth count)."""
    from soroban_vision.beads import to_beads

    beads = [to_beads(int(d)) for d in labels]
    heaven = np.array([b.heaven for b in beads])
    earth = np.array([b.earth for b in beads])
    ph = np.asarray(out[roles["heaven"]], np.float64).reshape(-1)
    pe = np.asarray(out[roles["earth"]], np.float64).reshape(len(ph), -1)
    return np.where(heaven == 1, ph, 1 - ph) * pe[np.arange(len(ph)), earth]


def normalization(case: Case) -> Check:
    """Errors under each candidate range, counted two ways: wrong digits, and expected errors
    (the sum over images of 1 - p(true digit)). A robust model may read every image right under a
    wrong range and only lose confidence; expected errors see that, wrong digits alone do not."""
    if case.kind != "column" or case.data is None:
        return Check(
            "normalization",
            "skip",
            "no labelled images for this model: its inputs are not a 64x128 gray column, so the input "
            "range cannot be measured",
        )
    r = case.decision_runtime()
    if r is None:
        return Check(
            "normalization",
            "skip",
            "no runtime could score the labelled images (keras, onnxruntime or tfjs-node with outputs "
            "that map to heaven and earth)",
            {"runtimes": [x.id for x in case.ran()]},
        )
    roles = case.role_map(r.id)
    labels = case.data.labels
    candidates = list(compare.CANDIDATE_RANGES)
    if not any(same_range(c, case.declared) for c in candidates):
        candidates.append(case.declared)
    sweep = []
    for rg in candidates:
        declared = same_range(rg, case.declared)
        out = r.values if declared else case.run_images(r.id, compare.apply_range(case.data.x01, rg))
        right = compare.digits(out, roles) == labels
        p = _p_true(out, roles, labels)
        sweep.append(
            {
                "range": list(rg),
                "accuracy": float(right.mean()),
                "errors": int((~right).sum()),
                "expected_errors": float((1 - p).sum()),
                "mean_p_true": float(p.mean()),
                "declared": declared,
            }
        )
    n = len(labels)
    margin = max(2, round(0.01 * n))  # wrong digits that are more than noise
    dec = next(s for s in sweep if s["declared"])
    best = min(sweep, key=lambda s: (s["errors"], s["expected_errors"], not s["declared"]))
    view = case.cache.get("normalization_inside")
    double = bool(
        view
        and not view["identity"]
        and view["maps_to"]
        and view["expects"]
        and same_range(view["maps_to"], case.declared)
        and not same_range(view["expects"], case.declared)
    )
    if double:
        # the model's own layers say the input is normalized twice; the data need only confirm it
        meant = next((s for s in sweep if same_range(s["range"], view["expects"])), best)
        worse = dec["errors"] > meant["errors"] or dec["expected_errors"] > meant["expected_errors"] + 0.1
        best = meant if worse else best
    else:
        worse = dec["errors"] - best["errors"] >= margin or (
            dec["errors"] >= best["errors"] and dec["expected_errors"] > 1.5 * best["expected_errors"] + 0.1
        )
    ev = {
        "runtime": r.id,
        "n": n,
        "sweep": sweep,
        "declared": dec["range"],
        "best": best["range"] if worse else dec["range"],
        "margin_errors": margin,
        "range_source": case.range_source,
        "double_normalization": double,
    }
    case.cache["sweep"] = ev
    if not worse:
        others = sorted(
            (s for s in sweep if not s["declared"]), key=lambda s: (s["errors"], s["expected_errors"])
        )
        tail = f" (next: {fmt_range(others[0]['range'])} {others[0]['accuracy']:.3f})" if others else ""
        top = max(s["accuracy"] for s in sweep)
        if top < POOR_ACCURACY:
            return Check(
                "normalization",
                "warn",
                "the model reads these images poorly under every input range "
                f"(best accuracy {top:.3f}, {n} images): check the labels and the preprocessing",
                ev,
            )
        return Check(
            "normalization",
            "pass",
            f"the declared range {fmt_range(dec['range'])} is what the model expects: accuracy "
            f"{dec['accuracy']:.3f} on {n} images{tail}",
            ev,
        )
    measured = (
        f"accuracy {best['accuracy']:.3f} at {fmt_range(best['range'])} vs {dec['accuracy']:.3f} at "
        f"{fmt_range(dec['range'])}, expected errors {best['expected_errors']:.1f} vs "
        f"{dec['expected_errors']:.1f} ({n} images, {r.id})"
    )
    if dec["errors"] == best["errors"]:
        measured += "; the same digits on these images, but less sure of them"
    if double:
        summary = (
            f"double normalization: the model's own {view['what']} already maps {fmt_range(view['expects'])} "
            f"to {fmt_range(view['maps_to'])}, and the code feeds {fmt_range(dec['range'])}, "
            f"so the model sees {_seen(view, case.declared)}; feed {fmt_range(best['range'])}: {measured}"
        )
    else:
        summary = (
            f"the model expects {fmt_range(best['range'])} but is fed {fmt_range(dec['range'])}: {measured}; "
            f"map the image linearly from {fmt_range(dec['range'])} to {fmt_range(best['range'])} before the "
            "model, or put a Rescaling layer inside it"
        )
    return Check("normalization", "fail", summary, ev)


# --------------------------------------------------------------------------- helpers: answers


def _answers(case: Case, rid: str) -> dict | None:
    """Per-item answers of a runtime: digits and confidences for the column model."""
    r = case.runtime(rid)
    roles = case.role_map(rid) if case.kind == "column" else None
    if r is None or roles is None:
        return None
    return {"digits": compare.digits(r.values, roles), "confidence": compare.confidences(r.values, roles)}


def _pairs(case: Case, rid: str, ref: str) -> dict[str, tuple[str, str]]:
    """label -> (output name in ref, output name in rid): by role for the column model."""
    a, b = case.role_map(ref), case.role_map(rid)
    if case.kind == "column" and a and b:
        return {role: (a[role], b[role]) for role in a}
    pairs = compare.align_outputs(case.runtimes[ref].values, case.runtimes[rid].values)
    return {name: (name, other) for name, other in pairs.items()}


def _item_disagreement(case: Case, rid: str, ref: str, pairs) -> np.ndarray | None:
    """Boolean [N]: items on which the two runtimes decide differently (None: no decisions)."""
    a, b = _answers(case, ref), _answers(case, rid)
    if a is not None and b is not None:
        return a["digits"] != b["digits"]
    flags = None
    for ref_name, name in pairs.values():
        da = compare.generic_decisions(case.runtimes[ref].values[ref_name])
        db = compare.generic_decisions(case.runtimes[rid].values[name])
        if da is None or db is None or da.shape != db.shape:
            continue
        diff = (da != db).reshape(len(da), -1).any(axis=1)
        flags = diff if flags is None else flags | diff
    return flags


def _compare(case: Case, rid: str, ref: str) -> dict:
    pairs = _pairs(case, rid, ref)
    outputs = []
    for label, (ref_name, name) in pairs.items():
        a = case.runtimes[ref].values[ref_name]
        b = case.runtimes[rid].values[name]
        if np.shape(a) != np.shape(b):
            outputs.append({"output": label, "error": f"shape {np.shape(b)} vs {np.shape(a)}"})
            continue
        outputs.append({"output": label, **compare.diff_stats(a, b)})
    flags = _item_disagreement(case, rid, ref, pairs)
    n = len(flags) if flags is not None else None
    return {
        "runtime": rid,
        "vs": ref,
        "outputs": outputs,
        "unpaired": [k for k in case.runtimes[ref].values if k not in {p[0] for p in pairs.values()}],
        "n": n,
        "disagreements": int(flags.sum()) if flags is not None else None,
        "decision_agreement": float(1 - flags.mean()) if flags is not None and n else None,
        "disagreeing_items": [int(i) for i in np.flatnonzero(flags)] if flags is not None else [],
    }


# --------------------------------------------------------------------------- 3. quantization


def quantization(case: Case) -> Check:
    from soroban_vision.doctor.session import float32_graph
    from soroban_vision.export import graph_weights, rank_quantization_error

    if case.graph is None:
        return Check("quantization", "skip", "no --tfjs graph model: no deployed weights to check")
    p = case.graph.precision
    ev: dict = {"precision": p, "quantized_tensors": case.graph.quantized_tensors}
    if p == "float32":
        return Check("quantization", "skip", "the deployed weights are float32: nothing is quantized", ev)
    if case.keras_path is None:
        return Check(
            "quantization",
            "skip",
            f"the deployed weights are {p}, but there is no --keras float32 reference "
            "to compare them against",
            ev,
        )
    deployed = next(
        (
            r.id
            for r in case.ran()
            if r.id not in ("keras", "onnxruntime") and r.compute == "float32" and r.weights == p
        ),
        None,
    )
    comparison = None
    if deployed and case.runtime("keras"):
        comparison = _compare(case, deployed, "keras")
        ev["comparison"] = {k: v for k, v in comparison.items() if k != "disagreeing_items"}
        ev["comparison"]["disagreeing_items"] = comparison["disagreeing_items"][:GALLERY]
    try:
        reference = graph_weights(float32_graph(case))
        ranking, matched_by = _rank(rank_quantization_error, reference, _graph_weights(case))
        ev["ranking"] = ranking[:20]
        ev["matched_by"] = matched_by
    except SorobanError as e:
        ranking = []
        ev["ranking_error"] = str(e)
    worst = ", ".join(
        f"{_short(r['tensor'])} (mean error {r['mean_error_vs_typical_weight']:.2g}x a typical weight, "
        f"max {_pct(r['relative_to_range'])} of its range)"
        for r in ranking[:3]
    )
    if comparison is None or comparison["disagreements"] is None:
        why = "keras did not run" if not case.runtime("keras") else "no runtime ran the deployed weights"
        return Check(
            "quantization",
            "warn" if ranking else "skip",
            f"{p} weights: answers not compared ({why}); largest quantization errors: {worst or 'unknown'}",
            ev,
        )
    n, bad = comparison["n"], comparison["disagreements"]
    maxdiff = max((o.get("max_abs_diff", 0.0) for o in comparison["outputs"]), default=0.0)
    if bad:
        return Check(
            "quantization",
            "fail",
            f"{p} weights change {bad} of {n} decisions against the float32 Keras model (max |diff| "
            f"{maxdiff:.2g}); worst tensors: {worst}",
            ev,
        )
    return Check(
        "quantization",
        "pass",
        f"{p} weights keep all {n} decisions of the float32 Keras model (max |diff| {maxdiff:.2g}); "
        f"largest quantization error: {worst.split('), ')[0] + ')' if worst else 'n/a'}",
        ev,
    )


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


# --------------------------------------------------------------------------- 4. output_mapping


def _keras_outputs(case: Case):
    r = case.runtime("keras")
    if r is not None:
        return r.outputs
    if case.keras_model is not None:
        from soroban_vision.runners.keras import KerasRunner

        return KerasRunner(model=case.keras_model).outputs()
    return None


def _graph_outputs(case: Case):
    if case.graph is None:
        return None
    measured = next((r for r in case.ran() if r.id.startswith(("tfjs-", "chromium-"))), None)
    if measured is None:
        return case.graph.outputs
    shapes = {o.name: o.shape for o in measured.outputs}
    from soroban_vision.runners.base import TensorInfo

    return [TensorInfo(o.name, shapes.get(o.name, o.shape), o.dtype) for o in case.graph.outputs]


def _listing(outs) -> str:
    return ", ".join(f"{o.name} {shape_str(o.shape)}" for o in outs)


def output_mapping(case: Case) -> Check:
    keras_outs, graph_outs = _keras_outputs(case), _graph_outputs(case)
    onnx = case.runtime("onnxruntime")
    subject, what = (
        (graph_outs, "the graph model")
        if graph_outs is not None
        else (onnx.outputs, "the ONNX model")
        if onnx
        else (keras_outs, "the Keras model")
    )
    ev: dict = {}
    for key, outs in (("keras", keras_outs), ("graph", graph_outs), ("onnx", onnx.outputs if onnx else None)):
        if outs is not None:
            ev[key] = {"order": [o.name for o in outs], "shapes": {o.name: list(o.shape) for o in outs}}
    problems, warnings = [], []
    if keras_outs is not None and graph_outs is not None:
        k = {o.name: o for o in keras_outs}
        g = {o.name: o for o in graph_outs}
        if set(k) != set(g):
            warnings.append(f"output names differ: Keras has {', '.join(k)}, the graph model {', '.join(g)}")
        for name in k.keys() & g.keys():
            if not compare.shape_fits(k[name].shape, g[name].shape):
                problems.append(
                    f"output {name} is {shape_str(k[name].shape)} in Keras but "
                    f"{shape_str(g[name].shape)} in the "
                    "graph model"
                )
        korder = [o.name for o in keras_outs if o.name in g]
        gorder = [o.name for o in graph_outs if o.name in k]
        ev["order_matches_keras"] = korder == gorder
        if korder != gorder:
            warnings.append(
                f"predict() returns [{', '.join(gorder)}] but Keras returns [{', '.join(korder)}]: code that "
                "takes the outputs by position gets them swapped"
            )
    call = None
    if case.kind == "column" or case.contract is not None:
        specs = compare.role_specs(case.contract)
        m = compare.match_roles(specs, subject)
        ev["roles"] = {role: {"contract_name": s["name"], "shape": s["shape"]} for role, s in specs.items()}
        ev.update({"mapping": m["mapping"], "how": m["how"], "unmatched": m["unmatched"]})
        for role, why in m["unmatched"].items():
            problems.append(f"role {role} cannot be matched: {why}")
        by_shape = [role for role, how in m["how"].items() if how == "shape"]
        if by_shape:
            pairs = ", ".join(f"{role} -> {m['mapping'][role]}" for role in by_shape)
            refuse = (
                " and the browser library, which asks by name, refuses the model" if case.contract else ""
            )
            warnings.append(f"output names are not the contract's roles: matched by shape ({pairs}){refuse}")
        if not m["unmatched"]:
            names = [m["mapping"][role] for role in specs]
            call = f"model.execute(x, {json.dumps(names)})" if graph_outs is not None else None
            ev["use"] = call or {role: m["mapping"][role] for role in specs}
    elif graph_outs is not None:
        call = f"model.execute(x, {json.dumps([o.name for o in graph_outs])})"
        ev["use"] = call
        if keras_outs is None:
            return Check(
                "output_mapping",
                "skip",
                "no contract and no Keras reference to map the outputs against; "
                f"{what} returns, in predict() "
                f"order: {_listing(graph_outs)}; ask by name: {call}",
                ev,
            )
    elif keras_outs is None or subject is keras_outs:
        return Check(
            "output_mapping",
            "skip",
            f"only {what}, no contract: nothing to map its outputs ({_listing(subject)}) against",
            ev,
        )
    use = f"; use {call}" if call else ""
    if problems:
        return Check("output_mapping", "fail", "; ".join(problems) + f" ({what}: {_listing(subject)})", ev)
    if warnings:
        return Check("output_mapping", "warn", "; ".join(warnings) + use, ev)
    order = (
        f"; predict() order [{', '.join(o.name for o in subject)}] as in Keras"
        if keras_outs and graph_outs
        else ""
    )
    return Check(
        "output_mapping",
        "pass",
        f"{what}'s outputs match by name and shape ({_listing(subject)}){order}{use}",
        ev,
    )


# --------------------------------------------------------------------------- 5. preprocess_parity


def preprocess_parity(case: Case) -> Check:
    from soroban_vision.doctor import pitfalls

    if case.kind != "column" or case.data is None:
        return Check(
            "preprocess_parity", "skip", "the model does not take image columns: no image files to compare"
        )
    if case.browser_override is not None:
        source = "substituted browser preprocessing (a test seam)"
        browser = np.asarray(case.browser_override(case.data.files), np.float32)
    else:
        if case.tfjs_path is None:
            return Check(
                "preprocess_parity", "skip", "no --tfjs deployment: the browser library has no model to load"
            )
        if case.contract is None:
            return Check(
                "preprocess_parity",
                "skip",
                f"{case.tfjs_path} has no contract.json: "
                "the browser library loads models only through a contract",
            )
        if case.browser.status == "refused":
            return Check(
                "preprocess_parity",
                "fail",
                "the browser library refuses this deployment, so no web page can use it: "
                f"{case.browser.reason}",
                {"error": case.browser.reason},
            )
        if case.browser.status != "ran":
            reason = case.browser.reason or "no chromium runtime among --runtimes"
            return Check("preprocess_parity", "skip", f"Chromium did not run: {reason}")
        source = "the browser library (web/src/soroban-vision.js) in Chromium"
        browser = case.browser.x01
    case.cache["browser_x01"] = browser
    python = case.data.x01
    diff = np.abs(browser.astype(np.float64) - python.astype(np.float64)).reshape(len(python), -1)
    per_file = diff.max(axis=1)
    n = len(python)
    ev: dict = {
        "source": source,
        "n": n,
        "max_abs_diff": float(per_file.max(initial=0.0)),
        "max_abs_diff_in_8bit_steps": float(per_file.max(initial=0.0) * 255),
        "mean_abs_diff": float(diff.mean()),
        "files_differing": int((per_file > PIXEL_PASS).sum()),
    }
    worst = np.argsort(-per_file)[:5]
    ev["worst_files"] = [{"file": str(case.data.files[i]), "max_abs_diff": float(per_file[i])} for i in worst]
    changed = None
    r = case.decision_runtime()
    if r is not None:
        roles = case.role_map(r.id)
        mine = compare.digits(r.values, roles)
        theirs = compare.digits(case.run_images(r.id, compare.apply_range(browser, case.declared)), roles)
        changed = int((mine != theirs).sum())
        ev.update({"decision_runtime": r.id, "decisions_changed": changed})
        ev["changed_items"] = [int(i) for i in np.flatnonzero(mine != theirs)][:GALLERY]
    cause = (
        pitfalls.explain(case.data.files, browser, python) if per_file.max(initial=0.0) > PIXEL_PASS else None
    )
    if cause:
        ev["likely_cause"] = cause
    decisions = f", {changed} of {n} decisions change" if changed is not None else ""
    top = per_file.max(initial=0.0)
    if (changed or 0) > 0 or top > PIXEL_FAIL:
        because = f"; it looks like {cause['description']}" if cause else ""
        return Check(
            "preprocess_parity",
            "fail",
            f"the browser's preprocessing differs from Python's: max pixel |diff| {top:.3f} "
            f"({top * 255:.0f}/255) on {ev['files_differing']} of {n} files{decisions}{because}; "
            f"worst: {case.data.files[worst[0]].name}",
            ev,
        )
    if top > PIXEL_PASS:
        return Check(
            "preprocess_parity",
            "warn",
            f"the browser's preprocessing is within {top * 255:.1f}/255 of Python's on {n} files{decisions} "
            "(more than rounding: image decoders differ?)",
            ev,
        )
    return Check(
        "preprocess_parity",
        "pass",
        f"the browser library's preprocessing matches Python's on {n} files "
        f"(max |diff| {top:.2g}{decisions})",
        ev,
    )


# --------------------------------------------------------------------------- 6. runtime_parity


def _reference_for(case: Case, r) -> tuple[str, str]:
    """(reference runtime, kind of comparison). Runtimes on the same weights in float32 must agree
    exactly in their decisions; half-float compute or quantized weights against float32 may not."""
    main = case.runtimes[case.reference]
    if r.weights == main.weights or r.weights is None or main.weights is None:
        return main.id, "float32" if r.compute == "float32" else "float16 compute"
    peer = next(
        (
            x.id
            for x in case.ran()
            if x.id != r.id and x.weights == r.weights and x.compute == "float32" and x.id != main.id
        ),
        None,
    )
    if r.compute != "float32":
        return (peer or main.id), "float16 compute"
    if peer is not None and list(case.runtimes).index(peer) < list(case.runtimes).index(r.id):
        return peer, "float32"  # same quantized weights, float32 compute: must agree
    return main.id, f"{r.weights} weights vs float32"


def runtime_parity(case: Case) -> Check:
    ran = case.ran()
    failed = [r for r in case.runtimes.values() if r.status == "failed"]
    skipped = {r.id: r.reason for r in case.runtimes.values() if r.status == "skipped"}
    ev: dict = {"reference": case.reference, "skipped": skipped, "failed": {r.id: r.reason for r in failed}}
    if case.kind == "column" and case.data is not None:
        ev["inputs"] = (
            f"{len(case.data.files)} labelled images, preprocessed by Python, in {fmt_range(case.declared)}"
        )
    else:
        ev["inputs"] = f"{len(case.feeds)} generated feeds"
    if len(ran) < 2:
        msg = "; ".join(f"{r.id} failed: {r.reason}" for r in failed)
        if failed:
            return Check("runtime_parity", "fail", msg, ev)
        return Check(
            "runtime_parity",
            "skip",
            f"only {ran[0].id if ran else 'no runtime'} ran: nothing to compare "
            f"(skipped: {_grouped(skipped)})",
            ev,
        )
    comparisons = []
    for r in ran:
        if r.id == case.reference:
            continue
        ref, kind = _reference_for(case, r)
        c = _compare(case, r.id, ref)
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
        comparisons.append(c)
    ev["comparisons"] = [{k: v for k, v in c.items() if k != "disagreeing_items"} for c in comparisons]
    ev["disagreements"] = _gallery(case, comparisons)
    n = next((c["n"] for c in comparisons if c["n"] is not None), None)
    lines, status = [], "pass"
    for r in failed:
        lines.append(f"{r.id} failed: {r.reason}")
        status = "fail"
    for c in comparisons:
        if c["status"] == "pass":
            continue
        bad = c["disagreements"] or 0
        errors = [o for o in c["outputs"] if "error" in o]
        if errors:
            shapes = ", ".join(f"{o['output']} has {o['error']}" for o in errors)
            lines.append(f"{c['runtime']} answers in other shapes than {c['vs']}: {shapes}")
        if bad:
            what = {
                "float32": "float32 runtimes must agree",
                "float16 compute": "half-float textures, as on many phones",
            }.get(c["kind"], f"{c['kind']}: see quantization")
            lines.append(f"{c['runtime']} disagrees with {c['vs']} on {bad} of {c['n']} decisions ({what})")
        elif not errors:
            worst = max(c["outputs"], key=lambda o: o.get("max_abs_diff", 0.0))
            lines.append(
                f"{c['runtime']} strays from {c['vs']} by up to "
                f"{worst.get('max_abs_diff', float('nan')):.2g} on "
                f"{worst['output']} (tolerance {c['tolerance']:g})"
            )
        status = _worse(status, c["status"])
    if status != "pass":
        return Check("runtime_parity", status, "; ".join(lines), ev)
    worst = max(
        ((c, o) for c in comparisons for o in c["outputs"] if "max_abs_diff" in o),
        key=lambda co: co[1]["max_abs_diff"],
        default=None,
    )
    largest = (
        f"; largest |diff| {worst[1]['max_abs_diff']:.2g} ({worst[0]['runtime']}, {worst[1]['output']})"
        if worst
        else ""
    )
    if not n:
        agree = "agree within tolerance"
    elif case.kind == "column":
        agree = f"agree on all {n} decisions"
    else:
        agree = f"agree on every decision for the {n} generated feeds"
    unpaired = sorted({u for c in comparisons for u in c["unpaired"]})
    note = f" (not compared, no matching output: {', '.join(unpaired)})" if unpaired else ""
    return Check("runtime_parity", "pass", f"{len(ran)} runtimes {agree}{largest}{note}", ev)


def _grouped(skipped: dict[str, str]) -> str:
    """'tfjs-node, chromium-cpu (no --tfjs model given)': runtimes that share a reason, together."""
    by_reason: dict[str, list[str]] = {}
    for rid, why in skipped.items():
        by_reason.setdefault(why, []).append(rid)
    return "; ".join(f"{', '.join(ids)} ({why})" for why, ids in by_reason.items()) or "none"


def _worse(a: str, b: str) -> str:
    order = {"pass": 0, "skip": 0, "warn": 1, "fail": 2}
    return a if order[a] >= order[b] else b


def _gallery(case: Case, comparisons: list[dict]) -> list[dict]:
    """The items some runtime decides differently, with every runtime's answer."""
    items = sorted({i for c in comparisons for i in c["disagreeing_items"]})[:GALLERY]
    out = []
    answers = {r.id: _answers(case, r.id) for r in case.ran()}
    for i in items:
        entry: dict = {"item": i}
        if case.data is not None:
            entry["file"] = case.data.files[i].name
            entry["label"] = int(case.data.labels[i])
        entry["answers"] = {
            rid: {"digit": int(a["digits"][i]), "confidence": float(a["confidence"][i])}
            for rid, a in answers.items()
            if a is not None
        }
        out.append(entry)
    return out
