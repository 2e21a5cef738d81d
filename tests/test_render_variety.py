"""The renderer's varieties (issue 12): classic stays byte for byte what it was; wide draws hands,
bead and frame looks, small sorobans, light and camera effects, each recorded in the labels."""

import hashlib
import json

import cv2
import numpy as np
import pytest

from soroban_vision.render.column import render_column
from soroban_vision.render.column_set import OCCLUDED, write_columns
from soroban_vision.render.conditions import (
    BACKS,
    BEAD_SHAPES,
    BEADS,
    CAMERAS,
    COVERED_SHARE,
    FRAMES,
    HANDS,
    LIGHTS,
    SCALES,
    STYLES,
)
from soroban_vision.render.hands import HandPose, covered_rods, hand_alpha, track_cover
from soroban_vision.render.lens import distort_image, distort_points
from soroban_vision.render.lighting import apply_light
from soroban_vision.render.scene import render_scene, write_scenes
from tests.conftest import assert_one_line_error, run_cli

SMALL = (320, 240)

# Hashes of images made by the renderer BEFORE the varieties existed (commit 4caf704).
CLASSIC_COLUMNS = {
    (0, 1): "a3dd90ee50fb266f44c3e2185f7674ef7ede4ebc96720a1eba461bf77c50279e",
    (7, 42): "87620f0c05937d843b2c676ce9124fa1de4ba73d539590ab770f6f218f8d8134",
}
CLASSIC_SCENES = {
    (908172, 9, 17, False, (320, 240)): "c02309d189387aa17f291e6b983e3ceca256341f8d787e79f5f186225f3f682e",
    (1234567, 13, 5, True, (640, 480)): "c6d815629fbf2c954add0f97d7aca842e321169d91dc4eeda16bc2f146fb2e60",
}
CLASSIC_COLUMN_SET = (
    "8ed33100c2216f924fe4fdcc13304cbb060e77a6925f7c62e9275b72570c799d"  # per digit 1, seed 11
)
CLASSIC_SCENE_SET = (
    "16de85114f21189184006873ea01809d9cbf0447401ea8a81c33d12cf5cda548"  # 2 scenes, 13 rods, seed 4
)


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(a.tobytes()).hexdigest()


def _pngs_sha(root) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.png")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def wide_scenes():
    """16 small wide scenes, shared: enough for every hand kind to turn up."""
    return [
        render_scene(s * 7919, 13, seed=s, markers=bool(s % 2), size=SMALL, variety="wide") for s in range(16)
    ]


# --------------------------------------------------------------------------- classic is unchanged


@pytest.mark.parametrize(("digit", "seed"), list(CLASSIC_COLUMNS))
def test_classic_columns_are_byte_for_byte_the_old_ones(digit, seed):
    assert _sha(render_column(digit, seed)[0]) == CLASSIC_COLUMNS[(digit, seed)]
    assert _sha(render_column(digit, seed, "classic")[0]) == CLASSIC_COLUMNS[(digit, seed)]


@pytest.mark.parametrize("args", list(CLASSIC_SCENES))
def test_classic_scenes_are_byte_for_byte_the_old_ones(args):
    rgb, truth = render_scene(*args, variety="classic")
    assert _sha(rgb) == CLASSIC_SCENES[args]
    assert truth["variety"] == "classic" and truth["conditions"]["hand"] == "none"


def test_classic_sets_are_byte_for_byte_the_old_ones(tmp_path):
    write_columns(tmp_path / "c", per_digit=1, seed=11, workers=1)
    write_scenes(tmp_path / "s", count=2, columns=13, seed=4, markers=True, workers=1)
    assert _pngs_sha(tmp_path / "c") == CLASSIC_COLUMN_SET
    assert _pngs_sha(tmp_path / "s") == CLASSIC_SCENE_SET
    # an occluded share adds a class and leaves the digit crops as they were
    write_columns(tmp_path / "o", per_digit=1, seed=11, occluded_share=0.2, workers=1)
    for png in (tmp_path / "c").rglob("*.png"):
        assert (tmp_path / "o" / png.relative_to(tmp_path / "c")).read_bytes() == png.read_bytes()


# --------------------------------------------------------------------------- wide scenes and their labels


def test_wide_scenes_record_their_conditions(wide_scenes):
    seen = {"hand": set(), "light": set(), "camera": set()}
    for rgb, truth in wide_scenes:
        assert rgb.shape == (240, 320, 3) and rgb.dtype == np.uint8
        assert json.loads(json.dumps(truth)) == truth
        c = truth["variety"] == "wide" and truth["conditions"]
        assert c["hand"] in HANDS and c["light"] in LIGHTS and c["camera"] in CAMERAS
        assert c["frame"] in FRAMES and c["back"] in BACKS and c["beads"] in BEADS
        assert c["bead_shape"] in BEAD_SHAPES and c["style"] in STYLES
        assert c["scale"] in [name for name, _ in SCALES] and c["pitch_px"] >= 9.5
        assert (c["marker_px"] is not None) == truth["markers"]
        if c["hand"] == "none":
            assert c["hand_rods"] == [] and truth["params"]["hand"] == {}
        else:
            rods = c["hand_rods"]
            assert rods == sorted(rods) and all(0 <= r < 13 for r in rods) and len(rods) <= 4
            cover = truth["params"]["hand"]["cover"]
            assert rods == [i for i, (a, b) in enumerate(cover) if max(a, b) > COVERED_SHARE]
        for key in seen:
            seen[key].add(c[key])
    assert seen["hand"] == set(HANDS), "16 scenes show every kind of hand"
    assert len(seen["light"]) >= 3 and len(seen["camera"]) >= 3


