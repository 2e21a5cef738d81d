"""The doctor's reading of a TF.js graph model (graph.py): the signature, the weights' precision,
the arithmetic between the input and the first real layer, and refusals, on model.json documents
built by hand. Fast: no TensorFlow, no converter, no browser."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from soroban_vision.doctor.graph import GraphModel, input_arithmetic, read_graph
from soroban_vision.errors import UsageError
from soroban_vision.runners.base import TensorInfo


def out(name, *shape):
    return TensorInfo(name, tuple(shape), "float32")


# --------------------------------------------------------------------------- graph: model.json by hand


def const(name, values=None):
    node = {"name": name, "op": "Const", "attr": {}}
    if values is not None:
        node["attr"]["value"] = {"tensor": {"floatVal": list(values)}}
    return node


def op(name, kind, *inputs):
    return {"name": name, "op": kind, "input": list(inputs), "attr": {}}


def placeholder(name="image"):
    return {"name": name, "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}}


def signature_entry(name, dtype, *dims):
    return {"name": f"{name}:0", "dtype": dtype, "tensorShape": {"dim": [{"size": str(d)} for d in dims]}}


def graph_of(nodes, inputs=("image",)) -> GraphModel:
    doc = {
        "modelTopology": {"node": nodes},
        "signature": {"inputs": {n: signature_entry(n, "DT_FLOAT", -1, 128, 64, 1) for n in inputs}},
    }
    return GraphModel(Path("."), doc, [out(n, None, 128, 64, 1) for n in inputs], [], "float32")


def walk(nodes, weights=None) -> dict:
    (found,) = input_arithmetic(graph_of(nodes), weights or {})
    return found


def test_the_arithmetic_after_the_input_is_one_affine_map():
    nodes = [
        placeholder(),
        const("two"),
        op("mul", "Mul", "image", "two"),
        const("minus_one", [-1.0]),
        op("add", "AddV2", "mul", "minus_one"),
        op("conv", "Conv2D", "add", "kernel"),
        const("kernel"),
    ]
    found = walk(nodes, {"two": np.array([2.0])})  # a constant from the weights, one from the node
    assert (found["scale"], found["offset"]) == (2.0, -1.0)
    assert [(s["op"], s.get("const")) for s in found["steps"]] == [("Mul", 2.0), ("AddV2", -1.0)]
    assert found["stopped_at"] == "Conv2D conv" and found["resize"] is None


def test_division_and_subtraction_on_either_side():
    found = walk(
        [placeholder(), const("c", [255.0]), op("div", "RealDiv", "image", "c"), op("r", "Relu", "div")]
    )
    assert found["scale"] == pytest.approx(1 / 255) and found["offset"] == 0.0
    found = walk(
        [placeholder(), const("one", [1.0]), op("sub", "Sub", "one", "image"), op("r", "Relu", "sub")]
    )
    assert (found["scale"], found["offset"]) == (-1.0, 1.0)  # 1 - x
    found = walk([placeholder(), const("c", [2.0]), op("div", "RealDiv", "c", "image")])
    assert found["stopped_at"] == "RealDiv div (constant divided by the input)" and found["steps"] == []


def test_gray_to_rgb_stacking_and_resizing_pass_through():
    nodes = [
        placeholder(),
        const("axis", [3.0]),
        op("rgb", "ConcatV2", "image", "image", "image", "axis"),
        const("size", [224.0, 224.0]),
        op("big", "ResizeBilinear", "rgb", "size"),
        const("scale", [2.0, 2.0, 2.0]),
        op("mul", "Mul", "big", "scale"),
        op("conv", "Conv2D", "mul", "kernel"),
    ]
    found = walk(nodes)
    assert [s["op"] for s in found["steps"]] == ["ConcatV2", "ResizeBilinear", "Mul"]
    assert found["resize"] == {"op": "ResizeBilinear", "node": "big"}
    assert found["scale"] == 2.0  # the same constant on every channel reads as one number
    per_channel = walk([placeholder(), const("s", [1.0, 2.0, 3.0]), op("mul", "Mul", "image", "s")])
    assert per_channel["scale"] == [1.0, 2.0, 3.0] and per_channel["stopped_at"] == "the end of the graph"


def test_the_walk_stops_where_the_input_is_no_longer_alone():
    other = placeholder("other")
    found = walk([placeholder(), other, op("mul", "Mul", "image", "other")])
    assert found["stopped_at"] == "Mul mul (not a constant operand)"
    found = walk([placeholder(), other, op("cat", "ConcatV2", "image", "other")])
    assert found["stopped_at"] == "ConcatV2 cat"  # joined with another tensor, not stacked
    found = walk([placeholder(), op("a", "Relu", "image"), op("b", "Sigmoid", "image")])
    assert found["stopped_at"] == "2 consumers"
    assert walk([placeholder()])["stopped_at"] == "the end of the graph"


def write_graph(where: Path, weights: list[dict], shard: bytes, **doc) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    (where / "shard.bin").write_bytes(shard)
    body = {
        "format": "graph-model",
        "modelTopology": {"node": [placeholder()]},
        "weightsManifest": [{"paths": ["shard.bin"], "weights": weights}],
        "signature": {
            "inputs": {"image": signature_entry("image", "DT_FLOAT", -1, 128, 64, 1)},
            "outputs": {
                "earth": signature_entry("earth", "DT_FLOAT", -1, 5),
                "heaven": signature_entry("heaven", "DT_FLOAT", -1, 1),
                "count": signature_entry("count", "DT_INT32", -1),
            },
        },
        **doc,
    }
    (where / "model.json").write_text(json.dumps(body))
    return where


def test_read_graph_gives_the_signature_in_predict_order(tmp_path):
    g = read_graph(write_graph(tmp_path / "m", [{"name": "w", "shape": [2], "dtype": "float32"}], bytes(8)))
    assert [o.name for o in g.outputs] == ["earth", "heaven", "count"]
    assert g.outputs[0].shape == (None, 5) and g.outputs[2].dtype == "int32"
    assert g.inputs == [TensorInfo("image", (None, 128, 64, 1), "float32")]
    assert g.precision == "float32" and g.quantized_tensors == {}


def test_read_graph_reads_the_weight_precision(tmp_path):
    def weight(name, dtype):
        return {"name": name, "shape": [4], "dtype": "float32", "quantization": {"dtype": dtype}}

    g = read_graph(write_graph(tmp_path / "u8", [weight("a", "uint8"), weight("b", "uint8")], bytes(8)))
    assert g.precision == "uint8" and g.quantized_tensors == {"uint8": 2}
    g = read_graph(write_graph(tmp_path / "f16", [weight("a", "float16")], bytes(8)))
    assert g.precision == "float16"
    g = read_graph(write_graph(tmp_path / "mix", [weight("a", "float16"), weight("b", "uint8")], bytes(12)))
    assert g.precision == "mixed" and g.quantized_tensors == {"float16": 1, "uint8": 1}


def test_read_graph_without_a_signature_finds_the_placeholders(tmp_path):
    g = read_graph(write_graph(tmp_path / "m", [], b"", signature=None))
    assert g.inputs == [TensorInfo("image", (), "float32")] and g.outputs == []
    assert not g.signed


def test_without_a_signature_inputs_are_placeholders_and_outputs_what_nothing_consumes(tmp_path):
    # as an older converter writes it: no signature, the input's shape only in its Placeholder node
    image = placeholder("input_1")
    image["attr"]["shape"] = {
        "shape": {"dim": [{"size": "-1"}, {"size": "64"}, {"size": "64"}, {"size": "1"}]}
    }
    ids = {"name": "ids", "op": "Placeholder", "attr": {"dtype": {"type": "DT_INT32"}}}
    nodes = [
        image,
        ids,
        const("kernel"),
        op("conv", "Conv2D", "input_1", "kernel"),
        op("Identity", "Identity", "conv"),
        {**op("Identity_1", "Softmax", "conv"), "attr": {"T": {"type": "DT_HALF"}}},
        op("guard", "NoOp", "^conv"),  # a leaf too, but never an answer
        op("shown", "Identity", "conv"),
        op("check", "Assert", "^shown"),  # a control edge consumes, as TF.js counts it
    ]
    g = read_graph(write_graph(tmp_path / "m", [], b"", signature=None, modelTopology={"node": nodes}))
    assert g.inputs == [TensorInfo("input_1", (None, 64, 64, 1), "float32"), TensorInfo("ids", (), "int32")]
    assert g.outputs == [TensorInfo("Identity", (), "float32"), TensorInfo("Identity_1", (), "float16")]
    assert not g.signed and read_graph(write_graph(tmp_path / "s", [], b"")).signed
    # the walk from the input works without a signature too
    assert [f["input"] for f in input_arithmetic(g, {})] == ["input_1", "ids"]


def test_read_graph_refuses_what_is_not_a_graph_model(tmp_path):
    w = [{"name": "w", "shape": [4], "dtype": "float32"}]
    with pytest.raises(UsageError, match="not a folder"):
        read_graph(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match=r"has no model\.json"):
        read_graph(tmp_path / "empty")
    bad = write_graph(tmp_path / "bad", w, bytes(16))
    (bad / "model.json").write_text("{")
    with pytest.raises(UsageError, match="not valid JSON"):
        read_graph(bad)
    (bad / "model.json").write_text("{}")
    with pytest.raises(UsageError, match="no modelTopology"):
        read_graph(bad)
    with pytest.raises(UsageError, match="layers-model model"):
        read_graph(write_graph(tmp_path / "layers", w, bytes(16), format="layers-model"))
    with pytest.raises(UsageError, match="truncated"):
        read_graph(write_graph(tmp_path / "short", w, bytes(15)))
    gone = write_graph(tmp_path / "gone", w, bytes(16))
    (gone / "shard.bin").unlink()
    with pytest.raises(UsageError, match="missing weight shard"):
        read_graph(gone)
