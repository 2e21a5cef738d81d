"""normalization, for a frame model: the photos scored under each candidate input range against
their true corners (frame_measure's sweep): frame-present decisions and each scene's corner
error in pixels. A range that beats the declared one by more than noise fails the check only when
a paired test on the same photos says chance does not explain it (paired.py), else it warns."""

from __future__ import annotations

from soroban_vision.doctor import paired
from soroban_vision.doctor.checks.finding import Finding
from soroban_vision.doctor.checks.normalization import decide, normalized_twice
from soroban_vision.doctor.compare import same_range
from soroban_vision.doctor.facts import Facts

POOR_ACCURACY = 0.6  # frame-present right on fewer photos under every range: labels or preprocessing suspect
SLACK_PX = 1.0  # a declared range this much worse in median corner error (and 1.5x) is worth testing


def _median(s: dict) -> float:
    m = s["corner_error_px"]["median"]
    return 0.0 if m is None else m


def check(facts: Facts) -> Finding:
    if facts.scenes is None:
        return Finding("skip", "no_scenes")
    r = facts.decision_runtime()
    if r is None or not facts.frame_sweep:
        return Finding("skip", "no_scorer", {"runtimes": [x.id for x in facts.ran()]})
    sweep, n = facts.frame_sweep, len(facts.scenes.files)
    margin = max(2, round(0.01 * n))
    dec = next(s for s in sweep if s["declared"])
    best = min(sweep, key=lambda s: (s["errors"], _median(s), not s["declared"]))
    double = normalized_twice(facts)
    if double:
        view = facts.own_normalization.view
        meant = next((s for s in sweep if same_range(s["range"], view["expects"])), best)
        worse = dec["errors"] > meant["errors"] or _median(dec) > _median(meant) + SLACK_PX
        best = meant if worse else best
    else:
        worse = dec["errors"] - best["errors"] >= margin or (
            dec["errors"] >= best["errors"] and _median(dec) > 1.5 * _median(best) + SLACK_PX
        )
    ev = {"runtime": r.id, "n": n, "scenes": int(facts.scenes.has_frame.sum())}
    return decide(
        facts, ev, sweep, dec, best, worse, margin, double, POOR_ACCURACY, _paired_test(facts, best, dec)
    )


def _paired_test(facts: Facts, best: dict, dec: dict):
    def test():
        b, d = facts.frame_sweep_items[tuple(best["range"])], facts.frame_sweep_items[tuple(dec["range"])]
        return paired.range_test(b["right"], d["right"], -b["error"], -d["error"])

    return test
