"""The confidence's calibration: ECE over fixed bins, the temperatures fitted by likelihood, and
the contract's decode.calibration applied alike by Python and the browser's decode.js (node)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from soroban_vision import contract
from soroban_vision.abacus.calibration import expected_calibration_error, fit_temperatures, reliability
from soroban_vision.errors import UsageError
from tests.conftest import assert_one_line_error, run_cli, run_node

MODEL = Path(__file__).resolve().parents[1] / "models" / "column"


def test_ece_of_a_known_case():
    """Ten columns at 0.9 of which 8 are right (off by 0.1), ten at 0.3 of which 3 are right."""
    confidence = [0.9] * 10 + [0.3] * 10
    correct = [True] * 8 + [False] * 2 + [True] * 3 + [False] * 7
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.05)
    bins = reliability(confidence, correct)
    assert len(bins) == 10 and [b["n"] for b in bins] == [0, 0, 0, 10, 0, 0, 0, 0, 0, 10]
    assert bins[9]["accuracy"] == pytest.approx(0.8) and bins[3]["confidence"] == pytest.approx(0.3)
    assert reliability([1.0], [True])[-1]["n"] == 1  # the last bin is closed
    assert expected_calibration_error([], []) == 0.0


def test_temperatures_are_recovered():
    """Heads twice as sure as the truth (logits doubled): the fit finds temperatures near 2."""
    rng = np.random.default_rng(3)
    n = 20000
    a = rng.normal(0, 2, n)  # the true heaven logit
    up = rng.random(n) < 1 / (1 + np.exp(-a))
    logits = rng.normal(0, 1.5, (n, 5))
    truth = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    count = np.array([rng.choice(5, p=p) for p in truth])
    heaven = 1 / (1 + np.exp(-2 * a))
    earth = np.exp(2 * logits) / np.exp(2 * logits).sum(axis=1, keepdims=True)
    fit = fit_temperatures(heaven, earth, 5 * up + count)
    assert fit["method"] == "temperature"
    assert fit["heaven"] == pytest.approx(2.0, rel=0.1) and fit["earth"] == pytest.approx(2.0, rel=0.1)
    digits, _ = contract.decode(heaven, earth)
    tempered, confidence = contract.decode(heaven, earth, fit)
    assert (tempered == digits).all()  # temperatures never change a digit
    right = digits == 5 * up + count
    _, raw = contract.decode(heaven, earth)
    assert expected_calibration_error(confidence, right) < expected_calibration_error(raw, right) / 2


NODE_DECODE = """
import { decode } from "./src/classifier/decode.js";
import { checkCalibration } from "./src/classifier/contract.js";
const [heaven, earth, calibrations] = JSON.parse(process.argv[1]);
const [h, e] = [Float32Array.from(heaven), Float32Array.from(earth)];
const out = calibrations.map((c) => decode(h, e, 0.5, checkCalibration(c)));
const refused = [];
for (const bad of [{ method: "platt", heaven: 2 }, { method: "temperature", heaven: -1, earth: 1 }]) {
  try { checkCalibration(bad); refused.push(null); } catch (e) { refused.push(e.code); }
}
console.log(JSON.stringify({ out, refused }));
"""


def test_python_and_the_browser_decode_calibrated_alike():
    rng = np.random.default_rng(5)
    heaven = rng.random(12).astype(np.float32)
    heaven[:2] = [0.0, 1.0]  # saturated outputs stay finite
    earth = rng.dirichlet(np.ones(5) * 0.3, 12).astype(np.float32)
    calibrations = [None, {"method": "temperature", "heaven": 1.7, "earth": 0.6}]
    got = run_node(NODE_DECODE, json.dumps([heaven.tolist(), earth.ravel().tolist(), calibrations]))
    assert got["refused"] == ["contract_unsupported", "contract_unsupported"]
    for theirs, calibration in zip(got["out"], calibrations, strict=True):
        ours = contract.readings(heaven, earth, calibration)
        assert [r["digit"] for r in theirs] == [r["digit"] for r in ours]
        diff = max(abs(a["confidence"] - b["confidence"]) for a, b in zip(theirs, ours, strict=True))
        assert diff <= 1e-12
    # without a calibration, the readings are the raw rule's, bit for bit
    assert [r["confidence"] for r in contract.readings(heaven, earth)] == [
        r["confidence"] for r in got["out"][0]
    ]


def test_a_calibration_is_kept_in_the_contract_and_the_golden_check_still_passes(tmp_path):
    """Old contracts (no calibration) load as temperatures of 1; one written in is read back, a
    bad one is refused, and the golden vectors, raw outputs, still check out."""
    from soroban_vision.reader import ColumnReader

    folder = tmp_path / "column"
    folder.mkdir()
    for name in ("model.keras", "model.onnx", "contract.json"):
        shutil.copy(MODEL / name, folder / name)
    assert contract.model_calibration(folder) is None
    calibration = {"method": "temperature", "heaven": 1.3, "earth": 0.8}
    contract.write_calibration(folder, calibration)
    assert contract.model_calibration(folder) == calibration
    assert contract.model_calibration(folder / "model.keras") == calibration
    assert ColumnReader.open(folder).runtime == "onnxruntime"  # files and golden vectors check out
    with pytest.raises(UsageError) as e:
        contract.write_calibration(folder, {"method": "temperature", "heaven": 0, "earth": 1})
    assert e.value.code == "contract_unsupported" and "\n" not in str(e.value)


@pytest.mark.slow
def test_calibrate_cli_measures_and_refuses_to_fit_on_no_mistakes(small_dataset, tmp_path):
    proc = run_cli("calibrate", MODEL, "--data", small_dataset, "--json", "-", "--plot", tmp_path / "r.png")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["before"]["n"] + r["n_fit"] == 200 and 0 <= r["before"]["ece"] < 0.05
    assert r["calibration"] is None and r["errors_fit"] < r["min_errors"]  # clean renders: nothing to fit
    assert "no temperature fitted" in proc.stderr and (tmp_path / "r.png").is_file()
    assert_one_line_error(run_cli("calibrate", MODEL), 2, "--data", "--scenes")
