"""Export through the real converter, checked with the real TF.js (Node) and ONNX Runtime."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from soroban_vision import contract
from soroban_vision.errors import UsageError
from soroban_vision.export import ExportRefused, export, golden_inputs, order_outputs
from soroban_vision.runners.keras import KerasRunner
from soroban_vision.runners.node import NodeRunner
from soroban_vision.runners.onnx import OnnxRunner
from tests.conftest import assert_one_line_error, model_with_outlier, run_cli

pytestmark = pytest.mark.slow


def test_contract_describes_the_export(good_export, good_model):
    doc = contract.read(good_export)
    assert doc["input"]["name"] == "image" and doc["input"]["shape"] == [1, 128, 64, 1]
    assert doc["input"]["range"] == [0.0, 1.0] and doc["input"]["layout"] == "NHWC"
    inside = doc["input"]["normalization_inside_model"]
    assert [(n["type"], n["scale"], n["offset"]) for n in inside] == [("Rescaling", 2.0, -1.0)]
    assert doc["preprocessing"]["grayscale"]["coefficients"] == [0.299, 0.587, 0.114]
    assert doc["preprocessing"]["resize"]["half_pixel_centers"] is True
    assert {k: v["role"] for k, v in doc["outputs"].items()} == {"heaven": "heaven", "earth": "earth"}
    assert doc["weights"]["precision"] == "float32"
    assert doc["model"]["source_keras_sha256"] == contract.sha256_file(good_model)
    assert {"tensorflow", "keras", "tensorflowjs"} <= doc["model"]["versions"].keys()
    contract.verify_files(doc, good_export)
    assert set(doc["weights"]["files"]) == {p.name for p in good_export.iterdir()} - {"contract.json"}
    assert [v["label"] for v in doc["golden"]["vectors"]] == list(range(10))
    assert doc["verification"]["status"] == "passed" and doc["verification"]["agreement"] == 1.0


def test_tfjs_matches_keras_by_name_on_the_golden_vectors(good_export, good_model):
    x, _, _ = golden_inputs()
    ref = KerasRunner(good_model).run({"image": x})
    with NodeRunner(good_export, backend="wasm") as runner:
        got = runner.run({"image": x}, ["heaven", "earth"])
        got_reversed = runner.run({"image": x}, ["earth", "heaven"])
    for k in ("heaven", "earth"):
        np.testing.assert_allclose(got[k], ref[k], atol=1e-5)
        np.testing.assert_array_equal(got_reversed[k], got[k])


def test_nothing_depends_on_the_converters_output_order(good_export, tmp_path):
    """Swap the order of outputs in model.json: fetching by name still gives the right heads."""
    swapped = tmp_path / "swapped"
    shutil.copytree(good_export, swapped)
    doc = json.loads((swapped / "model.json").read_text())
    outs = doc["signature"]["outputs"]
    doc["signature"]["outputs"] = dict(reversed(list(outs.items())))
    (swapped / "model.json").write_text(json.dumps(doc))
    x, _, _ = golden_inputs()
    with NodeRunner(good_export) as a, NodeRunner(swapped) as b:
        assert [o.name for o in a.outputs()] == list(reversed([o.name for o in b.outputs()]))
        ra, rb = a.run({"image": x}, ["heaven", "earth"]), b.run({"image": x}, ["heaven", "earth"])
    assert rb["heaven"].shape == (10, 1) and rb["earth"].shape == (10, 5)
    np.testing.assert_array_equal(ra["heaven"], rb["heaven"])


def test_the_export_lists_outputs_in_the_keras_order(good_export, good_model, tmp_path):
    """The converter picks an output order per run; the export puts Keras's back, so even code
    that takes predict()'s outputs by position gets them right."""
    import keras

    keras_order = list(keras.models.load_model(good_model).output_names)
    doc = json.loads((good_export / "model.json").read_text())
    assert list(doc["signature"]["outputs"]) == keras_order
    with NodeRunner(good_export) as runner:
        assert [o.name for o in runner.outputs()] == keras_order
    # whichever order the converter chose, order_outputs sets it
    moved = tmp_path / "moved"
    shutil.copytree(good_export, moved)
    order_outputs(moved, keras_order[::-1])
    with NodeRunner(moved) as runner:
        assert [o.name for o in runner.outputs()] == keras_order[::-1]


def test_float16_export_is_verified_and_half_the_size(good_model, good_export, tmp_path):
    doc = export(good_model, tmp_path / "f16", precision="float16", say=lambda *_: None)
    assert doc["weights"]["precision"] == "float16" and doc["verification"]["status"] == "passed"
    f32 = contract.read(good_export)["weights"]["bytes"]
    assert doc["weights"]["bytes"] < 0.55 * f32
    assert doc["golden"]["tolerance"]["wasm"] > contract.FLOAT32_TOLERANCE["wasm"]
    assert doc["verification"]["worst_tensors"]


