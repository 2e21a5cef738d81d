"""The measurements the checks need beyond the runtimes' own run, made once, right after it: the
model's own normalization, the weights (deployed, and a float32 conversion of the Keras
reference), the labelled images under each candidate input range, the browser's preprocessing
through the decision runtime, the Keras outputs, and a quantized deployment's answers on the
export's check columns. An error that stops one measurement is kept
for the check that needed it, which then fails with it; the other checks still run."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np

from soroban_vision.doctor import compare, own_normalization
from soroban_vision.doctor.facts import Facts
from soroban_vision.doctor.runtimes import adapt
from soroban_vision.errors import SorobanError

BATCH = 64


def measure(facts: Facts, say: Callable[[str], None] = lambda _: None) -> None:
    _weights(facts, say)
    if "preprocessing_layers" not in facts.unfinished:
        facts.own_normalization = own_normalization.read(
            facts.keras_model, facts.graph, facts.deployed_weights
        )
    _keras_outputs(facts)
    if facts.kind == "frame":
        from soroban_vision.doctor import frame_measure

        frame_measure.measure(facts, run_images, say)
        return
    _sweep(facts, say)
    _browser(facts)
    _check_set(facts, say)


def run_images(facts: Facts, rid: str, x: np.ndarray, batch: int = BATCH) -> dict[str, np.ndarray]:
    """Extra images through a main-thread runtime, in batches, by its own output names."""
    r = facts.runtimes[rid]
    names = [o.name for o in r.outputs] if rid == "tfjs-node" else None
    parts: dict[str, list] = {}
    for i in range(0, len(x), batch):
        feed = adapt({facts.input_names[0]: x[i : i + batch]}, r.inputs)
        out = r.runner.run(feed, names) if names else r.runner.run(feed)
        for k, v in out.items():
            parts.setdefault(k, []).append(np.asarray(v))
    return {k: np.concatenate(v) for k, v in parts.items()}


def _weights(facts: Facts, say) -> None:
    """The deployed weights; and, for quantized ones with a Keras reference, float32 ones."""
    from soroban_vision.doctor.reference import float32_graph
    from soroban_vision.export import graph_weights

    deployed_error = None
    if facts.graph is not None:
        try:
            facts.deployed_weights = graph_weights(facts.tfjs_path)
        except SorobanError as e:
            deployed_error = facts.unfinished["preprocessing_layers"] = str(e)
    if facts.graph is None or facts.graph.precision == "float32" or facts.keras_path is None:
        return
    try:
        reference = graph_weights(float32_graph(facts.keras_path, facts.keras_model, say))
    except SorobanError as e:
        facts.weights_error = str(e)
        return
    missing = set(facts.deployed_weights or {}) - set(reference)
    if missing:  # converted elsewhere, without export's folding: its batch norms are tensors of their own
        with contextlib.suppress(SorobanError):  # without it, the folded reference still ranks what it can
            plain = graph_weights(float32_graph(facts.keras_path, facts.keras_model, say, folded=False))
            if len(set(facts.deployed_weights) - set(plain)) < len(missing):
                reference = plain
    facts.reference_weights = reference
    facts.weights_error = deployed_error


def _keras_outputs(facts: Facts) -> None:
    r = facts.runtime("keras")
    if r is not None:
        facts.keras_outputs = r.outputs
    elif facts.keras_model is not None:
        from soroban_vision.runners.keras import KerasRunner

        try:
            facts.keras_outputs = KerasRunner(model=facts.keras_model).outputs()
        except SorobanError as e:
            facts.unfinished["output_mapping"] = str(e)


def _sweep(facts: Facts, say) -> None:
    """Errors under each candidate range, counted two ways: wrong digits, and expected errors
    (the sum over images of 1 - p(true digit)). A robust model may read every image right under a
    wrong range and only lose confidence; expected errors see that, wrong digits alone do not."""
    r = facts.decision_runtime()
    if facts.kind != "column" or facts.data is None or r is None:
        return
    say(f"scoring the labelled images under each input range ({r.id})")
    roles = facts.role_map(r.id)
    labels = facts.data.labels
    candidates = list(compare.CANDIDATE_RANGES)
    if not any(compare.same_range(c, facts.declared) for c in candidates):
        candidates.append(facts.declared)
    sweep = []
    items: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
    try:
        for rg in candidates:
            declared = compare.same_range(rg, facts.declared)
            out = r.values if declared else run_images(facts, r.id, compare.apply_range(facts.data.x01, rg))
            right = compare.digits(out, roles) == labels
            p = _p_true(out, roles, labels)
            items[tuple(rg)] = (right, p)
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
    except SorobanError as e:
        facts.unfinished["normalization"] = str(e)
        return
    facts.sweep, facts.sweep_items = sweep, items


def _p_true(out: dict, roles: dict, labels: np.ndarray) -> np.ndarray:
    """The probability the model gives the true digit: p(heaven state) * p(earth count)."""
    from soroban_vision.beads import to_beads

    beads = [to_beads(int(d)) for d in labels]
    heaven = np.array([b.heaven for b in beads])
    earth = np.array([b.earth for b in beads])
    ph = np.asarray(out[roles["heaven"]], np.float64).reshape(-1)
    pe = np.asarray(out[roles["earth"]], np.float64).reshape(len(ph), -1)
    return np.where(heaven == 1, ph, 1 - ph) * pe[np.arange(len(ph)), earth]


def _check_set(facts: Facts, say) -> None:
    """A quantized deployment's answers on the export's own check columns, beside Keras's."""
    from soroban_vision.doctor.check_set import measure_check_set

    try:
        facts.check_set = measure_check_set(
            facts, lambda rid, x, batch: run_images(facts, rid, x, batch), say
        )
    except SorobanError as e:
        facts.unfinished["quantization"] = str(e)


def _browser(facts: Facts) -> None:
    """The browser's preprocessing of the image files (or the test seam's), and the decision
    runtime's answers on it."""
    if facts.kind != "column" or facts.data is None:
        return
    try:
        if facts.browser_override is not None:
            facts.browser_x01 = np.asarray(facts.browser_override(facts.data.files), np.float32)
        elif facts.browser.status == "ran":
            facts.browser_x01 = facts.browser.x01
        r = facts.decision_runtime()
        if facts.browser_x01 is not None and r is not None:
            x = compare.apply_range(facts.browser_x01, facts.declared)
            facts.browser_outputs = run_images(facts, r.id, x)
    except SorobanError as e:
        facts.unfinished["preprocess_parity"] = str(e)
