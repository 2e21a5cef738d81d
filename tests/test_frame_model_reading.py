"""Reading without markers with the shipped frame model (models/frame): the model first, its
corners snapped to the frame's edges, the outline search only when the model sees no frame; no
soroban and two sorobans refused in one line; its exports checked, and the browser's copy loaded
with its SHA-256 and golden vectors, finding the same corners as Python, and reading the same
numbers without markers. Real renders, real ONNX Runtime, real TensorFlow, real headless Chromium."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from soroban_vision import abacus
from soroban_vision.abacus import FrameNotFound
from soroban_vision.errors import UsageError
from soroban_vision.frame.detector import FRAME_MODEL_DIR, FrameDetector
from soroban_vision.frame.track import FrameTrack
from soroban_vision.reader import DEFAULT_MODEL, ColumnReader
from soroban_vision.render import camera
from soroban_vision.render.clutter import distractors
from soroban_vision.render.column import fill_background
from soroban_vision.render.scene import render_scene
from tests.conftest import assert_one_line_error, run_cli

pytestmark = pytest.mark.slow

# (columns, seed, variety): dev seeds, whatever they render, not picked to pass
SCENES = [(13, 301, "wide"), (17, 302, "wide"), (9, 303, "wide"), (13, 304, "classic"), (13, 305, "classic")]
CORNER_PX = 0.5  # Python and Chromium: the frame model's corners, in a 640x480 photo


def _error(corners, truth) -> float:
    want = np.array(truth["corners"], np.float64)
    return float(np.linalg.norm(np.asarray(corners) - want, axis=1).max() / np.linalg.norm(want[1] - want[0]))


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    root = tmp_path_factory.mktemp("frame-reading")
    out = []
    for columns, seed, variety in SCENES:
        number = int(np.random.default_rng(seed).integers(0, 10**columns))
        rgb, truth = render_scene(number, columns, seed, markers=False, variety=variety)
        path = root / f"{variety}-{seed}.png"
        Image.fromarray(rgb).save(path)
        out.append((path, truth))
    return out


@pytest.fixture(scope="module")
def reader():
    return ColumnReader.open()


def _clutter(seed: int) -> np.ndarray:
    rng = np.random.default_rng([778, seed])
    img = np.empty((480, 640, 3), np.uint8)
    fill_background(img, tuple(int(v) for v in rng.integers(0, 256, 3)), float(rng.uniform(0, 0.35)), rng)
    distractors(img, rng)
    return camera.photograph(img, rng)[0]


def test_markerless_reading_uses_the_frame_model_and_snaps_its_corners(scenes, reader):
    """The frame model first: its frames, snapped, near the truth. A frame of it that does not look
    like a soroban's (spec frame_search.model.min_score: snapped to a rod, or a hand over the
    rails) is no frame, and the outline search looks instead, or nothing is read."""
    errors, methods = [], []
    for path, truth in scenes:
        for markers in ("off", "auto"):
            try:
                r = abacus.read_abacus(
                    abacus.load_photo(path), reader, markers=markers, frame_model="shipped"
                )
            except FrameNotFound as e:
                methods.append(e.code)
                continue
            methods.append(r.method)
            if r.method == "model":
                errors.append(_error(r.corners, truth))
    # 3 of the 5, in both modes: scenes[0], under a hand, scores low but above min_score;
    # scenes[2] scores about 0, as a blank photo does, and scenes[3]'s frame, a side on a rod,
    # below 0 (the next test)
    assert methods.count("model") >= 6
    assert set(methods) <= {"model", "contour", "no_frame", "no_frame_outline"}
    # the targets (median 0.5%, p95 1.5%) are not met yet: models/frame/model-card.md
    assert np.median(errors) <= 0.01, [round(100 * e, 2) for e in errors]
    assert sum(e <= 0.015 for e in errors) >= 0.6 * len(errors), [round(100 * e, 2) for e in errors]


def test_a_model_frame_unlike_a_soroban_s_is_left_to_the_outline_search(scenes, reader):
    """scenes[3]: the model's snapped frame is 8% of the width off (a side on a rod) and scores
    below min_score, so it is no frame; the outline search finds the right one."""
    path, truth = scenes[3]
    r = abacus.read_abacus(abacus.load_photo(path), reader, markers="off", frame_model="shipped")
    assert r.method == "contour" and _error(r.corners, truth) <= 0.015
    # a video runs no outline search: there this photo has no frame
    with pytest.raises(FrameNotFound) as e:
        abacus.read_abacus(abacus.load_photo(path), reader, markers="off", track=FrameTrack())
    assert e.value.code == "no_frame"


def test_without_the_frame_model_the_outline_search_reads(scenes, reader):
    """frame_model=None: the outline search only, as before the frame model."""
    path, truth = scenes[3]
    r = abacus.read_abacus(abacus.load_photo(path), reader, markers="off", frame_model=None)
    assert r.method == "contour" and _error(r.corners, truth) <= 0.015


@pytest.mark.parametrize("seed", range(4))
def test_no_soroban_is_a_frame_not_found_never_a_guess(seed, reader):
    with pytest.raises(FrameNotFound) as e:
        abacus.read_abacus(abacus.prepare(_clutter(seed)), reader, markers="off", frame_model="shipped")
    assert "no soroban frame found" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize(("level", "noise"), [(0, 0), (0, 3), (30, 3)])
def test_a_blank_dark_photo_is_no_soroban(level, noise, reader):
    """A covered lens or a dark room: the frame model may say "frame" there, but its quad holds
    nothing a soroban's does (soroban_score about 0, below min_score), so nothing is read."""
    noisy = np.full((480, 640, 3), level, np.float64) + np.random.default_rng(level).normal(
        0, noise, (480, 640, 3)
    )
    with pytest.raises(FrameNotFound):
        abacus.read_abacus(abacus.prepare(np.clip(noisy, 0, 255).astype(np.uint8)), reader, markers="auto")


