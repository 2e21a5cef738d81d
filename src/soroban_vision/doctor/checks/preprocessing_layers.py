"""preprocessing_layers: the normalization inside the model (Keras layers, or the graph's constant
arithmetic after its input) and the input range it expects, against the declared one."""

from __future__ import annotations

from soroban_vision.doctor.checks.finding import Finding
from soroban_vision.doctor.compare import same_range
from soroban_vision.doctor.facts import Facts
from soroban_vision.doctor.own_normalization import seen_range


def check(facts: Facts) -> Finding:
    own = facts.own_normalization
    view = own.view
    ev: dict = {"declared": list(facts.declared), "range_source": facts.range_source}
    if own.keras is not None:
        ev["keras"] = own.keras
    if own.graph is not None:
        ev["graph"] = own.graph
    ev["expects"] = view["expects"] if view else None
    ev["maps_to"] = view["maps_to"] if view else None
    words: dict = {"view": view, "keras_view": own.keras_view, "graph_view": own.graph_view}
    if own.keras_view and own.graph_view and own.keras_view["expects"] != own.graph_view["expects"]:
        return Finding("warn", "keras_and_graph_differ", ev, words)
    if view is None:
        return Finding("pass", "none_inside", ev, words)
    if view["identity"]:
        return Finding("pass", "identity", ev, words)
    if view["expects"] is None:
        return Finding("pass", "fitted", ev, words)
    if same_range(view["expects"], facts.declared):
        return Finding("pass", "as_declared", ev, words)
    if facts.kind == "generic" and facts.range_source == "default":
        return Finding("pass", "feed_what_it_expects", ev, words)
    words["seen"] = seen_range(view, facts.declared)
    if same_range(view["maps_to"], facts.declared):
        return Finding("warn", "double_normalization", ev, words)
    return Finding("warn", "not_as_declared", ev, words)
