"""The doctor on models that are not ours: somebody else's graph model with two inputs and three
outputs (generated feeds, runtimes compared, the column checks skipped with their reasons) and a
graph model as older converters wrote it, with no signature."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from soroban_vision.doctor import diagnose
from tests.conftest import graph_model

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("doctor_cache")]
FAST = "keras,tfjs-node"


def third_party(where: Path) -> Path:
    """Somebody else's model: an image-ish float input and an int32 token input, three outputs."""
    import keras
    from keras import layers

    pixels = keras.Input((12, 10, 3), name="pixels")
    tokens = keras.Input((6,), dtype="int32", name="tokens")
    x = layers.Conv2D(4, 3, activation="relu")(pixels)
    x = layers.GlobalAveragePooling2D()(x)
    t = layers.Flatten()(layers.Embedding(8, 3)(tokens))
    h = layers.Concatenate()([x, t])
    outputs = [
        layers.Dense(3, activation="softmax", name="kind")(h),
        layers.Dense(1, name="score")(h),
        layers.Dense(2, name="box")(h),
    ]
    model = keras.Model([pixels, tokens], outputs)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
    return graph_model(model, where)


def signatureless(where: Path) -> tuple[Path, Path]:
    """A graph model as older converters wrote it: no `signature` in model.json, one input
    `input_1` [-1,64,64,1] known only from its Placeholder node. Returns (Keras file, graph model)."""
    import keras
    from keras import layers

    where.mkdir(parents=True, exist_ok=True)
    image = keras.Input((64, 64, 1), name="input_1")
    x = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3, activation="relu")(image))
    model = keras.Model(image, layers.Dense(3, activation="softmax", name="probs")(x))
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
    model.save(where / "model.keras")
    tfjs = graph_model(model, where)
    doc = json.loads((tfjs / "model.json").read_text())
    assert doc.pop("signature")["inputs"].keys() == {"input_1"}
    (tfjs / "model.json").write_text(json.dumps(doc))
    return where / "model.keras", tfjs


def statuses(report) -> dict:
    return {c.id: c.status for c in report.checks}


@pytest.mark.browser
def test_third_party_graph_model_runtimes_agree_and_skips_are_explained(tmp_path):
    model = third_party(tmp_path / "third-party")
    report = diagnose(tfjs=model, runtimes="tfjs-node,chromium-wasm,chromium-cpu")
    got = statuses(report)
    assert got["runtime_parity"] == "pass", report.check("runtime_parity").summary
    assert (
        got["normalization"] == "skip" and "not a 64x128 gray column" in report.check("normalization").summary
    )
    assert got["quantization"] == "skip" and "float32" in report.check("quantization").summary
    assert (
        got["output_mapping"] == "skip"
        and "no contract and no Keras reference" in report.check("output_mapping").summary
    )
    assert got["preprocess_parity"] == "skip"
    assert report.exit_code == 0 and report.model["kind"] == "generic"
    parity = report.check("runtime_parity")
    assert parity.evidence["reference"] == "tfjs-node"
    comps = {c["runtime"]: c for c in parity.evidence["comparisons"]}
    assert comps.keys() == {"chromium-wasm", "chromium-cpu"}
    for c in comps.values():
        assert {o["output"] for o in c["outputs"]} == {"output_0", "output_1", "output_2"}
        assert c["disagreements"] == 0 and all(o["max_abs_diff"] < 1e-4 for o in c["outputs"])
    inputs = {i["name"]: i["dtype"] for i in report.model["inputs"]}
    assert inputs == {"pixels": "float32", "tokens": "int32"}
    assert any("generated feeds" in n for n in report.notes)
    assert json.loads(json.dumps(report.to_json()))["data"]["source"] == "generated"


def test_a_graph_model_without_a_signature_runs(tmp_path):
    keras_file, tfjs = signatureless(tmp_path / "no-signature")
    report = diagnose(keras=keras_file, tfjs=tfjs, runtimes=FAST)
    assert report.model["inputs"] == [{"name": "input_1", "shape": [None, 64, 64, 1], "dtype": "float32"}]
    assert [o["name"] for o in report.model["outputs"]] == ["Identity"]
    assert any("no signature" in n for n in report.notes)
    node = next(r for r in report.runtimes if r.id == "tfjs-node")
    assert node.status == "ran", node.reason
    assert [(o.name, o.shape) for o in node.outputs] == [("Identity", (None, 3))]
    parity = report.check("runtime_parity")
    assert parity.status == "pass", parity.summary
    (c,) = parity.evidence["comparisons"]
    assert (c["runtime"], c["vs"], c["disagreements"]) == ("tfjs-node", "keras", 0)
    assert c["outputs"][0]["max_abs_diff"] < 1e-5
    mapping = report.check("output_mapping")
    assert 'model.execute(x, ["Identity"])' in mapping.summary, mapping.summary
    assert report.exit_code == 0
