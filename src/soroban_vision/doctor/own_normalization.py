"""What a model does to its input itself, read without running it: its Keras Rescaling,
Normalization and Resizing layers, and the constant arithmetic after the graph model's input.
Each is read as one affine map `x -> scale*x + offset`, with the input range it expects."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soroban_vision.contract import all_layers, normalization_layers
from soroban_vision.doctor.compare import affine_expectation
from soroban_vision.doctor.graph import GraphModel, input_arithmetic


@dataclass(frozen=True)
class OwnNormalization:
    """Views are dicts: source ("keras" | "graph"), where it sits (type and layer, or input and
    steps), affine, expects, maps_to, identity, scale, offset."""

    keras: dict | None = None  # evidence: {"layers": [...]} or {"note": ...}; None: no Keras model
    graph: dict | None = None  # evidence: {"inputs": [...], "resize": [...]}; None: no graph model
    keras_view: dict | None = None  # the first Keras layer that is an affine map
    graph_view: dict | None = None  # the first graph input with constant arithmetic
    view: dict | None = None  # the one to judge: Keras's when both agree (it names the layer)


def read(keras_model, graph: GraphModel | None, weights: dict | None) -> OwnNormalization:
    keras = keras_view = graph_ev = graph_view = None
    if keras_model is not None:
        if hasattr(keras_model, "fn"):
            keras = {"note": "a SavedModel folder: its layers are not inspected (see the graph model)"}
        else:
            layers = keras_layers(keras_model)
            keras = {"layers": layers}
            keras_view = _keras_view(layers)
    if graph is not None:
        found = input_arithmetic(graph, weights)
        for entry in found:
            entry.update(affine_expectation(entry["scale"], entry["offset"]))
            entry["affine"] = affine_str(entry["scale"], entry["offset"])
        graph_ev = {"inputs": found}
        graph_view = _graph_view(found)
        resizes = [e["resize"] for e in found if e.get("resize")]
        if resizes:
            graph_ev["resize"] = resizes
    # Keras names the layer a person wrote; the graph shows what was deployed. Same map: say the name.
    agree = keras_view and (graph_view is None or _same_map(keras_view, graph_view))
    view = (keras_view if agree else graph_view) or keras_view
    return OwnNormalization(keras, graph_ev, keras_view, graph_view, view)


def affine_str(scale, offset) -> str:
    if isinstance(scale, list) or isinstance(offset, list):
        return f"x*{scale}+{offset} per channel"
    s, o = float(scale), float(offset)
    if s == 1 and o == 0:
        return "x*1+0"
    if s != 0 and abs(1 / s - round(1 / s)) < 1e-6 and abs(1 / s) > 1:
        head = f"x/{round(1 / s)}"
    else:
        head = f"x*{s:g}"
    return head if o == 0 else f"{head}{o:+g}"


def keras_layers(model) -> list[dict]:
    """The model's normalization layers (contract.normalization_layers), each with the affine map
    it applies and the input range that map expects."""
    layers = normalization_layers(model)
    objects = {layer.name: layer for layer in all_layers(model)}
    for entry in layers:
        if entry["type"] == "Rescaling":
            entry.update(affine_expectation(entry["scale"], entry["offset"]))
            entry["affine"] = affine_str(entry["scale"], entry["offset"])
        elif entry["type"] == "Normalization":
            layer = objects.get(entry["layer"])
            mean = getattr(layer, "mean", None)
            var = getattr(layer, "variance", None)
            if mean is not None and var is not None:
                m, v = np.asarray(mean, np.float64).reshape(-1), np.asarray(var, np.float64).reshape(-1)
                entry["mean"], entry["std"] = m.tolist(), np.sqrt(v).tolist()
                scale, offset = 1 / np.sqrt(v), -m / np.sqrt(v)
                entry.update(affine_expectation(scale.mean(), offset.mean()))
                entry["affine"] = f"(x-{float(m.mean()):g})/{float(np.sqrt(v).mean()):g}"
        elif entry["type"] == "Resizing":
            layer = objects.get(entry["layer"])
            entry["size"] = [getattr(layer, "height", None), getattr(layer, "width", None)]
    return layers


def _keras_view(layers: list[dict]) -> dict | None:
    affine = [e for e in layers if "affine" in e]
    if not affine:
        return None
    e = affine[0]
    return {
        "source": "keras",
        "type": e["type"],
        "layer": e["layer"],
        "affine": e["affine"],
        "expects": e.get("expects"),
        "maps_to": e.get("maps_to"),
        "identity": e.get("identity", False),
        "scale": e.get("scale"),
        "offset": e.get("offset"),
    }


def _graph_view(found: list[dict]) -> dict | None:
    with_ops = [e for e in found if any(s["op"] not in ("Cast", "Identity") for s in e["steps"])]
    arith = [e for e in with_ops if any("const" in s for s in e["steps"])]
    if not arith:
        return None
    e = arith[0]
    return {
        "source": "graph",
        "input": e["input"],
        "steps": e["steps"],
        "affine": e["affine"],
        "expects": e.get("expects"),
        "maps_to": e.get("maps_to"),
        "identity": e.get("identity", False),
        "scale": e["scale"],
        "offset": e["offset"],
    }


def _same_map(a: dict, b: dict) -> bool:
    return bool(
        np.allclose(np.mean(a["scale"]), np.mean(b["scale"]), rtol=1e-5)
        and np.allclose(np.mean(a["offset"]), np.mean(b["offset"]), atol=1e-6)
    )


def seen_range(view: dict, r) -> tuple[float, float]:
    """The range the model's first real layer sees when it is fed r."""
    s = float(np.mean(view["scale"]))
    o = float(np.mean(view["offset"]))
    lo, hi = sorted((s * r[0] + o, s * r[1] + o))
    return round(lo, 4), round(hi, 4)
