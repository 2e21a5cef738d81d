"""Shared fixtures. Tests use real components: real renderer, real TensorFlow, real Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# tables wrap to COLUMNS, which pytest-xdist workers set to 80: every test and the commands it
# starts see the width a pipe gets instead
os.environ["COLUMNS"] = "120"


def run_cli(
    *args: str, check: bool = False, timeout: float = 600, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run `soroban-vision ARGS` as a user would, in a fresh process (in `cwd` if given)."""
    proc = subprocess.run(
        [sys.executable, "-m", "soroban_vision.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def reporter(tag: str):
    """A test file's `report(what, value)`: a figure printed under its tag, for `pytest -s` and CI logs."""

    def report(what: str, value) -> None:
        print(f"\n[{tag}] {what}: {value}")

    return report


def run_node(script: str, *args, timeout: float = 60) -> object:
    """What a Node ES-module script, run in web/ with `args`, prints as JSON: how the tests run the
    browser library's own modules beside Python's."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed; it runs the browser library's tools (make setup)")
    proc = subprocess.run(
        [node, "--no-warnings", "--input-type=module", "-e", script, *map(str, args)],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def assert_one_line_error(proc: subprocess.CompletedProcess, code: int, *words: str) -> None:
    """A user error: the given exit code, no traceback, one `error:` line that says what."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    for w in words:
        assert w.lower() in errors[0].lower(), (w, errors[0])


@pytest.fixture(scope="module")
def doctor_cache(tmp_path_factory):
    """The doctor caches float32 conversions; a module's tests share one cache outside the user's home."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOROBAN_VISION_CACHE", str(tmp_path_factory.mktemp("doctor-cache")))
        yield


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    """A rendered dataset of 20 columns per digit, shared by the tests that only read it."""
    from soroban_vision.data import write_dataset

    out = tmp_path_factory.mktemp("data") / "small"
    write_dataset(out, per_digit=20, seed=123, workers=1)
    return out


@pytest.fixture(scope="session")
def good_model(tmp_path_factory) -> Path:
    """A copy of the shipped column model (models/column/model.keras): 99.86% exact digits on
    5,000 fresh rendered columns, fixed weights. Tests that need a *good* model use this one, so
    what they assert never depends on how a short training run happened to go."""
    out = tmp_path_factory.mktemp("good-model") / "model.keras"
    shutil.copyfile(ROOT / "models" / "column" / "model.keras", out)
    return out


@pytest.fixture(scope="session")
def good_export(good_model, tmp_path_factory) -> Path:
    """The good model exported afresh (float32 TF.js graph model with its contract), once per session."""
    from soroban_vision.export import export

    out = tmp_path_factory.mktemp("good-export") / "tfjs"
    export(good_model, out, say=lambda *_: None)
    return out


def model_with_outlier(model_path: Path, out: Path) -> Path:
    """A copy of a column model damaged on purpose: its `features` kernel holds one huge weight
    that float32 never uses (the unit it feeds has zero outgoing weights), so per-tensor uint8
    quantization coarsens the whole tensor around it: the export check and the doctor must both
    catch it. Made from the good model, the damage and not training noise decides the outcome."""
    import keras
    import numpy as np

    model = keras.models.load_model(model_path)
    kernel, bias = model.get_layer("features").get_weights()
    kernel[0, 0] = 1000.0 * np.abs(kernel).max()
    model.get_layer("features").set_weights([kernel, bias])
    for head in ("heaven", "earth"):
        k, b = model.get_layer(head).get_weights()
        k[0, :] = 0.0
        model.get_layer(head).set_weights([k, b])
    model.save(out)
    return out


def graph_model(model, where: Path, precision: str = "float32") -> Path:
    """A Keras model converted to a TF.js graph model, as export converts it."""
    from soroban_vision.export import convert, saved_model

    saved = saved_model(model, where / "saved")
    return convert(saved, where / precision, precision)