def test_uint8_damage_is_refused_with_exit_code_3(good_model, tmp_path):
    broken = model_with_outlier(good_model, tmp_path / "outlier.keras")
    proc = run_cli("export", broken, "--out", tmp_path / "u8", "--precision", "uint8")
    assert_one_line_error(proc, 3, "export refused", "agreement", "features")
    assert not (tmp_path / "u8").exists() or not any((tmp_path / "u8").iterdir())
    with pytest.raises(ExportRefused):
        export(broken, tmp_path / "u8b", precision="uint8", say=lambda *_: None)
    forced = export(broken, tmp_path / "u8c", precision="uint8", force=True, say=lambda *_: None)
    assert forced["verification"]["status"] == "failed-forced"
    assert "features" in forced["verification"]["worst_tensors"][0]["tensor"]


@pytest.fixture(scope="module")
def onnx_export(good_model, tmp_path_factory) -> tuple[dict, Path]:
    """The good model exported to ONNX: its contract and its folder."""
    out = tmp_path_factory.mktemp("onnx-export") / "onnx"
    return export(good_model, out, fmt="onnx", say=lambda *_: None), out


def test_onnx_export_matches_keras(good_model, onnx_export):
    doc, out = onnx_export
    assert doc["model"]["format"] == "onnx" and list(doc["weights"]["files"]) == ["model.onnx"]
    assert doc["verification"]["status"] == "passed" and doc["verification"]["tolerance"] == 1e-5
    x, _, _ = golden_inputs()
    ref = KerasRunner(good_model).run({"image": x})
    with OnnxRunner(out / "model.onnx") as r:
        got = r.run({"image": x})
    for k in ("heaven", "earth"):
        np.testing.assert_allclose(got[k], ref[k], atol=1e-5)


def test_python_runtimes_verify_the_golden_vectors_like_the_browser(good_model, good_export, onnx_export):
    doc, out = onnx_export
    with OnnxRunner(out / "model.onnx") as runner:
        checked = contract.verify_golden(doc, runner, out)
        assert checked["vectors"] == 10 and checked["max_abs_diff"] <= checked["tolerance"] == 1e-5
        # a contract whose golden answers are not what this model computes
        bad = json.loads(json.dumps(doc))
        bad["golden"]["vectors"][7]["earth"][2] += 3e-5
        with pytest.raises(
            UsageError, match=r"golden self-check failed on onnxruntime: vector 7 earth\[2\]"
        ) as e:
            contract.verify_golden(bad, runner, out)
        assert e.value.code == "golden_mismatch" and str(out) in str(e.value)
        assert "> tolerance 1e-05" in str(e.value) and "\n" not in str(e.value)
        del bad["golden"]["tolerance"]["onnxruntime"]
        with pytest.raises(UsageError, match="no golden tolerance for onnxruntime") as e:
            contract.verify_golden(bad, runner, out)
        assert e.value.code == "no_golden"
    # any runner: Keras reproduces the TF.js export's golden vectors too
    tfjs = contract.read(good_export)
    assert contract.verify_golden(tfjs, KerasRunner(good_model), good_export)["max_abs_diff"] <= 1e-5


def test_export_bad_inputs(good_model, tmp_path):
    assert_one_line_error(
        run_cli("export", tmp_path / "none.keras", "--out", tmp_path / "o"), 2, "does not exist"
    )
    assert_one_line_error(
        run_cli("export", good_model, "--out", tmp_path / "o", "--precision", "int4"), 2, "precision"
    )
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    assert_one_line_error(run_cli("export", good_model, "--out", tmp_path / "full"), 2, "not an empty folder")
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


def test_contract_reader_errors(good_export, tmp_path):
    with pytest.raises(UsageError, match=r"has no contract\.json"):
        contract.read(tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(good_export, copy)
    doc = json.loads((copy / "contract.json").read_text())
    for change, message in (
        ({"format": "other"}, "not a soroban-vision contract"),
        ({"version": 99}, "contract version 99"),
        ({"weights": {**doc["weights"], "precision": "int4"}}, "unsupported weight precision"),
    ):
        (copy / "contract.json").write_text(json.dumps({**doc, **change}))
        with pytest.raises(UsageError, match=message):
            contract.read(copy)
    (copy / "contract.json").write_text(json.dumps(doc))
    shard = next(copy.glob("*.bin"))
    data = bytearray(shard.read_bytes())
    data[100] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(UsageError, match="does not match the contract's SHA-256"):
        contract.verify_files(doc, copy)
    shard.unlink()
    with pytest.raises(UsageError, match="is missing"):
        contract.verify_files(doc, copy)
