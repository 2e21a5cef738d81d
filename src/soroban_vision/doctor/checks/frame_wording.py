"""The sentences of the frame model's own checks (normalization, quantization, preprocess_parity
and runtime_parity, measured in photo pixels); the checks it shares with the column model
(preprocessing_layers, output_mapping) are worded by wording.py."""

from __future__ import annotations

from pathlib import Path

from soroban_vision.doctor.checks import wording
from soroban_vision.doctor.checks.finding import Finding
from soroban_vision.doctor.compare import fmt_range
from soroban_vision.doctor.frame_compare import PARITY_PX


def summary(check_id: str, f: Finding) -> str:
    if f.reason == "unfinished" or check_id not in WRITERS:
        return wording.summary(check_id, f)
    return WRITERS[check_id](f.reason, f.evidence, f.words)


def _px(v) -> str:
    return "-" if v is None else f"{v:.2f} px"


def _scored(s: dict) -> str:
    e = s["corner_error_px"]
    return (
        f"{fmt_range(s['range'])}: frame-present right on {s['accuracy']:.3f}, corner error median "
        f"{_px(e['median'])} / p95 {_px(e['p95'])}"
    )


# --------------------------------------------------------------------------- normalization


def normalization(reason: str, ev: dict, w: dict) -> str:
    if reason == "no_scenes":
        return "no photos to score: the frame model's input range cannot be measured"
    if reason == "no_scorer":
        return (
            "no runtime could score the photos (keras, onnxruntime or tfjs-node with corners and frame "
            "outputs)"
        )
    sweep = ev["sweep"]
    dec = next(s for s in sweep if s["declared"])
    on = f"{ev['n']} photos, {ev['scenes']} with a soroban, {ev['runtime']}"
    if reason == "poor_under_every_range":
        return (
            f"the model finds frames poorly under every input range ({on}; declared {_scored(dec)}): check "
            "the photos and the preprocessing"
        )
    if reason == "as_declared":
        others = sorted((s for s in sweep if not s["declared"]), key=lambda s: (s["errors"], s["accuracy"]))
        tail = f" (next: {_scored(others[0])})" if others else ""
        return f"the declared range is what the model expects: {_scored(dec)} ({on}){tail}"
    best = next(s for s in sweep if s["range"] == ev["best"])
    measured = f"{_scored(best)} vs {_scored(dec)} ({on}; paired test p={ev['p_value']:.2g})"
    if reason == "inconclusive":
        return (
            f"inconclusive: {fmt_range(best['range'])} looks better than the declared "
            f"{fmt_range(dec['range'])}, but chance explains a difference this small: {measured}; give more "
            "scenes (--scenes DIR) to decide"
        )
    if reason == "double_normalization":
        view = w["view"]
        return (
            f"double normalization: the model already maps {fmt_range(view['expects'])} to "
            f"{fmt_range(view['maps_to'])} inside, and the code feeds {fmt_range(dec['range'])}, so the "
            f"model sees {fmt_range(w['seen'])}; feed {fmt_range(best['range'])}: {measured}"
        )
    return (
        f"the model expects {fmt_range(best['range'])} but is fed {fmt_range(dec['range'])}: {measured}; "
        f"map the photo's input linearly from {fmt_range(dec['range'])} to {fmt_range(best['range'])}"
    )


# --------------------------------------------------------------------------- quantization


def quantization(reason: str, ev: dict, w: dict) -> str:
    if reason in ("no_graph", "float32", "no_reference"):
        return wording.quantization(reason, ev, w)
    p = ev["precision"]
    worst = ", ".join(
        f"{r['tensor'].removeprefix('StatefulPartitionedCall/')} "
        f"(max {100 * r['relative_to_range']:.2g}% of its range)"
        for r in ev.get("ranking", [])[:3]
    )
    if reason in ("keras_did_not_run", "deployed_did_not_run"):
        why = "keras did not run" if reason == "keras_did_not_run" else "no runtime ran the deployed weights"
        return f"{p} weights: corners not compared ({why}); largest quantization errors: {worst or 'unknown'}"
    c, rec = ev["comparison"], ev["recorded"]
    on = (
        f"export's {c['n']} check scenes and tables, seed {c['seed']}"
        if c["images"] == "export check scenes"
        else f"the doctor's {c['n']} photos"
    )
    moved = (
        f"corners move up to {c['max_corner_shift_px']:.2f} px in a 640x480 photo and "
        f"{c['disagreements']} of {c['n']} frame-present decisions change ({c['runtime']} vs keras on {on})"
    )
    if reason == "export_rule":
        return (
            f"{p} weights: {moved}, beyond what frame export allows ({c['allowed_shift_px']:g} px and "
            f"{100 * c['allowed_rate']:.1g}% of decisions); use float32 (or float16); worst tensors: "
            f"{worst or 'unknown'}"
        )
    if reason == "beyond_tolerance":
        top = max(c["outputs"], key=lambda o: o["max_abs_diff"])
        return (
            f"{p} weights move {top['output']} by {top['max_abs_diff']:.2g}, beyond the tolerance "
            f"{c['tolerance']:.2g} ({c['tolerance_source']}); {moved}"
        )
    if reason == "refused_by_export":
        return (
            f"export refused these {p} weights and wrote them only because of --force (contract.json "
            f"verification: {rec['status']}); here {moved}"
        )
    return (
        f"{p} weights keep the frame model's answers: {moved}; within export's {c['allowed_shift_px']:g} px"
    )


