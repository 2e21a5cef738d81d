"""normalization, for a frame model: the photos scored under each candidate input range against
their true corners (frame_measure's sweep): frame-present decisions and each scene's corner
error in pixels. A range that beats the declared one by more than noise fails the check only when
a paired test on the same photos says chance does not explain it (paired.py), else it warns."""

from __future__ import annotations

from soroban_vision.doctor import paired
from soroban_vision.doctor.checks.finding import Finding
from soroban_vision.doctor.compare import same_range
from soroban_vision.doctor.facts import Facts
from soroban_vision.doctor.own_normalization import seen_range

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
    view = facts.own_normalization.view
    double = bool(
        view
        and not view["identity"]
        and view["maps_to"]
        and view["expects"]
        and same_range(view["maps_to"], facts.declared)
        and not same_range(view["expects"], facts.declared)
    )
    if double:
        meant = next((s for s in sweep if same_range(s["range"], view["expects"])), best)
        worse = dec["errors"] > meant["errors"] or _median(dec) > _median(meant) + SLACK_PX
        best = meant if worse else best
    else:
        worse = dec["errors"] - best["errors"] >= margin or (
            dec["errors"] >= best["errors"] and _median(dec) > 1.5 * _median(best) + SLACK_PX
        )
    ev = {
        "runtime": r.id,
        "n": n,
        "scenes": int(facts.scenes.has_frame.sum()),
        "sweep": sweep,
        "declared": dec["range"],
        "best": best["range"] if worse else dec["range"],
        "margin_errors": margin,
        "range_source": facts.range_source,
        "double_normalization": double,
        "p_value": None,
        "alpha": paired.ALPHA,
    }
    if not worse:
        if max(s["accuracy"] for s in sweep) < POOR_ACCURACY:
            return Finding("warn", "poor_under_every_range", ev)
        return Finding("pass", "as_declared", ev)
    b, d = facts.frame_sweep_items[tuple(best["range"])], facts.frame_sweep_items[tuple(dec["range"])]
    ev["test"] = paired.range_test(b["right"], d["right"], -b["error"], -d["error"])
    ev["p_value"] = ev["test"]["p_value"]
    if ev["p_value"] >= paired.ALPHA:
        return Finding("warn", "inconclusive", ev, {"double": double})
    if double:
        return Finding(
            "fail", "double_normalization", ev, {"view": view, "seen": seen_range(view, facts.declared)}
        )
    return Finding("fail", "not_as_declared", ev)
