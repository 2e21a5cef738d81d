"""What a frame model's checks need beyond the runtimes' own run, measured once right after it:
the photos under each candidate input range against their true corners (the sweep), the
decision runtime's answers on the browser's inputs, and a quantized deployment's answers on
`export`'s own check scenes. An error that stops one measurement is kept for its check."""

from __future__ import annotations

from collections.abc import Callable

from soroban_vision.doctor import compare, frame_compare
from soroban_vision.doctor.facts import Facts
from soroban_vision.errors import SorobanError

DEPLOYED = "tfjs-node"  # the runtime frame export checks quantized weights with (TF.js in Node, wasm)


def measure(facts: Facts, run_images: Callable, say: Callable[[str], None] = lambda _: None) -> None:
    """`run_images(facts, rid, x, batch)`: more inputs through a main-thread runtime."""
    for check_id, step in (
        ("normalization", _sweep),
        ("preprocess_parity", _browser),
        ("quantization", _check_set),
    ):
        try:
            step(facts, run_images, say)
        except SorobanError as e:
            facts.unfinished[check_id] = str(e)


def _sweep(facts: Facts, run_images, say) -> None:
    """Present decisions and corner errors (against the true corners) under each input range."""
    r = facts.decision_runtime()
    if facts.scenes is None or r is None:
        return
    say(f"scoring the photos' corners under each input range ({r.id})")
    roles, scenes = facts.role_map(r.id), facts.scenes
    candidates = list(compare.CANDIDATE_RANGES)
    if not any(compare.same_range(c, facts.declared) for c in candidates):
        candidates.append(facts.declared)
    sweep, items = [], {}
    for rg in candidates:
        declared = compare.same_range(rg, facts.declared)
        out = r.values if declared else run_images(facts, r.id, compare.apply_range(scenes.x01, rg))
        t = frame_compare.against_truth(scenes, frame_compare.by_role(out, roles))
        items[tuple(rg)] = t
        sweep.append(
            {
                "range": list(rg),
                "accuracy": float(t["right"].mean()),
                "errors": int((~t["right"]).sum()),
                "corner_error_px": frame_compare.px_stats(t["error"][scenes.has_frame]),
                "declared": declared,
            }
        )
    facts.frame_sweep, facts.frame_sweep_items = sweep, items


def _browser(facts: Facts, run_images, say) -> None:
    """The decision runtime's answers on the browser's own model inputs."""
    r = facts.decision_runtime()
    if facts.browser.status != "ran" or r is None:
        return
    facts.browser_x01 = facts.browser.x01
    x = compare.apply_range(facts.browser_x01, facts.declared)
    facts.browser_outputs = frame_compare.by_role(run_images(facts, r.id, x), facts.role_map(r.id))


def _check_set(facts: Facts, run_images, say) -> None:
    """A quantized deployment beside Keras on export's own check scenes and tables."""
    g = facts.graph
    keras, node = facts.runtime("keras"), facts.runtime(DEPLOYED)
    if g is None or g.precision == "float32" or keras is None or node is None or node.runner is None:
        return
    if not facts.role_map("keras") or not facts.role_map(DEPLOYED):
        return
    from soroban_vision.frame.export import CHECK_SCENES, CHECK_SEED, CHECK_TABLES, check_inputs

    say(f"rendering export's {CHECK_SCENES} check scenes and {CHECK_TABLES} tables (seed {CHECK_SEED})")
    x, _ = check_inputs(CHECK_SEED, CHECK_SCENES, CHECK_TABLES)
    x = compare.apply_range(x, facts.declared)
    say(f"running keras and {DEPLOYED} on them")
    facts.frame_check_set = {
        "runtime": DEPLOYED,
        "seed": CHECK_SEED,
        "n": len(x),
        "reference": frame_compare.by_role(run_images(facts, "keras", x, 32), facts.role_map("keras")),
        "deployed": frame_compare.by_role(run_images(facts, DEPLOYED, x, 32), facts.role_map(DEPLOYED)),
    }