def test_wide_scenes_are_reproducible_and_differ_from_classic():
    a, ta = render_scene(4205, 9, seed=3, markers=True, size=SMALL, variety="wide")
    b, tb = render_scene(4205, 9, seed=3, markers=True, size=SMALL, variety="wide")
    c, _ = render_scene(4205, 9, seed=3, markers=True, size=SMALL)
    assert a.tobytes() == b.tobytes() and ta == tb and a.tobytes() != c.tobytes()


@pytest.mark.parametrize("variety", ["classic", "wide"])
def test_a_31_rod_soroban_renders(variety):
    number = 10**31 - 1 - 10**15
    rgb, truth = render_scene(number, 31, seed=1, markers=True, variety=variety)
    assert truth["number"] == number and len(truth["digits"]) == 31
    assert np.array(truth["column_quads"]).shape == (31, 4, 2)
    assert np.array(truth["marker_corners"]).shape == (4, 4, 2) and rgb.std() > 10


def test_a_covered_rod_is_recorded_by_the_rule():
    """A fingertip on the middle lane's earth beads hides its earth track: that rod, and only
    the rods whose lanes the hand hides by more than COVERED_SHARE, are covered."""
    lanes = [
        (
            np.array([[x, 10], [x + 10, 10], [x + 10, 40], [x, 40.0]]),
            np.array([[x, 50], [x + 10, 50], [x + 10, 110], [x, 110.0]]),
        )
        for x in (20, 60, 100)
    ]
    pose = HandPose((65.0, 70.0), 0.0, 12.0, False, (False, False, False), False, (200, 150, 120))
    alpha = hand_alpha((200, 140), pose)
    cover = track_cover(alpha, lanes)
    assert cover[1][1] > COVERED_SHARE and covered_rods(cover)[:1] in ([1], [0])
    assert 1 in covered_rods(cover) and cover[2][0] == 0.0
    far = HandPose((65.0, 190.0), 0.0, 6.0, False, (False, False, False), False, (200, 150, 120))
    assert covered_rods(track_cover(hand_alpha((200, 140), far), lanes)) == []


def test_lens_labels_are_the_distorted_true_positions():
    img = np.zeros((240, 320, 3), np.float32)
    points = np.array([[30.0, 25.0], [290.0, 210.0], [160.0, 40.0]])
    for x, y in points:
        cv2.circle(img, (int(x * 16), int(y * 16)), 3 * 16, (255, 255, 255), -1, cv2.LINE_AA, 4)
    for k1 in (-0.2, 0.12):
        out = distort_image(img, k1)[..., 0]
        for p, q in zip(points, distort_points(points, k1, (320, 240)), strict=True):
            x0, y0 = np.round(q).astype(int) - 8
            patch = out[y0 : y0 + 17, x0 : x0 + 17]
            ys, xs = np.mgrid[0:17, 0:17]
            centre = np.array([(xs * patch).sum(), (ys * patch).sum()]) / patch.sum() + [x0, y0]
            assert np.linalg.norm(centre - q) < 0.5, (k1, p, q, centre)
            assert k1 > 0 or np.linalg.norm(q - p) > 1, "barrel moves corner points"


@pytest.mark.parametrize("kind", ["glare", "low", "coloured"])
def test_each_light_changes_the_picture_and_says_how(kind):
    img = np.full((60, 80, 3), 120, np.float32)
    before = img.copy()
    params = apply_light(kind, img, np.random.default_rng(0), np.array([[10.0, 10], [70, 50]]))
    assert params and not np.array_equal(img, before)
    if kind == "low":
        assert img.mean() < 0.55 * before.mean()
    if kind == "glare":
        assert img.max() > before.max() + 30
    if kind == "coloured":
        assert np.ptp(img.reshape(-1, 3).mean(axis=0)) > 5


# --------------------------------------------------------------------------- column crops


def test_wide_columns_and_the_occluded_class(tmp_path):
    gray, params = render_column(6, 3, "wide")
    assert gray.shape == (128, 64) and gray.dtype == np.uint8
    assert params["conditions"]["occluded"] is False and params["conditions"]["beads"] in BEADS
    manifest = write_columns(
        tmp_path / "w", per_digit=2, seed=5, variety="wide", occluded_share=0.2, workers=1
    )
    assert manifest["variety"] == "wide" and len(manifest["items"]) == 25
    hidden = [item for item in manifest["items"] if item["digit"] is None]
    assert len(hidden) == 5 == manifest["occluded_count"]
    assert len(list((tmp_path / "w" / OCCLUDED).glob("*.png"))) == 5
    for item in hidden:
        assert item["file"].startswith(f"{OCCLUDED}/") and 0 <= item["hidden_digit"] <= 9 and item["occluded"]
        hand = item["params"]["hand"]
        assert item["params"]["conditions"]["occluded"] is True and hand["covered"] is True
        assert max(hand["cover"]) > COVERED_SHARE
    assert json.loads((tmp_path / "w" / "manifest.json").read_text()) == manifest


def test_bad_variety_and_share_are_one_line_errors(tmp_path):
    with pytest.raises(ValueError, match="variety"):
        render_scene(1, 3, seed=0, markers=False, variety="fancy")
    with pytest.raises(ValueError, match="variety"):
        render_column(1, 0, "fancy")
    assert_one_line_error(
        run_cli("render-scenes", "--out", tmp_path / "s", "--count", 1, "--variety", "fancy"), 2, "variety"
    )
    assert_one_line_error(
        run_cli("render", "--out", tmp_path / "c", "--per-digit", 1, "--occluded-share", 0.9),
        2,
        "occluded-share",
    )
    assert not (tmp_path / "s").exists() and not (tmp_path / "c").exists()
