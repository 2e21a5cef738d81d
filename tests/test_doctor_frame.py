"""`soroban-vision doctor` on the frame model: every check, corners compared in photo pixels.

The shipped models/frame must pass (or skip what does not apply, saying why); a copy whose
outputs are wired to the wrong names and the uint8 export must fail, on real runtimes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from soroban_vision.contract import sha256_file
from soroban_vision.doctor import CHECK_IDS, diagnose, to_html
from soroban_vision.errors import UsageError
from tests.conftest import assert_one_line_error, run_cli

ROOT = Path(__file__).resolve().parents[1]
FRAME = ROOT / "models" / "frame"
EVERY = "keras,onnxruntime,tfjs-node,chromium-wasm"
FAST = "keras,tfjs-node"
pytestmark = pytest.mark.usefixtures("doctor_cache")


# --------------------------------------------------------------------------- bad input


def test_bad_frame_folders_are_one_line_errors_with_stable_codes(tmp_path):
    not_there = tmp_path / "missing"
    with pytest.raises(UsageError) as e:
        diagnose(frame=not_there)
    assert e.value.code == "no_frame_model"
    with pytest.raises(UsageError) as e:
        diagnose(frame=ROOT / "models" / "column")
    assert e.value.code == "not_frame" and "heaven" in str(e.value)
    broken = tmp_path / "frame"
    shutil.copytree(FRAME, broken)
    (broken / "tfjs" / "group1-shard1of1.bin").unlink()
    with pytest.raises(UsageError) as e:
        diagnose(frame=broken)
    assert e.value.code == "missing_file" and "group1-shard1of1.bin" in str(e.value)
    with pytest.raises(UsageError) as e:
        diagnose(frame=FRAME, scenes=not_there)
    assert e.value.code == "no_scenes"
    assert_one_line_error(run_cli("doctor", "--frame", not_there), 2, "does not exist")
    assert_one_line_error(run_cli("doctor", "--frame", broken), 2, "group1-shard1of1.bin is missing")
    assert_one_line_error(run_cli("doctor", "--frame", FRAME, "--keras", FRAME / "model.keras"), 2, "--frame")


# --------------------------------------------------------------------------- the shipped model


@pytest.fixture(scope="module")
def shipped():
    return diagnose(frame=FRAME, runtimes=EVERY)


@pytest.mark.slow
def test_shipped_frame_model_passes_every_check_in_pixels(shipped):
    report = shipped.to_json()
    assert [c["id"] for c in report["checks"]] == list(CHECK_IDS)
    status = {c["id"]: c["status"] for c in report["checks"]}
    assert status == {
        "preprocessing_layers": "pass",
        "normalization": "pass",
        "quantization": "skip",  # float32: nothing is quantized, and the summary says so
        "output_mapping": "pass",
        "preprocess_parity": "pass",
        "runtime_parity": "pass",
    }, [c["summary"] for c in report["checks"]]
    assert report["status"] == "pass" and report["exit_code"] == 0
    assert report["model"]["kind"] == "frame"
    assert report["data"]["scenes"] > 0 and report["data"]["tables"] > 0
    assert "float32" in shipped.check("quantization").summary
    parity = shipped.check("runtime_parity").evidence
    assert {c["runtime"] for c in parity["comparisons"]} == {"onnxruntime", "tfjs-node", "chromium-wasm"}
    for c in parity["comparisons"]:
        assert c["disagreements"] == 0 and c["max_corner_shift_px"] <= parity["parity_px"]
    browser = shipped.check("preprocess_parity").evidence
    assert browser["library_vs_python"]["max_corner_shift_px"] <= 0.5
    assert browser["library_vs_python"]["decisions_changed"] == 0
    sweep = shipped.check("normalization").evidence["sweep"]
    declared = next(s for s in sweep if s["declared"])
    wrong = next(s for s in sweep if s["range"] == [0.0, 255.0])
    assert declared["corner_error_px"]["median"] < wrong["corner_error_px"]["median"]
    assert "px" in shipped.check("normalization").summary
    json.dumps(report)
    assert "runtime_parity" in to_html(shipped)


# --------------------------------------------------------------------------- broken exports


def _rewire(src: Path, dst: Path) -> Path:
    """A copy of the TF.js export whose output names point at each other's tensors (its
    contract's checksum updated, as if the converter had written it so)."""
    shutil.copytree(src, dst)
    doc = json.loads((dst / "model.json").read_text())
    outs = doc["signature"]["outputs"]
    outs["corners"]["name"], outs["frame"]["name"] = outs["frame"]["name"], outs["corners"]["name"]
    (dst / "model.json").write_text(json.dumps(doc))
    contract = json.loads((dst / "contract.json").read_text())
    contract["weights"]["files"]["model.json"] = sha256_file(dst / "model.json")
    (dst / "contract.json").write_text(json.dumps(contract))
    return dst


@pytest.mark.slow
def test_outputs_wired_to_the_wrong_names_fail_output_mapping(tmp_path):
    tfjs = _rewire(FRAME / "tfjs", tmp_path / "tfjs")
    report = diagnose(keras=FRAME / "model.keras", tfjs=tfjs, runtimes=FAST)
    mapping = report.check("output_mapping")
    assert report.model["kind"] == "frame"
    assert mapping.status == "fail" and "corners" in mapping.summary, mapping.summary
    assert mapping.evidence["how"] == {"corners": "shape", "frame": "shape"}
    assert report.exit_code == 1


@pytest.mark.slow
def test_uint8_frame_export_fails_quantization_by_the_export_rule(tmp_path):
    out = tmp_path / "uint8"
    run_cli("export", FRAME / "model.keras", "--out", out, "--precision", "uint8", "--force", check=True)
    report = diagnose(keras=FRAME / "model.keras", tfjs=out, runtimes=FAST)
    q = report.check("quantization")
    assert q.status == "fail", q.summary
    c = q.evidence["comparison"]
    assert c["images"] == "export check scenes" and c["max_corner_shift_px"] > c["allowed_shift_px"]
    assert "uint8" in q.summary and "px" in q.summary
    assert q.evidence["recorded"]["status"] == "failed-forced"
    assert report.check("runtime_parity").status != "fail"  # the same weights in both runtimes agree
