"""The one place the checks' sentences are written: each check decides a Finding (status, reason,
evidence); `summary` turns it into the one line a person can act on."""

from __future__ import annotations

from pathlib import Path

from soroban_vision.doctor.checks.finding import Finding
from soroban_vision.doctor.compare import fmt_range, shape_str

SEE_NORMALIZATION = "the normalization check measures which range it expects"


def summary(check_id: str, f: Finding) -> str:
    if f.reason == "unfinished":
        return f"the check could not finish: {f.evidence['error']}"
    return WRITERS[check_id](f.reason, f.evidence, f.words)


def _pct(x: float) -> str:
    return f"{100 * x:.2g}%"


def _short(tensor: str) -> str:
    return tensor.removeprefix("StatefulPartitionedCall/")


def _what(view: dict) -> str:
    """A model's own normalization, named where it sits: a Keras layer, or graph arithmetic."""
    if view["source"] == "keras":
        return f"{view['type']} layer '{view['layer']}' ({view['affine']})"
    ops = ", ".join(f"{s['op']} {s['const']:g}" for s in view["steps"] if isinstance(s.get("const"), float))
    return f"{ops or 'constant arithmetic'} after input '{view['input']}' in model.json ({view['affine']})"


# --------------------------------------------------------------------------- 1. preprocessing_layers


def preprocessing_layers(reason: str, ev: dict, w: dict) -> str:
    declared = fmt_range(ev["declared"])
    view = w["view"]
    if reason == "keras_and_graph_differ":
        return (
            f"the Keras model and the graph model normalize differently: Keras has {_what(w['keras_view'])}, "
            f"the graph has {_what(w['graph_view'])}; they may not be the same model"
        )
    if reason == "none_inside":
        inspected = "keras" in ev or "graph" in ev
        where = "the model" if inspected else "the ONNX model"
        note = "" if inspected else " (ONNX graphs are not inspected)"
        return (
            f"no normalization layer inside {where}{note}: it takes its input as fed (declared {declared}); "
            + SEE_NORMALIZATION
        )
    what = _what(view)
    if reason == "identity":
        return (
            f"{what} leaves the input unchanged: the model takes its input as fed (declared {declared}); "
            + SEE_NORMALIZATION
        )
    if reason == "fitted":
        return (
            f"{what} normalizes the input inside the model; feed it the range it was fitted on "
            f"(declared {declared})"
        )
    expects, maps_to = fmt_range(view["expects"]), fmt_range(view["maps_to"])
    if reason == "as_declared":
        return f"{what} maps {expects} to {maps_to} inside the model: it expects {expects}, as declared"
    if reason == "feed_what_it_expects":
        return (
            f"{what} maps {expects} to {maps_to} inside the model: feed it {expects} "
            f"(pass --input-range to generate inputs in that range)"
        )
    seen = fmt_range(w["seen"])
    if reason == "double_normalization":
        return (
            f"double normalization: {what} already maps {expects} to {maps_to}, and the declared "
            f"input is {declared}, so the model sees {seen}; feed {expects}"
        )
    return f"{what} expects {expects} but the declared input is {declared} (the model sees {seen})"


# --------------------------------------------------------------------------- 2. normalization