def test_no_soroban_is_exit_1_with_one_line(tmp_path):
    path = tmp_path / "table.png"
    Image.fromarray(_clutter(9)).save(path)
    for flag in ("--frame-model", "--no-frame-model"):
        proc = run_cli("read", str(path), "--markers", "off", flag)
        assert_one_line_error(proc, 1, "no soroban frame found")


def test_read_asks_the_frame_model_by_default_and_takes_the_flag(scenes):
    path, _ = scenes[4]  # a classic scene, which both frame searches find
    for flags, method in (((), "model"), (("--frame-model",), "model"), (("--no-frame-model",), "contour")):
        proc = run_cli("read", str(path), "--markers", "off", *flags, "--json", "-")
        got = json.loads(proc.stdout)[0]
        assert got.get("method") == method, (flags, got)


def test_two_sorobans_are_refused(reader):
    top, _ = render_scene(1234, 13, seed=11, markers=False, size=(640, 240))
    bottom, _ = render_scene(98765, 13, seed=12, markers=False, size=(640, 240))
    with pytest.raises(FrameNotFound) as e:  # by the model's second look, or the outline search
        both = abacus.prepare(np.vstack([top, bottom]))
        abacus.read_abacus(both, reader, markers="off", frame_model="shipped")
    assert e.value.code == "two_sorobans" and "more than one soroban" in str(e.value)
    assert "\n" not in str(e.value)


