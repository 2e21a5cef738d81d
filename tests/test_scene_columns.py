"""`dataset scenes`: column crops cut from rendered scenes the way the reader cuts them, labelled
from the scenes' truth, covered rods apart, for training on what the reader sees."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from soroban_vision.api import load_column_classifier
from soroban_vision.render.conditions import COVERED_SHARE
from soroban_vision.scene_columns import GRAZED_SHARE, lane_cover, write_scene_columns

from .conftest import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """Two classic scenes and six wide ones (seed 12 puts hands over rods, a few only grazed)."""
    root = tmp_path_factory.mktemp("scene-columns")
    for name, variety, count, seed in (("classic", "classic", 2, 11), ("wide", "wide", 6, 12)):
        args = ("--count", count, "--seed", seed, "--variety", variety, "--workers", 1)
        run_cli("render-scenes", "--out", root / name, *args, check=True)
    return root


def _manifest(folder):
    return json.loads((folder / "manifest.json").read_text())


def test_crops_of_true_quads_are_read_as_the_scene_s_digits(scenes, tmp_path):
    out = tmp_path / "crops"
    proc = run_cli("dataset", "scenes", scenes / "classic", "--out", out, "--jitter", 0, check=True)
    assert "wrote 26 columns" in proc.stdout, proc.stdout
    items = _manifest(out)["items"]
    truth = [d for it in _manifest(scenes / "classic")["items"] for d in it["digits"]]
    assert [it["digit"] for it in items] == truth
    assert all(it["file"].startswith(f"{it['digit']}/") for it in items)
    read = load_column_classifier().classify([str(out / it["file"]) for it in items])
    right = sum(r["digit"] == d for r, d in zip(read, truth, strict=True))
    assert right >= 25, f"{right}/26: the crops are not where the rods are"


def test_covered_rods_go_to_occluded_and_grazed_rods_are_left_out(scenes, tmp_path):
    wide = _manifest(scenes / "wide")["items"]
    covered = sum(len(it["conditions"]["hand_rods"]) for it in wide)
    grazed = sum(GRAZED_SHARE < c <= COVERED_SHARE for it in wide for c in lane_cover(it))
    assert covered and grazed, "seed 12 should put a hand over some rods and graze others"
    manifest = write_scene_columns([scenes / "wide"], tmp_path / "crops", seed=3, per_column=2)
    items = manifest["items"]
    assert manifest["occluded_count"] == 2 * covered and manifest["grazed_skipped"] == grazed
    assert len(items) == 2 * (13 * len(wide) - grazed)
    by_scene = {it["file"]: it for it in wide}
    for it in items:
        scene = by_scene[it["scene"].split("/", 1)[1]]
        hidden = it["rod"] in scene["conditions"]["hand_rods"]
        assert (it["digit"] is None) == hidden == it["conditions"]["occluded"]
        assert it["file"].startswith("occluded/" if hidden else f"{it['digit']}/")
        if hidden:
            assert it["hidden_digit"] == scene["digits"][it["rod"]]
        assert "hand_rods" not in it["conditions"] and it["conditions"]["hand"] == scene["conditions"]["hand"]
    crops = [cv2.imread(str(tmp_path / "crops" / it["file"]), cv2.IMREAD_UNCHANGED) for it in items]
    assert all(c.shape == (128, 64) and c.dtype == np.uint8 for c in crops)
    assert not np.array_equal(crops[0], crops[1]), "the two crops of a rod are jittered apart"


def test_the_same_seed_cuts_the_same_crops_and_another_seed_others(scenes, tmp_path):
    def cut(seed, name):
        m = write_scene_columns([scenes / "classic"], tmp_path / name, seed=seed)
        return [(tmp_path / name / it["file"]).read_bytes() for it in m["items"]]

    assert cut(5, "a") == cut(5, "b") != cut(6, "c")


def test_bad_input_is_one_line_and_leaves_no_folder(scenes, tmp_path):
    out = tmp_path / "crops"
    assert_one_line_error(run_cli("dataset", "scenes", tmp_path / "none", "--out", out), 2, "manifest.json")
    columns = tmp_path / "columns"
    run_cli("render", "--out", columns, "--per-digit", 1, "--workers", 1, check=True)
    assert_one_line_error(run_cli("dataset", "scenes", columns, "--out", out), 2, "column_quads")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text(json.dumps(_manifest(scenes / "classic")))
    (broken / "scene_00000.png").write_bytes(b"not a png")
    assert_one_line_error(run_cli("dataset", "scenes", broken, "--out", out), 2)
    assert not out.exists() and not list(tmp_path.glob(".crops.partial-*")), "a failed run leaves nothing"
    out.mkdir()
    (out / "mine.txt").write_text("a user's file")
    assert_one_line_error(run_cli("dataset", "scenes", scenes / "classic", "--out", out), 2, "--out")
    assert (out / "mine.txt").read_text() == "a user's file"
