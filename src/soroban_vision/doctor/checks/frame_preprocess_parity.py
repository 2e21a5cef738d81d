"""preprocess_parity, for a frame model: the browser library's whole frame detection (its
working gray, model input and `detect` in Chromium) against Python's (abacus.photo, frame.input
and the decision runtime) on the same photo files: the inputs pixel by pixel, and where each puts
the corners, in the photo's pixels."""

from __future__ import annotations

from soroban_vision.doctor import frame_compare
from soroban_vision.doctor.checks.finding import Finding
from soroban_vision.doctor.checks.preprocess_parity import (
    PIXEL_FAIL,
    PIXEL_PASS,
    browser_gate,
    pixel_evidence,
)
from soroban_vision.doctor.facts import Facts


def check(facts: Facts) -> Finding:
    if facts.scenes is None:
        return Finding("skip", "no_scenes")
    gate = browser_gate(facts)
    if gate is not None:
        return gate
    scenes = facts.scenes
    source = "the browser library (web/src/frame/) in Chromium, wasm"
    ev = pixel_evidence(facts.browser.x01, scenes.x01, scenes.files, source)
    ev["parity_px"] = frame_compare.PARITY_PX
    top = ev["max_abs_diff"]
    r = facts.decision_runtime()
    if r is None or facts.browser_outputs is None:
        return Finding("warn" if top > PIXEL_PASS else "pass", "inputs_only", ev)
    python_answer = frame_compare.by_role(r.values, facts.role_map(r.id))
    ev["decision_runtime"] = r.id
    ev["library_vs_python"] = _agreement(scenes, python_answer, facts.browser.outputs)
    ev["python_on_browser_input"] = _agreement(scenes, python_answer, facts.browser_outputs)
    whole = ev["library_vs_python"]
    if (
        whole["decisions_changed"]
        or whole["max_corner_shift_px"] > frame_compare.PARITY_PX
        or top > PIXEL_FAIL
    ):
        return Finding("fail", "differs", ev)
    if top > PIXEL_PASS:
        return Finding("warn", "close", ev)
    return Finding("pass", "matches", ev)


def _agreement(scenes, a: dict, b: dict) -> dict:
    c = frame_compare.runtimes(scenes, a, b)
    worst = c["worst_item"]
    return {
        "max_corner_shift_px": c["max_corner_shift_px"],
        "mean_corner_shift_px": c["mean_corner_shift_px"],
        "decisions_changed": c["disagreements"],
        "changed_items": c["disagreeing_items"][:24],
        "worst_file": scenes.files[worst].name if worst is not None else None,
    }
