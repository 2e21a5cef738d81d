"""The learned frame (corner) detector: its input rule, its model, its training examples, its
command's errors and its contract roles. Real renderer, real TensorFlow, no mocks. (Reading with
the shipped frame model, and the browser's copy of it: tests/test_frame_model_reading.py.)"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from soroban_vision import contract
from soroban_vision.frame.input import HEIGHT, WIDTH, box_factor, frame_input, to_normalized, to_pixels
from soroban_vision.render.scene import write_scenes
from tests.conftest import ROOT, assert_one_line_error, run_cli


@pytest.mark.parametrize(("w", "h"), [(640, 480), (1600, 1200), (150, 100), (1280, 720), (64, 64)])
def test_the_input_is_the_spec_size_in_zero_to_one(w, h):
    gray = np.random.default_rng(w).uniform(0, 255, (h, w))
    x = frame_input(gray)
    assert x.shape == (HEIGHT, WIDTH, 1) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0


def test_a_box_factor_of_whole_boxes_averages_exactly():
    gray = np.arange(480 * 640, dtype=np.float64).reshape(480, 640) % 251
    k = box_factor(640, 480)
    assert k == min(640 // WIDTH, 480 // HEIGHT)
    want = gray[: (480 // k) * k, : (640 // k) * k].reshape(480 // k, k, 640 // k, k).mean(axis=(1, 3))
    from soroban_vision.preprocess import resize_bilinear

    assert np.abs(frame_input(gray)[..., 0] - (resize_bilinear(want, WIDTH, HEIGHT) / 255)).max() < 1e-6


@pytest.mark.parametrize(("w", "h"), [(640, 480), (1601, 1203), (333, 250)])
def test_corners_go_to_normalized_and_back(w, h):
    corners = np.array([[10.25, 20.5], [w - 7.0, 15.0], [w - 3.5, h - 9.0], [4.0, h - 2.0]])
    assert np.allclose(to_pixels(to_normalized(corners, w, h), w, h), corners)
    # the region's outer edges are 0 and 1: pixel centres sit half a pixel in
    k = box_factor(w, h)
    assert np.allclose(to_normalized(np.array([-0.5, -0.5]), w, h), 0.0)
    assert np.allclose(to_normalized(np.array([(w // k) * k - 0.5, (h // k) * k - 0.5]), w, h), 1.0)


def test_the_model_has_named_outputs_by_role_and_is_small():
    from soroban_vision.frame.model import build_frame_model, shipping_model
    from soroban_vision.model import weight_bytes

    training = build_frame_model(heatmaps=True)
    model = shipping_model(training)
    out = model(np.zeros((2, HEIGHT, WIDTH, 1), np.float32))
    assert set(out) == {"corners", "frame"}
    assert tuple(out["corners"].shape) == (2, 4, 2) and tuple(out["frame"].shape) == (2, 1)
    corners = np.asarray(out["corners"])
    assert (corners > 0).all() and (corners < 1).all(), "the soft-argmax is an expected cell centre"
    assert weight_bytes(model) <= 1_000_000
    assert [layer.name for layer in contract.all_layers(model)][1] == "to_signed"  # [0,1] -> [-1,1] inside


def test_contract_roles_for_corners_and_frame():
    assert contract.FRAME_OUTPUTS["corners"]["order"] == [
        "top-left",
        "top-right",
        "bottom-right",
        "bottom-left",
    ]
    assert contract.FRAME_OUTPUTS["corners"]["shape"] == [None, 4, 2]
    assert contract.FRAME_OUTPUTS["frame"]["activation"] == "sigmoid"
    assert {o["role"] for o in contract.OUTPUTS.values()} | set(contract.FRAME_OUTPUTS) == contract.ROLES


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    out = tmp_path_factory.mktemp("frame-scenes") / "s"
    write_scenes(out, 3, 13, seed=5, markers=False, workers=1, variety="wide")
    return out


def test_examples_are_whole_scenes_crops_and_tables_with_corners_inside(scenes, tmp_path):
    from soroban_vision.frame.examples import read_examples, write_examples

    manifest = write_examples([scenes], tmp_path / "ex", tables=2, seed=3, workers=1)
    hows = [it["how"] for it in manifest["items"]]
    assert hows.count("whole") == 3 and hows.count("table") == 2
    paths, corners, frame, groups = read_examples(tmp_path / "ex")
    assert len(paths) == len(manifest["items"]) == len(groups)
    pos = frame > 0.5
    assert ((corners[pos] > 0) & (corners[pos] < 1)).all()
    assert (corners[~pos] == -1).all()
    truth = json.loads((scenes / "manifest.json").read_text())["items"][0]["corners"]
    assert np.allclose(to_pixels(corners[0], 640, 480), truth, atol=0.01)


def test_scenes_with_markers_are_refused(tmp_path):
    from soroban_vision.errors import DatasetError
    from soroban_vision.frame.examples import write_examples

    write_scenes(tmp_path / "m", 1, 13, seed=5, markers=True, workers=1)
    with pytest.raises(DatasetError, match="markers"):
        write_examples([tmp_path / "m"], tmp_path / "ex", tables=0)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ([], ["no training data", "--scenes"]),
        (["--scenes", "/nonexistent/x"], ["no readable manifest.json"]),
        (["--epochs", "0", "--scenes", "x"], ["--epochs"]),
    ],
    ids=["no-data", "missing-folder", "zero-epochs"],
)
def test_train_frame_usage_errors_are_one_line(tmp_path, args, words):
    proc = run_cli("train-frame", "--out", str(tmp_path / "run"), *args)
    assert_one_line_error(proc, 2, *words)


def test_a_column_contract_is_not_a_frame_model_s():
    from soroban_vision.errors import UsageError
    from soroban_vision.frame import contract as frame_contract
    from soroban_vision.reader import DEFAULT_MODEL

    with pytest.raises(UsageError, match="not a frame model") as e:
        frame_contract.read(DEFAULT_MODEL)
    assert e.value.code == "not_frame"


def test_init_from_starts_from_a_frame_model_s_weights_and_refuses_a_column_model(scenes, tmp_path):
    import keras

    from soroban_vision.frame.train import FrameTrainConfig, train_frame

    shipped = keras.models.load_model(ROOT / "models" / "frame" / "model.keras")
    cfg = FrameTrainConfig(scenes=[str(scenes)], tables=2, epochs=1, batch_size=4, learning_rate=1e-12)
    train_frame(replace(cfg, init_from=str(ROOT / "models" / "frame"), out=str(tmp_path / "run")))
    tuned = keras.models.load_model(tmp_path / "run" / "model.keras")
    kernels = [layer.name for layer in shipped.layers if isinstance(layer, keras.layers.Conv2D)]
    assert kernels
    for name in kernels:  # a learning rate of 1e-12 leaves the starting weights where they were
        assert np.allclose(
            tuned.get_layer(name).kernel.numpy(), shipped.get_layer(name).kernel.numpy(), atol=1e-6
        )
    proc = run_cli(
        "train-frame", "--scenes", scenes, "--init-from", ROOT / "models" / "column", "--out", tmp_path / "r2"
    )
    assert_one_line_error(proc, 2, "--init-from", "not a frame model")
