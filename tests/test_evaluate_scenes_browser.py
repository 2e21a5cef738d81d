"""`evaluate-scenes --browser`: every rendered scene read again in headless Chromium, with the
browser's own figures next to Python's and the parity between them (numbers, corners, markers)."""

from __future__ import annotations

import json

import pytest

from soroban_vision.reader import DEFAULT_MODEL
from tests.conftest import assert_one_line_error, reporter, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.browser]


report = reporter("evaluate-scenes --browser")


def test_evaluate_scenes_in_the_browser_finds_the_frame_with_its_own_frame_model(tmp_path):
    """Without markers and with the frame model (the default), the browser is not handed Python's
    corners: it finds the frame with its own copy of the model, and where both sides' frames came
    from the model they are the same frame."""
    render = run_cli("render-scenes", "--out", tmp_path / "s", "--count", 3, "--seed", 9, "--markers", "off")
    assert render.returncode == 0, render.stderr
    proc = run_cli("evaluate-scenes", tmp_path / "s", "--browser", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    b = json.loads(proc.stdout)["browser"]
    assert b["n"] == 3 and b["frame_from"] == "frame model"
    assert b["corner_diff_px"]["n"] >= 1 and b["corner_diff_px"]["median"] <= 0.5


@pytest.mark.parametrize("markers", [True, False])
def test_evaluate_scenes_in_the_browser_agrees_with_python(tmp_path, markers):
    """`evaluate-scenes --browser`: every scene read in both places, with the browser's own
    figures (markers found by OpenCV.js, or the corners Python found handed over) and the
    parity figures: both sides exact, the same numbers, the same corners, the same markers."""
    flags = ["--markers", "on" if markers else "off"]
    render = run_cli("render-scenes", "--out", tmp_path / "s", "--count", 3, "--seed", 8, *flags)
    assert render.returncode == 0, render.stderr
    # without markers, the outline search: the browser is handed its corners (the frame model's
    # own comparison is tests/test_frame_model_reading.py's)
    frame = [] if markers else ["--no-frame-model"]
    proc = run_cli("evaluate-scenes", tmp_path / "s", "--browser", *frame, "--json", "-")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    b = r["browser"]
    assert b["n"] == 3 and b["runtime"] == "tfjs-chromium-wasm"
    # markers "auto" (the default) and the frame model: where no markers are found, the frame model
    assert b["frame_from"] == (
        "markers, else the frame model" if markers else "the corners Python found (as if clicked)"
    )
    assert b["same_number_as_python"] == 1.0
    assert b["exact_number_accuracy"] == r["exact_number_accuracy"] == b["python_exact_number_accuracy"]
    assert b["same_number"] == 1.0
    assert b["corner_diff_px"]["n"] == b["corner_diff_px"]["within_1px"] == 3
    assert b["corner_diff_px"]["max"] == 0.0
    found = 3 if markers else 0
    assert b["markers_found"] == {
        "python": found,
        "browser": found,
        "both": found,
        "python_only": [],
        "browser_only": [],
    }
    assert b["ms_per_frame"]["median"] > 0
    report(f"evaluate-scenes --browser ({'markers' if markers else 'no markers'})", b["ms_per_frame"])


def test_evaluate_scenes_in_the_browser_needs_a_tfjs_export(tmp_path):
    proc = run_cli("evaluate-scenes", tmp_path, "--browser", "--model", DEFAULT_MODEL / "model.keras")
    assert_one_line_error(proc, 2, "--browser needs the TF.js export")


def test_the_browser_reads_with_the_min_confidence_python_read_with(tmp_path):
    """evaluate-scenes --browser --min-confidence: the browser flags the same columns as Python at
    the same threshold, so the numbers, unread marks included, are still the same."""
    render = run_cli("render-scenes", "--out", tmp_path / "s", "--count", 2, "--seed", 5, "--markers", "on")
    assert render.returncode == 0, render.stderr
    args = ("--browser", "--min-confidence", "0.9999", "--json", "-")
    proc = run_cli("evaluate-scenes", tmp_path / "s", *args)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["min_confidence"] == 0.9999 and r["flagged_columns"] > 0  # the threshold flags some
    b = r["browser"]
    assert b["same_number"] == 1.0 and b["exact_number_accuracy"] == r["exact_number_accuracy"]