def normalization(reason: str, ev: dict, w: dict) -> str:
    if reason == "not_a_column":
        return (
            "no labelled images for this model: its inputs are not a 64x128 gray column, so the input "
            "range cannot be measured"
        )
    if reason == "no_scorer":
        return (
            "no runtime could score the labelled images (keras, onnxruntime or tfjs-node with outputs "
            "that map to heaven and earth)"
        )
    sweep, n = ev["sweep"], ev["n"]
    dec = next(s for s in sweep if s["declared"])
    if reason == "poor_under_every_range":
        top = max(s["accuracy"] for s in sweep)
        return (
            "the model reads these images poorly under every input range "
            f"(best accuracy {top:.3f}, {n} images): check the labels and the preprocessing"
        )
    if reason == "as_declared":
        others = sorted(
            (s for s in sweep if not s["declared"]), key=lambda s: (s["errors"], s["expected_errors"])
        )
        tail = f" (next: {fmt_range(others[0]['range'])} {others[0]['accuracy']:.3f})" if others else ""
        return (
            f"the declared range {fmt_range(dec['range'])} is what the model expects: accuracy "
            f"{dec['accuracy']:.3f} on {n} images{tail}"
        )
    best = next(s for s in sweep if s["range"] == ev["best"])
    measured = (
        f"accuracy {best['accuracy']:.3f} at {fmt_range(best['range'])} vs {dec['accuracy']:.3f} at "
        f"{fmt_range(dec['range'])}, expected errors {best['expected_errors']:.1f} vs "
        f"{dec['expected_errors']:.1f} ({n} images, {ev['runtime']}; paired test p={ev['p_value']:.2g})"
    )
    if reason == "inconclusive":
        layers = " (the model's own layers suggest double normalization)" if w["double"] else ""
        return (
            f"inconclusive: {fmt_range(best['range'])} looks better than the declared "
            f"{fmt_range(dec['range'])}{layers}, but chance explains a difference this small: {measured}, "
            f"wrong only below p={ev['alpha']:g}; give more labelled images (--images DIR) to decide"
        )
    if dec["errors"] == best["errors"]:
        measured += "; the same digits on these images, but less sure of them"
    if reason == "double_normalization":
        view = w["view"]
        return (
            f"double normalization: the model's own {_what(view)} already maps {fmt_range(view['expects'])} "
            f"to {fmt_range(view['maps_to'])}, and the code feeds {fmt_range(dec['range'])}, "
            f"so the model sees {fmt_range(w['seen'])}; feed {fmt_range(best['range'])}: {measured}"
        )
    return (
        f"the model expects {fmt_range(best['range'])} but is fed {fmt_range(dec['range'])}: {measured}; "
        f"map the image linearly from {fmt_range(dec['range'])} to {fmt_range(best['range'])} before the "
        "model, or put a Rescaling layer inside it"
    )


# --------------------------------------------------------------------------- 3. quantization


def _images(c: dict) -> str:
    if c["images"] == "export check columns":
        return f"export's {c['n']} check columns, seed {c['seed']}"
    return f"the doctor's {c['n']} images" if c["n"] else "the doctor's generated feeds"


def _within(c: dict) -> str:
    """'max |diff| 0.33 on earth (tolerance 0.66, contract golden.tolerance.wasm)'."""
    worst = max(c["outputs"], key=lambda o: o.get("max_abs_diff", 0.0))
    return (
        f"max |diff| {worst.get('max_abs_diff', 0.0):.2g} on {worst['output']} "
        f"(tolerance {c['tolerance']:.2g}, {c['tolerance_source']})"
    )


