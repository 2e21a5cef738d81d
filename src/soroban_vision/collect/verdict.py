"""The publishing rule: a fine-tuned model is published only when it is not worse than the current
one. It decides (pass/fail with the counts); the training page words it.

"Not worse", on the same images for both models:
- held-out collected crops (players the run never trained on): the new model reads at least as many
  of them right as the current one, and there is at least one;
- rendered columns: the new model gets at most RENDERED_MARGIN of them (rounded down) more wrong
  than the current one, so learning real cameras may not cost more than that on renders.
"""

from __future__ import annotations

import math

RENDERED_MARGIN = 0.01  # one percentage point of the rendered set


def _right(result: dict) -> int:
    return int(result["n"]) - int(result["errors"])


def decide(comparison: dict) -> dict:
    held, rendered = comparison["heldout"], comparison["rendered"]
    n_held = int(held["new"]["n"])
    held_ok = n_held > 0 and _right(held["new"]) >= _right(held["current"])
    n_rendered = int(rendered["new"]["n"])
    allowed = math.floor(RENDERED_MARGIN * n_rendered + 1e-9)
    rendered_ok = n_rendered > 0 and _right(rendered["new"]) >= _right(rendered["current"]) - allowed
    checks = [
        {
            "id": "heldout",
            "status": "pass" if held_ok else "fail",
            "n": n_held,
            "current_right": _right(held["current"]),
            "new_right": _right(held["new"]),
            "allowed_drop": 0,
        },
        {
            "id": "rendered",
            "status": "pass" if rendered_ok else "fail",
            "n": n_rendered,
            "current_right": _right(rendered["current"]),
            "new_right": _right(rendered["new"]),
            "allowed_drop": allowed,
        },
    ]
    return {"not_worse": held_ok and rendered_ok, "rendered_margin": RENDERED_MARGIN, "checks": checks}
