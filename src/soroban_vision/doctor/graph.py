"""What a TF.js graph model folder says about itself, read from model.json without running it:
its signature (inputs, and outputs in predict() order; without a signature, the graph's Placeholder
nodes and the nodes nothing consumes), its weight precision, and the normalization arithmetic
that sits between its input placeholder and its first real layer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from soroban_vision.errors import UsageError
from soroban_vision.runners.base import TensorInfo

TF_DTYPES = {
    "DT_FLOAT": "float32",
    "DT_HALF": "float16",
    "DT_DOUBLE": "float64",
    "DT_INT32": "int32",
    "DT_INT64": "int64",
    "DT_UINT8": "uint8",
    "DT_BOOL": "bool",
    "DT_STRING": "string",
}
# Ops a walk from the input may pass through: elementwise arithmetic with a constant, casts,
# and the gray->RGB stacking some models do. The first other op (a convolution) ends the walk.
AFFINE_OPS = {"Mul", "Add", "AddV2", "Sub", "RealDiv", "Div", "BiasAdd"}
PASS_OPS = {"Cast", "Identity", "ConcatV2", "Concat"}
RESIZE_OPS = {"ResizeBilinear", "ResizeNearestNeighbor", "ResizeBicubic", "ResizeArea"}
MAX_WALK = 8


@dataclass
class GraphModel:
    path: Path
    doc: dict
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]  # model.json signature order: the order predict() returns
    precision: str  # float32 | float16 | uint8 | mixed (float16+uint8)
    quantized_tensors: dict[str, int] = field(default_factory=dict)  # dtype -> how many tensors
    signed: bool = True  # model.json has a signature; without one, inputs and outputs come from the graph


def _dims(shape: dict) -> tuple:
    """A TensorShapeProto as a tuple, None for an unknown dimension; () for an unknown rank."""
    return tuple(None if int(d.get("size", -1)) < 0 else int(d["size"]) for d in shape.get("dim", []))


def _shape(entry: dict) -> tuple:
    return _dims(entry.get("tensorShape", {}))


def _infos(entries: dict) -> list[TensorInfo]:
    return [
        TensorInfo(name, _shape(v), TF_DTYPES.get(v.get("dtype", ""), str(v.get("dtype", "")).lower()))
        for name, v in entries.items()
    ]


def read_graph(path: str | Path) -> GraphModel:
    """Parse model.json; a missing or unreadable file is a UsageError (exit code 2)."""
    path = Path(path)
    if not path.is_dir():
        raise UsageError(f"--tfjs {path} is not a folder (a TF.js graph model folder holds model.json)")
    if not (path / "model.json").is_file():
        raise UsageError(f"--tfjs {path} has no model.json (a TF.js graph model folder)")
    try:
        doc = json.loads((path / "model.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UsageError(f"{path / 'model.json'} is not valid JSON ({e})") from None
    if "modelTopology" not in doc or "weightsManifest" not in doc:
        raise UsageError(
            f"{path / 'model.json'} is not a TF.js graph model (no modelTopology/weightsManifest)"
        )
    if doc.get("format") not in (None, "graph-model"):
        raise UsageError(
            f"{path / 'model.json'} is a TF.js {doc.get('format')} model; the doctor reads graph models "
            "(convert with --output_format=tfjs_graph_model)"
        )
    missing = [p for g in doc["weightsManifest"] for p in g["paths"] if not (path / p).is_file()]
    if missing:
        raise UsageError(f"{path} is missing weight shard(s) that model.json lists: {', '.join(missing)}")
    widths = {"float32": 4, "int32": 4, "float16": 2, "uint8": 1, "uint16": 2, "bool": 1}
    for group in doc["weightsManifest"]:
        have = sum((path / p).stat().st_size for p in group["paths"])
        need = 0
        for w in group["weights"]:
            dtype = (w.get("quantization") or {}).get("dtype") or w.get("dtype")
            need += int(np.prod(w["shape"])) * widths.get(dtype, 4) if w["shape"] else widths.get(dtype, 4)
        if have < need:
            raise UsageError(
                f"{path}: the weight shards {', '.join(group['paths'])} hold {have} bytes but model.json "
                f"needs {need}: they are truncated or from another model"
            )
    sig = doc.get("signature") or {}
    nodes = doc["modelTopology"].get("node", [])
    inputs = _infos(sig.get("inputs", {})) or _placeholders(nodes)
    outputs = _infos(sig.get("outputs", {})) or _leaves(nodes)
    counts: dict[str, int] = {}
    for group in doc["weightsManifest"]:
        for w in group["weights"]:
            q = w.get("quantization")
            if q:
                counts[q["dtype"]] = counts.get(q["dtype"], 0) + 1
    if not counts:
        precision = "float32"
    elif len(counts) == 1:
        precision = next(iter(counts))
    else:
        precision = "mixed"
    return GraphModel(path, doc, inputs, outputs, precision, counts, bool(sig))


# --------------------------------------------------------------------------- without a signature

# Nodes that are never a model's answer, even when nothing consumes them.
NOT_OUTPUTS = {"Const", "Placeholder", "NoOp", "Assert"}


def _node_dtype(node: dict, *keys: str) -> str:
    attr = node.get("attr", {})
    for key in keys:
        t = attr.get(key, {}).get("type")
        if t:
            return TF_DTYPES.get(t, t.removeprefix("DT_").lower())
    return "float32"


def _placeholders(nodes: list[dict]) -> list[TensorInfo]:
    """The inputs of a model.json without a signature (older converters): its Placeholder nodes,
    each with its dtype and its `shape` attribute (no shape attribute: unknown, as ())."""
    return [
        TensorInfo(
            n["name"], _dims(n.get("attr", {}).get("shape", {}).get("shape", {})), _node_dtype(n, "dtype")
        )
        for n in nodes
        if n.get("op") == "Placeholder"
    ]


def _leaves(nodes: list[dict]) -> list[TensorInfo]:
    """The outputs of a model.json without a signature: the nodes nothing consumes, as TF.js
    finds them, in graph order; their shapes are unknown until a runtime runs them."""
    consumed = {_base(i) for n in nodes for i in n.get("input", [])}
    return [
        TensorInfo(n["name"], (), _node_dtype(n, "T", "dtype"))
        for n in nodes
        if n["name"] not in consumed and n.get("op") not in NOT_OUTPUTS
    ]


# --------------------------------------------------------------------------- the input side


def _base(name: str) -> str:
    return name.lstrip("^").split(":")[0]


def _const_value(node: dict, weights: dict[str, np.ndarray]) -> np.ndarray | None:
    if node.get("op") != "Const":
        return None
    if node["name"] in weights:
        return np.asarray(weights[node["name"]], np.float64)
    tensor = node.get("attr", {}).get("value", {}).get("tensor", {})
    for key in ("floatVal", "doubleVal", "intVal", "int64Val"):
        if tensor.get(key):
            return np.asarray([float(v) for v in tensor[key]], np.float64)
    return None


def input_arithmetic(graph: GraphModel, weights: dict[str, np.ndarray]) -> list[dict]:
    """For each input placeholder: the constant arithmetic applied to it before the first real
    layer (Keras Rescaling/Normalization become Mul/AddV2/Sub/RealDiv with Const operands), as
    one affine map `x -> scale * x + offset`, plus any resize op met on the way."""
    nodes = {n["name"]: n for n in graph.doc["modelTopology"].get("node", [])}
    consumers: dict[str, list[dict]] = {}
    for n in nodes.values():
        for inp in dict.fromkeys(_base(i) for i in n.get("input", []) if not i.startswith("^")):
            consumers.setdefault(inp, []).append(n)  # once per consumer, even for concat(x, x, x)
    found = []
    signature_inputs = (graph.doc.get("signature") or {}).get("inputs", {})
    for info in graph.inputs:
        placeholder = _base(signature_inputs.get(info.name, {}).get("name", info.name))
        scale, offset = np.float64(1.0), np.float64(0.0)
        steps, resize, stopped_at = [], None, None
        current = placeholder
        for _ in range(MAX_WALK):
            nexts = consumers.get(current, [])
            if len(nexts) != 1:
                stopped_at = f"{len(nexts)} consumers" if nexts else "the end of the graph"
                break
            node = nexts[0]
            op = node["op"]
            others = [nodes.get(_base(i)) for i in node.get("input", []) if _base(i) != current]
            if op in AFFINE_OPS:
                if len(others) != 1 or others[0] is None:
                    stopped_at = f"{op} {node['name']}"
                    break
                value = _const_value(others[0], weights)
                if value is None:
                    stopped_at = f"{op} {node['name']} (not a constant operand)"
                    break
                first = _base(node["input"][0]) == current
                if op == "Mul":
                    scale, offset = scale * value, offset * value
                elif op in ("Add", "AddV2", "BiasAdd"):
                    offset = offset + value
                elif op == "Sub" and first:
                    offset = offset - value
                elif op == "Sub":
                    scale, offset = -scale, value - offset
                elif first:  # RealDiv / Div: x / c
                    scale, offset = scale / value, offset / value
                else:
                    stopped_at = f"{op} {node['name']} (constant divided by the input)"
                    break
                steps.append({"op": op, "node": node["name"], "const": _compact(value)})
            elif op in PASS_OPS:
                joined = [o for o in others if o is not None and o.get("op") != "Const"]
                if joined:  # concatenated with another tensor, not just stacked (gray -> RGB)
                    stopped_at = f"{op} {node['name']}"
                    break
                steps.append({"op": op, "node": node["name"]})
            elif op in RESIZE_OPS:
                resize = {"op": op, "node": node["name"]}
                steps.append(dict(resize))
            else:
                stopped_at = f"{op} {node['name']}"
                break
            current = node["name"]
        found.append(
            {
                "input": info.name,
                "steps": steps,
                "scale": _compact(scale),
                "offset": _compact(offset),
                "resize": resize,
                "stopped_at": stopped_at,
            }
        )
    return found


def _compact(v):
    """A constant as one number when every channel holds the same value, else the list."""
    a = np.asarray(v, np.float64).reshape(-1)
    if a.size == 1 or np.allclose(a, a[0]):
        return float(a[0])
    return [float(x) for x in a]
