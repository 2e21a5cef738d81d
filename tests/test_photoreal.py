"""The photoreal renderer (`render-3d`, Blender's Cycles in its own venv): plans are data and are
reproducible, the camera keeps the soroban in the picture, and two small scenes rendered through
the CLI carry the truth of `render-scenes`: corners where the project's marker reader finds them,
the rods a hand covers, a manifest `evaluate-scenes` reads."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from soroban_vision.abacus.markers import find_markers
from soroban_vision.photoreal.shot import _outline, project
from soroban_vision.photoreal.writer import plan_scene
from soroban_vision.render.conditions import COVERED_SHARE
from soroban_vision.render.scene import scene_numbers, scene_seed
from tests.conftest import assert_one_line_error, run_cli

SV = [sys.executable, "-m", "soroban_vision.cli"]
SEED = 157  # scene 0 has a hand ("two": index and middle finger on the beads), scene 1 has none
W, H = 480, 360
CONDITION_KEYS = {
    "hand",
    "hand_rods",
    "scale",
    "pitch_px",
    "marker_px",
    "style",
    "frame",
    "back",
    "beads",
    "bead_shape",
    "light",
    "camera",
    "renderer",
}


def _plans(seed: int, markers: bool = True, size=(W, H)):
    return [
        plan_scene(i, n, 13, scene_seed(seed, i), markers, size)
        for i, n in enumerate(scene_numbers(seed, 13, 2))
    ]


def test_a_plan_is_plain_data_and_the_same_arguments_give_the_same_plan():
    a, b = _plans(SEED), _plans(SEED)
    assert json.loads(json.dumps(a)) == a == b
    assert a[0]["hand"] is not None and a[0]["hand"]["pose"] == "two", "SEED no longer puts a hand in scene 0"
    assert a[1]["hand"] is None
    assert _plans(SEED + 1) != a


@pytest.mark.parametrize("markers", [True, False])
def test_the_camera_keeps_the_frame_and_its_cards_inside_the_picture(markers):
    for seed in range(25):
        for plan in _plans(seed, markers, (640, 480)):
            cam = plan["camera"]
            px = project(
                _outline(plan["soroban"], plan["markers"]),
                np.array(cam["at"]),
                np.array(cam["axes"]),
                cam["focal_mm"],
                (640, 480),
            )
            assert (px >= 0).all() and (px[:, 0] <= 639).all() and (px[:, 1] <= 479).all(), (seed, px)


def test_without_blender_render_3d_names_the_extras(tmp_path):
    env = os.environ | {"SOROBAN_BLENDER_PYTHON": str(tmp_path / "no-python")}
    proc = subprocess.run(
        [*SV, "render-3d", "--out", str(tmp_path / "out"), "--count", "1"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert_one_line_error(proc, 2, "photoreal", "make photoreal")
    assert not (tmp_path / "out").exists()


def test_a_bad_size_is_one_line(tmp_path):
    proc = run_cli("render-3d", "--out", tmp_path / "out", "--count", "1", "--size", "640by480")
    assert_one_line_error(proc, 2, "--size", "WIDTHxHEIGHT")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """A 2-scene set, made as a 1-scene set completed with --resume (what `make photoreal` does)."""
    out = tmp_path_factory.mktemp("photoreal") / "scenes"
    runs = []
    for count, more in ((1, ()), (2, ("--resume",))):
        runs.append(
            run_cli(
                *("render-3d", "--out", out, "--count", count, "--seed", SEED, "--markers", "on", *more),
                *("--samples", 4, "--size", f"{W}x{H}"),
            )
        )
        assert runs[-1].returncode == 0, runs[-1].stderr[-2000:]
        if count == 1:
            first = (out / "scene_00000.png").read_bytes(), json.loads((out / "manifest.json").read_text())
    assert "wrote 1 scenes" in runs[0].stdout and "wrote 2 scenes" in runs[1].stdout
    return out, json.loads((out / "manifest.json").read_text()), runs[1].stdout, first


@pytest.mark.slow
def test_the_manifest_has_the_render_scenes_truth_and_the_conditions(rendered):
    out, manifest, *_ = rendered
    assert manifest["format"] == "soroban-vision/scenes" and manifest["renderer"] == "blender"
    assert manifest["markers"] is True and manifest["size"] == [W, H] and len(manifest["items"]) == 2
    for item in manifest["items"]:
        assert {
            "file",
            "number",
            "digits",
            "columns",
            "corners",
            "column_quads",
            "marker_corners",
        } <= item.keys()
        assert len(item["digits"]) == item["columns"] == 13 == len(item["column_quads"])
        assert set(item["conditions"]) == CONDITION_KEYS and item["conditions"]["renderer"] == "blender"
        rgb = cv2.imread(str(out / item["file"]))
        assert rgb.shape == (H, W, 3) and rgb.std() > 10, "a blank picture"
        corners = np.array(item["corners"])
        edges = np.roll(corners, -1, axis=0) - corners
        turns = (
            edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
        )
        assert (turns > 0).all(), "corners clockwise from the top-left"
        assert (corners >= 0).all() and (corners[:, 0] < W).all() and (corners[:, 1] < H).all()


@pytest.mark.slow
def test_the_project_s_marker_reader_finds_the_labelled_corners(rendered):
    out, manifest, *_ = rendered
    item = manifest["items"][1]  # no hand over any marker
    gray = cv2.cvtColor(cv2.imread(str(out / item["file"])), cv2.COLOR_BGR2GRAY)
    found, method, _ = find_markers(gray.astype(np.float64))
    assert method == "markers", "all four markers should be found"
    error = np.linalg.norm(found - np.array(item["corners"]), axis=1)
    assert error.max() < 1.5, error  # pixels, at 480x360
    detector = cv2.aruco.ArucoDetector(cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50))
    squares, ids, _ = detector.detectMarkers(gray)
    for marker_id, square in zip(ids.ravel(), squares, strict=True):
        labelled = np.array(item["marker_corners"][int(marker_id)])
        assert np.abs(square.reshape(4, 2) - labelled).max() < 1.5, marker_id  # in ArUco's corner order


@pytest.mark.slow
def test_a_hand_on_the_beads_covers_rods_and_says_which(rendered):
    _, manifest, *_ = rendered
    with_hand, without = manifest["items"]
    assert without["conditions"]["hand"] == "none" and without["conditions"]["hand_rods"] == []
    conditions = with_hand["conditions"]
    assert conditions["hand"] == "resting"
    assert conditions["hand_rods"], "two fingers resting on the beads cover at least one rod"
    hidden = with_hand["params"]["hand"]["hidden_lanes"]
    assert conditions["hand_rods"] == [i for i, lanes in enumerate(hidden) if max(lanes) > COVERED_SHARE]
    assert len(conditions["hand_rods"]) <= 6


@pytest.mark.slow
def test_evaluate_scenes_reads_a_3d_folder_unchanged(rendered):
    out, *_ = rendered
    proc = run_cli("evaluate-scenes", out, "--columns", 13, "--json", "-")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["n"] == 2


@pytest.mark.slow
def test_resume_completes_a_set_and_keeps_what_it_has(rendered):
    """The fixture's 1-scene set grown to 2 with --resume: the first scene is kept as it was (its
    file and its truth), only the second is rendered, and the manifest is that of a 2-scene set."""
    out, manifest, said, (png, small) = rendered
    assert "1 kept from before: 1 rendered" in said
    assert manifest["items"][:1] == small["items"] and len(manifest["items"]) == 2
    assert manifest["items"][1]["number"] == scene_numbers(SEED, 13, 2)[1]
    assert (out / "scene_00000.png").read_bytes() == png


@pytest.mark.slow
def test_resume_refuses_a_set_of_other_settings(rendered, tmp_path):
    """Resuming with another seed would mix two sets: one line, exit 2, nothing written."""
    import shutil

    out, *_ = rendered
    other = tmp_path / "other"
    shutil.copytree(out, other)
    manifest = (other / "manifest.json").read_bytes()
    proc = run_cli(
        *("render-3d", "--out", other, "--count", 3, "--seed", SEED + 1, "--markers", "on", "--resume"),
        *("--samples", 4, "--size", f"{W}x{H}"),
    )
    assert_one_line_error(proc, 2, "cannot resume", "seed")
    assert (other / "manifest.json").read_bytes() == manifest and not (other / "scene_00002.png").exists()
