"""preprocess_parity: Python's preprocessing of the image files against the browser library's,
pixel by pixel and in the decisions they lead to; and which known mistake a mismatch looks like."""

from __future__ import annotations

import numpy as np

from soroban_vision.doctor import compare, pitfalls
from soroban_vision.doctor.checks.agreement import GALLERY
from soroban_vision.doctor.checks.finding import Finding
from soroban_vision.doctor.facts import Facts

PIXEL_PASS = 1 / 255  # browser vs Python preprocessing: at most one 8-bit step (JPEG decoders differ)
PIXEL_FAIL = 4 / 255


def browser_gate(facts: Facts) -> Finding | None:
    """Why the browser's preprocessing cannot be compared here, or None when it ran."""
    if facts.tfjs_path is None:
        return Finding("skip", "no_tfjs")
    if facts.contract is None:
        return Finding("skip", "no_contract", {}, {"tfjs": facts.tfjs_path})
    if facts.browser.status == "refused":
        return Finding("fail", "refused", {"error": facts.browser.reason})
    if facts.browser.status != "ran":
        return Finding("skip", "no_chromium", {}, {"why": facts.browser.reason})
    return None


def pixel_evidence(browser: np.ndarray, python: np.ndarray, files, source: str) -> dict:
    """The two preprocessings compared pixel by pixel, with the five files that differ most."""
    diff = np.abs(browser.astype(np.float64) - python.astype(np.float64)).reshape(len(python), -1)
    per_file = diff.max(axis=1)
    top = float(per_file.max(initial=0.0))
    return {
        "source": source,
        "n": len(python),
        "max_abs_diff": top,
        "max_abs_diff_in_8bit_steps": top * 255,
        "mean_abs_diff": float(diff.mean()),
        "files_differing": int((per_file > PIXEL_PASS).sum()),
        "worst_files": [
            {"file": str(files[i]), "max_abs_diff": float(per_file[i])} for i in np.argsort(-per_file)[:5]
        ],
    }


def check(facts: Facts) -> Finding:
    if facts.kind != "column" or facts.data is None:
        return Finding("skip", "not_columns")
    if facts.browser_override is not None:
        source = "substituted browser preprocessing (a test seam)"
    else:
        gate = browser_gate(facts)
        if gate is not None:
            return gate
        source = "the browser library (web/src/classifier/) in Chromium"
    browser, python = facts.browser_x01, facts.data.x01
    ev = pixel_evidence(browser, python, facts.data.files, source)
    top = ev["max_abs_diff"]
    changed = None
    r = facts.decision_runtime()
    if r is not None:
        roles = facts.role_map(r.id)
        moved = compare.digits(r.values, roles) != compare.digits(facts.browser_outputs, roles)
        changed = int(moved.sum())
        ev.update({"decision_runtime": r.id, "decisions_changed": changed})
        ev["changed_items"] = [int(i) for i in np.flatnonzero(moved)][:GALLERY]
    cause = pitfalls.explain(facts.data.files, browser, python) if top > PIXEL_PASS else None
    if cause:
        ev["likely_cause"] = cause
    if (changed or 0) > 0 or top > PIXEL_FAIL:
        return Finding("fail", "differs", ev)
    if top > PIXEL_PASS:
        return Finding("warn", "close", ev)
    return Finding("pass", "matches", ev)