def test_the_shipped_frame_model_runs_on_onnx_runtime_and_checks_its_files(tmp_path):
    detector = FrameDetector.open()
    assert detector.runtime == "onnxruntime"
    broken = tmp_path / "frame"
    shutil.copytree(FRAME_MODEL_DIR, broken)
    data = bytearray((broken / "model.onnx").read_bytes())
    data[-100] ^= 0xFF
    (broken / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(UsageError, match="SHA-256"):
        FrameDetector.open(broken)
    doc = json.loads((FRAME_MODEL_DIR / "contract.json").read_text())
    assert {o["role"] for o in doc["outputs"].values()} == {"corners", "frame"}
    assert doc["verification"]["status"] == "passed" and doc["weights"]["bytes"] <= 1_000_000


def test_export_checks_the_frame_model_and_refuses_what_moves_corners(tmp_path):
    proc = run_cli(
        "export", str(FRAME_MODEL_DIR / "model.keras"), "--out", str(tmp_path / "u8"), "--precision", "uint8"
    )
    if proc.returncode == 0:  # passed its check: the corners moved at most the rule's pixel
        doc = json.loads((tmp_path / "u8" / "contract.json").read_text())
        assert doc["verification"]["max_corner_shift_px"] <= 1.0
    else:
        assert_one_line_error(proc, 3, "export refused", "frame")
        assert not (tmp_path / "u8").exists()


@pytest.mark.browser
def test_the_browser_loads_the_frame_model_checked_and_finds_python_s_corners(scenes):
    from soroban_vision.runners.chromium import ChromiumRunner

    python = FrameDetector.open()
    with ChromiumRunner(FRAME_MODEL_DIR / "tfjs", "wasm", contract=False) as runner:
        page = runner.new_page("/web/test/harness.html")
        page.wait_for_function("window.harness !== undefined", timeout=30_000)
        got = page.evaluate(
            """async (files) => {
                const { loadFrameDetector } = await import("/web/src/frame/load.js");
                const { prepare } = await import("/web/src/abacus/photo.js");
                const { bitmapFromUrl, pixelsOf } = await import("/web/src/classifier/pixels.js");
                const detector = await loadFrameDetector("/model/", { backend: "wasm" });
                const luma = { coefficients: [0.299, 0.587, 0.114], background: 255 };
                const out = { golden: detector.golden, found: [] };
                for (const f of files) {
                  const { data, width, height } = await pixelsOf(await bitmapFromUrl(f));
                  const photo = prepare(data, width, height, luma);
                  out.found.push(await detector.detect(photo));
                }
                const tensors = tf.memory().numTensors;
                await detector.detect(prepare(new Uint8ClampedArray(640 * 480 * 4), 640, 480, luma));
                out.leak = tf.memory().numTensors - tensors;
                detector.dispose();
                return out;
            }""",
            [runner.url_for(p) for p, _ in scenes],
        )
        assert got["golden"]["vectors"] >= 4 and got["golden"]["maxDiff"] <= got["golden"]["tolerance"]
        assert got["leak"] == 0
        for (path, _), browser in zip(scenes, got["found"], strict=True):
            mine = python.detect(abacus.load_photo(path).gray)
            assert browser["present"] == mine.present
            assert np.abs(np.array(browser["corners"]) - mine.corners).max() <= CORNER_PX


@pytest.mark.browser
def test_the_browser_reads_without_markers_as_python_does(scenes, reader):
    """The browser's reader with the frame model reads every scene as Python does: the same
    method (the frame model, or the outline search where the model sees no frame), the same
    corners (to CORNER_PX) and the same text; and where Python finds no frame (a table, two
    sorobans), the browser refuses it with Python's code."""
    from soroban_vision.runners.chromium import BrowserError, ChromiumRunner

    two, _ = render_scene(1234, 13, seed=11, markers=False, size=(640, 240))
    two = np.vstack([two, render_scene(98765, 13, seed=12, markers=False, size=(640, 240))[0]])
    root = scenes[0][0].parent
    Image.fromarray(two).save(root / "two.png")
    Image.fromarray(_clutter(5)).save(root / "table.png")
    methods = []
    with ChromiumRunner(DEFAULT_MODEL / "tfjs", "wasm") as runner:
        paths = [p for p, _ in scenes] + [root / "table.png", root / "two.png"]
        for path in paths:
            try:
                mine = abacus.read_abacus(
                    abacus.load_photo(path), reader, markers="off", frame_model="shipped"
                )
            except FrameNotFound as refused:
                with pytest.raises(BrowserError) as e:
                    runner.read_abacus([path], frame_model=FRAME_MODEL_DIR / "tfjs", markers="off")
                assert (e.value.js_name, e.value.code) == ("FrameNotFound", refused.code), path.name
                methods.append(refused.code)
                continue
            got = runner.read_abacus([path], frame_model=FRAME_MODEL_DIR / "tfjs", markers="off")[0]
            assert got["method"] == mine.method, path.name
            assert np.abs(np.array(got["corners"]) - mine.corners).max() <= CORNER_PX, path.name
            assert got["text"] == mine.text, path.name
            methods.append(mine.method)
        # a video runs no outline search, in the browser as in Python
        path = next(p for (p, _), method in zip(scenes, methods, strict=False) if method == "contour")
        with pytest.raises(BrowserError) as e:
            runner.read_abacus([path], frame_model=FRAME_MODEL_DIR / "tfjs", markers="off", track=True)
        assert (e.value.js_name, e.value.code) == ("FrameNotFound", "no_frame")
        # markers "auto", none in the photo: the frame model, in the browser as in Python
        path = scenes[4][0]
        mine = abacus.read_abacus(abacus.load_photo(path), reader, markers="auto", frame_model="shipped")
        got = runner.read_abacus([path], frame_model=FRAME_MODEL_DIR / "tfjs", markers="auto")[0]
        assert got["method"] == mine.method == "model" and got["text"] == mine.text
    # the scenes hold both kinds of frame, and the table and two sorobans are refused
    assert {"model", "contour"} <= set(methods)
    assert methods[-2:] in (["no_frame", "two_sorobans"], ["no_frame"] * 2)