# --------------------------------------------------------------------------- preprocess_parity


def preprocess_parity(reason: str, ev: dict, w: dict) -> str:
    if reason == "no_scenes":
        return "no photos: nothing for the browser library to detect frames in"
    if reason in ("no_tfjs", "no_contract", "no_chromium"):
        return wording.preprocess_parity(reason, ev, w)
    if reason == "refused":
        return f"the browser library refuses this frame model, so no web page can use it: {ev['error']}"
    n, top = ev["n"], ev["max_abs_diff"]
    inputs = f"model inputs within {top * 255:.2g}/255 of Python's on {n} photos"
    if reason == "inputs_only":
        return f"{inputs}; no float32 runtime to compare the corners with"
    whole, alone = ev["library_vs_python"], ev["python_on_browser_input"]
    corners = (
        f"the library's corners within {whole['max_corner_shift_px']:.3g} px of Python's (mean "
        f"{whole['mean_corner_shift_px']:.2g} px, budget {ev['parity_px']:g}), "
        f"{whole['decisions_changed']} of {n} frame-present decisions changed"
    )
    if reason == "differs":
        cause = (
            "the inputs differ"
            if top * 255 > 1 or alone["max_corner_shift_px"] > ev["parity_px"]
            else "the inputs agree, so it is the browser's runtime"
        )
        return (
            f"the browser's frame detection differs from Python's: {corners}; max input |diff| "
            f"{top * 255:.1f}/255 on {ev['files_differing']} photos ({cause}); worst: "
            f"{whole['worst_file'] or Path(ev['worst_files'][0]['file']).name}"
        )
    if reason == "close":
        return f"{corners}; but the {inputs} (more than rounding: image decoders differ?)"
    return f"the browser library's frame detection matches Python's: {inputs}, {corners}"


# --------------------------------------------------------------------------- runtime_parity


def _line(c: dict) -> str:
    if "error" in c:
        return f"{c['runtime']}: {c['error']}"
    what = {
        "float32": "float32 runtimes must agree",
        "float16 compute": "half-float textures, as on many phones",
    }
    parts = []
    if c["disagreements"]:
        parts.append(f"{c['disagreements']} of {c['n']} frame-present decisions")
    parts.append(f"corners by up to {c['max_corner_shift_px']:.3g} px (budget {PARITY_PX:g} px)")
    top = max(c["outputs"], key=lambda o: o["max_abs_diff"])
    loose = (
        ""
        if top["within_tolerance"]
        else f", {top['output']} |diff| {top['max_abs_diff']:.2g} > {c['tolerance']:.2g}"
    )
    return (
        f"{c['runtime']} differs from {c['vs']}: {' and '.join(parts)}{loose} "
        f"({what.get(c['kind'], c['kind'] + ': see quantization')})"
    )


def runtime_parity(reason: str, ev: dict, w: dict) -> str:
    if reason in ("failed", "nothing_to_compare"):
        return wording.runtime_parity(reason, ev, w)
    comparisons = ev["comparisons"]
    failed = [f"{rid} failed: {why}" for rid, why in ev["failed"].items()]
    if reason == "differ":
        return "; ".join(failed + [_line(c) for c in comparisons if c["status"] != "pass"])
    worst = max(comparisons, key=lambda c: c["max_corner_shift_px"])
    n = comparisons[0]["n"]
    return (
        f"{w['ran']} runtimes agree on all {n} frame-present decisions; corners within "
        f"{worst['max_corner_shift_px']:.2g} px of {worst['vs']} ({worst['runtime']}; "
        f"budget {ev['parity_px']:g} px)"
    )


WRITERS = {
    "normalization": normalization,
    "quantization": quantization,
    "preprocess_parity": preprocess_parity,
    "runtime_parity": runtime_parity,
}
