"""The whole-soroban reader's spec (web/src/abacus/spec.json) means the same in both languages.

Node imports web/src/abacus/spec.js and prints what the browser code actually uses; Python
compares it with the spec as Python loads it. No browser: a second or two.
"""

from __future__ import annotations

import json
import shutil
import string
import subprocess
from pathlib import Path

import numpy as np
import pytest

WEB = Path(__file__).resolve().parents[1] / "web"
SPEC_JSON = WEB / "src" / "abacus" / "spec.json"

# What the browser's modules use: their exported constants, a default Stabilizer, the messages.
NODE_SCRIPT = """
import * as s from "./src/abacus/spec.js";
import { Stabilizer } from "./src/abacus/stabilizer.js";
const fields = JSON.parse(process.argv[1]);
const { frames, minConfidence, motion } = new Stabilizer();
console.log(JSON.stringify({
  columns: [s.MIN_COLUMNS, s.MAX_COLUMNS],
  min_side: s.MIN_SIDE,
  work_side: s.WORK_SIDE,
  low_confidence: s.LOW_CONFIDENCE,
  marker_modes: s.MARKER_MODES,
  markers: s.MARKERS,
  rectify: s.RECTIFY,
  rods: s.RODS,
  layouts_read: s.LAYOUTS_READ,
  side_fracs: Array.from(s.SIDE_FRACS),
  stabilizer: { frames, min_confidence: minConfidence, motion },
  errors: Object.fromEntries(Object.entries(fields).map(([id, f]) => [id, s.message(id, f)])),
}));
"""


def python_spec() -> tuple[dict, np.ndarray]:
    """The spec as Python loads it, and its rod-fit grid."""
    from soroban_vision.abacus import spec

    return spec.SPEC, spec.side_fracs()


def sample_fields(template: str) -> dict:
    """A value for each {placeholder} of a message, numbers and text alike."""
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    return {name: (40 + i if i % 2 == 0 else f"'value {i}'") for i, name in enumerate(names)}


@pytest.fixture(scope="module")
def spec() -> dict:
    return python_spec()[0]


@pytest.fixture(scope="module")
def js(spec) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed; it runs the browser library's tools (make setup)")
    fields = {eid: sample_fields(text) for eid, text in spec["errors"].items()}
    proc = subprocess.run(
        [node, "--no-warnings", "--input-type=module", "-e", NODE_SCRIPT, json.dumps(fields)],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_python_loads_the_one_spec_file(spec):
    assert spec == json.loads(SPEC_JSON.read_text())


def test_the_constants_are_the_same(js, spec):
    assert js["columns"] == [spec["columns"]["min"], spec["columns"]["max"]]
    assert js["min_side"] == spec["photo"]["min_side"]
    assert js["work_side"] == spec["photo"]["work_side"]
    assert js["low_confidence"] == spec["low_confidence"]
    assert js["marker_modes"] == spec["markers"]["modes"] == ["auto", "on", "off"]
    assert js["markers"] == spec["markers"]
    assert js["rectify"] == spec["rectify"]
    assert js["rods"] == spec["rods"]
    assert js["layouts_read"] == spec["rods"]["layouts_read"]


def test_the_stabilizer_defaults_are_the_same(js, spec):
    want = {
        "frames": spec["stabilizer"]["frames"],
        "min_confidence": spec["low_confidence"],
        "motion": spec["stabilizer"]["motion"],
    }
    assert js["stabilizer"] == want


def test_the_rod_fit_grid_is_bit_equal(js):
    ours = np.array(js["side_fracs"], np.float64)  # JSON carries each double exactly
    _, grid = python_spec()
    assert ours.shape == (57,)
    np.testing.assert_array_equal(ours, grid)
    np.testing.assert_array_equal(ours, np.linspace(0.3, 1.0, 57))


def test_the_error_messages_are_the_same(js, spec):
    assert set(js["errors"]) == set(spec["errors"])
    from soroban_vision.abacus.spec import message

    for eid, text in spec["errors"].items():
        assert js["errors"][eid] == message(eid, **sample_fields(text)), eid
        assert "{" not in js["errors"][eid], eid
