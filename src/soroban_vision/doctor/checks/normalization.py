"""normalization: the labelled images scored under each candidate input range (the sweep,
measured once in measure.py). A range that does better than the declared one by more than noise
(in digits, or in confidence) fails the check only when a paired test on the same images says
chance does not explain it (paired.py); otherwise the check warns that it is inconclusive."""

from __future__ import annotations

from soroban_vision.doctor import paired
from soroban_vision.doctor.checks.finding import Finding
from soroban_vision.doctor.compare import same_range
from soroban_vision.doctor.facts import Facts
from soroban_vision.doctor.own_normalization import seen_range

POOR_ACCURACY = 0.3  # below this under every range, the labels or the preprocessing are suspect


def check(facts: Facts) -> Finding:
    if facts.kind != "column" or facts.data is None:
        return Finding("skip", "not_a_column")
    r = facts.decision_runtime()
    if r is None:
        return Finding("skip", "no_scorer", {"runtimes": [x.id for x in facts.ran()]})
    sweep = facts.sweep
    n = len(facts.data.labels)
    margin = max(2, round(0.01 * n))  # fewer extra wrong digits are too few to act on, significant or not
    dec = next(s for s in sweep if s["declared"])
    best = min(sweep, key=lambda s: (s["errors"], s["expected_errors"], not s["declared"]))
    view = facts.own_normalization.view
    double = normalized_twice(facts)
    if double:
        # the model's own layers say the input is normalized twice: any difference the test confirms
        meant = next((s for s in sweep if same_range(s["range"], view["expects"])), best)
        worse = dec["errors"] > meant["errors"] or dec["expected_errors"] > meant["expected_errors"] + 0.1
        best = meant if worse else best
    else:
        worse = dec["errors"] - best["errors"] >= margin or (
            dec["errors"] >= best["errors"] and dec["expected_errors"] > 1.5 * best["expected_errors"] + 0.1
        )
    ev = {"runtime": r.id, "n": n}
    return decide(
        facts, ev, sweep, dec, best, worse, margin, double, POOR_ACCURACY, _paired_test(facts, best, dec)
    )


def _paired_test(facts: Facts, best: dict, dec: dict):
    def test():
        right_best, p_best = facts.sweep_items[tuple(best["range"])]
        right_declared, p_declared = facts.sweep_items[tuple(dec["range"])]
        return paired.range_test(right_best, right_declared, p_best, p_declared)

    return test


def normalized_twice(facts: Facts) -> bool:
    """Do the model's own layers normalize what the declared range already normalized?"""
    view = facts.own_normalization.view
    return bool(
        view
        and not view["identity"]
        and view["maps_to"]
        and view["expects"]
        and same_range(view["maps_to"], facts.declared)
        and not same_range(view["expects"], facts.declared)
    )


def decide(
    facts: Facts, ev: dict, sweep, dec, best, worse: bool, margin: int, double: bool, poor: float, test
):
    """The finding, for a column or a frame model alike: pass (or warn if every range reads
    poorly) when the declared range is not worse; else fail if the paired `test()` says chance
    does not explain it (double normalization when the model's layers say so), warn if not."""
    ev |= {
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
        if max(s["accuracy"] for s in sweep) < poor:
            return Finding("warn", "poor_under_every_range", ev)
        return Finding("pass", "as_declared", ev)
    ev["test"] = test()
    ev["p_value"] = ev["test"]["p_value"]
    if ev["p_value"] >= paired.ALPHA:
        return Finding("warn", "inconclusive", ev, {"double": double})
    if double:
        view = facts.own_normalization.view
        return Finding(
            "fail", "double_normalization", ev, {"view": view, "seen": seen_range(view, facts.declared)}
        )
    return Finding("fail", "not_as_declared", ev)