def quantization(reason: str, ev: dict, w: dict) -> str:
    if reason == "no_graph":
        return "no --tfjs graph model: no deployed weights to check"
    if reason == "float32":
        return "the deployed weights are float32: nothing is quantized"
    p = ev["precision"]
    if reason == "no_reference":
        return (
            f"the deployed weights are {p}, but there is no --keras float32 reference to compare them against"
        )
    ranking = ev.get("ranking", [])
    worst = ", ".join(
        f"{_short(r['tensor'])} (mean error {r['mean_error_vs_typical_weight']:.2g}x a typical weight, "
        f"max {_pct(r['relative_to_range'])} of its range)"
        for r in ranking[:3]
    )
    if reason in ("keras_did_not_run", "deployed_did_not_run"):
        why = "keras did not run" if reason == "keras_did_not_run" else "no runtime ran the deployed weights"
        return f"{p} weights: answers not compared ({why}); largest quantization errors: {worst or 'unknown'}"
    c, rec = ev["comparison"], ev["recorded"]
    largest = worst.split("), ")[0] + ")" if worst else "n/a"
    on, within = _images(c), _within(c)
    allowed = _pct(c["allowed_rate"])
    if reason == "decisions_change":
        return (
            f"{p} weights change {c['disagreements']} of {c['n']} decisions against the float32 Keras "
            f"model, more than the {allowed} export allows ({on}); {within}; "
            f"worst tensors: {worst or 'unknown'}"
        )
    if reason == "beyond_tolerance":
        whose = (
            "the contract's, which the browser library's golden self-check holds it to"
            if c["tolerance_source"].startswith("contract")
            else "no contract says how far they may; this is the doctor's default"
        )
        decided = f"; {c['disagreements']} of {c['n']} decisions change" if c["n"] else ""
        return (
            f"{p} weights move the outputs beyond their tolerance on {on}: {within} ({whose}){decided}; "
            f"worst tensors: {worst or 'unknown'}"
        )
    if reason == "refused_by_export":
        return (
            f"export refused these {p} weights and wrote them only because of --force (contract.json "
            f"verification: {rec['status']}, {rec['disagreements']} of {rec['n']} decisions changed with "
            f"{rec['runtime']}); here {c['disagreements']} of {c['n']} change on {on}; worst tensors: "
            f"{worst or 'unknown'}"
        )
    if reason == "outputs_within":
        return f"{p} weights keep every output near the float32 Keras model's on {on}: {within}"
    if reason == "too_few_images":
        return (
            f"{p} weights keep {c['n'] - c['disagreements']} of {c['n']} decisions on {on}, too few to see "
            f"the {allowed} of changed decisions export allows: add tfjs-node to --runtimes to check them on "
            f"export's {w['needed']} check columns; {within}; largest quantization error: {largest}"
        )
    recorded = (
        f", and export's check of these files recorded {rec['disagreements']} of {rec['n']} changed"
        if reason == "kept_as_recorded"
        else ""
    )
    return (
        f"{p} weights keep {c['n'] - c['disagreements']} of {c['n']} decisions of the float32 Keras model "
        f"({on}; export allows {allowed}){recorded}; {within}; largest quantization error: {largest}"
    )


# --------------------------------------------------------------------------- 4. output_mapping

MODEL = {"graph": "the graph model", "onnx": "the ONNX model", "keras": "the Keras model"}


def _listing(outs) -> str:
    return ", ".join(f"{o.name} {shape_str(o.shape)}" for o in outs)


def _mapping_issue(p: dict) -> str:
    kind = p["kind"]
    if kind == "shape_differs":
        return (
            f"output {p['output']} is {shape_str(p['keras'])} in Keras but {shape_str(p['graph'])} in the "
            "graph model"
        )
    if kind == "unmatched_role":
        return f"role {p['role']} cannot be matched: {p['why']}"
    if kind == "names_differ":
        return (
            f"output names differ: Keras has {', '.join(p['keras'])}, the graph model {', '.join(p['graph'])}"
        )
    if kind == "order_differs":
        return (
            f"predict() returns [{', '.join(p['graph'])}] but Keras returns [{', '.join(p['keras'])}]: code "
            "that takes the outputs by position gets them swapped"
        )
    pairs = ", ".join(f"{role} -> {name}" for role, name in p["pairs"])  # matched_by_shape
    refuse = " and the browser library, which asks by name, refuses the model" if p["refused"] else ""
    return f"output names are not the contract's roles: matched by shape ({pairs}){refuse}"


def output_mapping(reason: str, ev: dict, w: dict) -> str:
    what, outs = MODEL[w["what"]], w["outputs"]
    if reason == "nothing_to_map_against":
        return (
            f"no contract and no Keras reference to map the outputs against; {what} returns, in predict() "
            f"order: {_listing(outs)}; ask by name: {w['call']}"
        )
    if reason == "only_one_model":
        return f"only {what}, no contract: nothing to map its outputs ({_listing(outs)}) against"
    use = f"; use {w['call']}" if w["call"] else ""
    if reason == "problems":
        return "; ".join(_mapping_issue(p) for p in w["problems"]) + f" ({what}: {_listing(outs)})"
    if reason == "warnings":
        return "; ".join(_mapping_issue(p) for p in w["warnings"]) + use
    order = f"; predict() order [{', '.join(o.name for o in outs)}] as in Keras" if w["as_in_keras"] else ""
    return f"{what}'s outputs match by name and shape ({_listing(outs)}){order}{use}"


# --------------------------------------------------------------------------- 5. preprocess_parity


def preprocess_parity(reason: str, ev: dict, w: dict) -> str:
    if reason == "not_columns":
        return "the model does not take image columns: no image files to compare"
    if reason == "no_tfjs":
        return "no --tfjs deployment: the browser library has no model to load"
    if reason == "no_contract":
        return f"{w['tfjs']} has no contract.json: the browser library loads models only through a contract"
    if reason == "refused":
        return f"the browser library refuses this deployment, so no web page can use it: {ev['error']}"
    if reason == "no_chromium":
        return f"Chromium did not run: {w['why'] or 'no chromium runtime among --runtimes'}"
    n, top = ev["n"], ev["max_abs_diff"]
    decisions = f", {ev['decisions_changed']} of {n} decisions change" if "decisions_changed" in ev else ""
    if reason == "differs":
        because = f"; it looks like {ev['likely_cause']['description']}" if "likely_cause" in ev else ""
        return (
            f"the browser's preprocessing differs from Python's: max pixel |diff| {top:.3f} "
            f"({top * 255:.0f}/255) on {ev['files_differing']} of {n} files{decisions}{because}; "
            f"worst: {Path(ev['worst_files'][0]['file']).name}"
        )
    if reason == "close":
        return (
            f"the browser's preprocessing is within {top * 255:.1f}/255 of Python's on {n} files{decisions} "
            "(more than rounding: image decoders differ?)"
        )
    return (
        f"the browser library's preprocessing matches Python's on {n} files (max |diff| {top:.2g}{decisions})"
    )


# --------------------------------------------------------------------------- 6. runtime_parity


def _grouped(skipped: dict[str, str]) -> str:
    """'tfjs-node, chromium-cpu (no --tfjs model given)': runtimes that share a reason, together."""
    by_reason: dict[str, list[str]] = {}
    for rid, why in skipped.items():
        by_reason.setdefault(why, []).append(rid)
    return "; ".join(f"{', '.join(ids)} ({why})" for why, ids in by_reason.items()) or "none"


def _comparison_line(c: dict) -> str:
    lines = []
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
    return "; ".join(lines)


def runtime_parity(reason: str, ev: dict, w: dict) -> str:
    failed = [f"{rid} failed: {why}" for rid, why in ev["failed"].items()]
    if reason == "failed":
        return "; ".join(failed)
    if reason == "nothing_to_compare":
        return f"only {w['ran'] or 'no runtime'} ran: nothing to compare (skipped: {_grouped(ev['skipped'])})"
    comparisons = ev["comparisons"]
    if reason == "differ":
        return "; ".join(failed + [_comparison_line(c) for c in comparisons if c["status"] != "pass"])
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
    n = next((c["n"] for c in comparisons if c["n"] is not None), None)
    if not n:
        agree = "agree within tolerance"
    elif w["column"]:
        agree = f"agree on all {n} decisions"
    else:
        agree = f"agree on every decision for the {n} generated feeds"
    unpaired = sorted({u for c in comparisons for u in c["unpaired"]})
    note = f" (not compared, no matching output: {', '.join(unpaired)})" if unpaired else ""
    return f"{w['ran']} runtimes {agree}{largest}{note}"


WRITERS = {
    "preprocessing_layers": preprocessing_layers,
    "normalization": normalization,
    "quantization": quantization,
    "output_mapping": output_mapping,
    "preprocess_parity": preprocess_parity,
    "runtime_parity": runtime_parity,
}
