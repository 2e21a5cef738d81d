"""Frame finding without markers: real renders and real OpenCV, no mocks, no model."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from soroban_vision import abacus
from soroban_vision.abacus import FrameNotFound, find_markers, order_corners, quad_candidates
from soroban_vision.errors import UsageError
from soroban_vision.preprocess import to_gray
from soroban_vision.render import camera
from soroban_vision.render.clutter import distractors
from soroban_vision.render.column import fill_background
from soroban_vision.render.scene import render_scene

SEEDS = range(100, 112)  # whatever they render: not picked to pass


def _clockwise(quad: np.ndarray) -> bool:
    """Clockwise on screen (y down): every turn has a positive cross product."""
    edges = np.roll(quad, -1, axis=0) - quad
    after = np.roll(edges, -1, axis=0)
    return bool((edges[:, 0] * after[:, 1] - edges[:, 1] * after[:, 0] > 0).all())


def _error(quad, truth: dict) -> float:
    """The worst corner's distance from the truth, in frame widths."""
    want = np.array(truth["corners"], np.float64)
    return float(np.linalg.norm(np.asarray(quad) - want, axis=1).max() / np.linalg.norm(want[1] - want[0]))


@pytest.fixture(scope="module")
def scenes():
    rng = np.random.default_rng(7)
    return [render_scene(int(rng.integers(0, 10**13)), 13, seed, markers=False) for seed in SEEDS]


def test_most_markerless_frames_are_found_to_within_one_and_a_half_percent(scenes):
    errors = []
    for rgb, truth in scenes:
        found = quad_candidates(to_gray(rgb))
        errors.append(_error(found[0], truth) if found else np.inf)
    good = sum(e <= 0.015 for e in errors)
    assert good >= 2 / 3 * len(scenes), [round(100 * e, 2) for e in errors]
    # and when found, to the pixel: the outer edge, not the rail's inner edge or a shadow
    assert np.median(errors) <= 0.005, [round(100 * e, 2) for e in errors]


def test_candidates_are_quads_clockwise_from_the_top_left(scenes):
    rgb, _ = scenes[0]
    for quad in quad_candidates(to_gray(rgb)):
        assert quad.shape == (4, 2)
        assert _clockwise(quad)
        assert np.linalg.norm(quad[1] - quad[0]) > np.linalg.norm(quad[3] - quad[0]), "the top is a long side"


def _clutter_only(seed: int) -> np.ndarray:
    """A scene's table and clutter, photographed, with no soroban (in gray)."""
    return to_gray(_clutter_only_rgb(seed))


def _clutter_only_rgb(seed: int) -> np.ndarray:
    rng = np.random.default_rng([777, seed])
    img = np.empty((480, 640, 3), np.uint8)
    fill_background(img, tuple(int(v) for v in rng.integers(0, 256, 3)), float(rng.uniform(0, 0.35)), rng)
    distractors(img, rng)
    rgb, _ = camera.photograph(img, rng)
    return rgb


@pytest.mark.parametrize(
    "gray",
    [
        np.full((480, 640), 128.0),
        np.random.default_rng(1).uniform(0, 255, (480, 640)),
        _clutter_only(0),
        _clutter_only(1),
        _clutter_only(2),
    ],
    ids=["blank", "noise", "clutter-0", "clutter-1", "clutter-2"],
)
def test_no_soroban_is_a_one_line_frame_not_found(gray):
    with pytest.raises(FrameNotFound) as e:
        abacus.locate(gray, None, "auto")
    message = str(e.value)
    assert "no soroban frame found" in message and "\n" not in message
    assert e.value.code == "no_frame_outline" and e.value.exit_code == 1


@pytest.mark.parametrize("seed", range(3, 13))
def test_no_soroban_in_colour_is_a_frame_not_found_too(seed):
    """Looking in colour channels too finds no soroban in clutter."""
    photo = abacus.prepare(_clutter_only_rgb(seed))
    assert photo.colour is not None
    with pytest.raises(FrameNotFound, match="no soroban frame found"):
        abacus.locate(photo.gray, None, "auto", photo.colour)


def test_two_sorobans_are_refused_clearly():
    top, _ = render_scene(1234, 13, seed=11, markers=False, size=(640, 240))
    bottom, _ = render_scene(98765, 13, seed=12, markers=False, size=(640, 240))
    both = np.vstack([top, bottom])
    for colour in (None, abacus.prepare(both).colour):
        with pytest.raises(FrameNotFound) as e:
            abacus.locate(to_gray(both), None, "off", colour)
        message = str(e.value)
        assert e.value.code == "two_sorobans" and "more than one soroban" in message
        assert "2 frame outlines" in message and "one soroban at a time" in message
        assert "\n" not in message


@pytest.mark.parametrize(
    ("number", "seed"), [(5355541888100, 438250948), (1107441162998, 1442259567)], ids=["tan", "brown"]
)
def test_a_frame_like_its_table_in_gray_is_found_in_colour(number, seed):
    """A tan frame on a yellow table, a brown one on a blue table: in gray the frame's
    outline hardly shows, in colour it does."""
    rgb, truth = render_scene(number, 13, seed, markers=False)
    photo = abacus.prepare(rgb)
    gray_only = quad_candidates(photo.gray)
    assert not gray_only or _error(gray_only[0], truth) > 0.015
    corners, method, _, _ = abacus.locate(photo.gray, None, "auto", photo.colour)
    assert method == "contour" and _error(corners, truth) <= 0.015


@pytest.mark.parametrize("seed", [300, 301, 302, 303, 304, 305])
def test_three_markers_place_the_fourth_corner_through_the_perspective(seed):
    """With one marker hidden, its frame corner follows from the other three squares'
    perspective (completing a parallelogram is off by 3-7% of the width under a tilt)."""
    rgb, truth = render_scene(int(np.random.default_rng(seed).integers(0, 10**13)), 13, seed, markers=True)
    for hidden in range(4):
        img = rgb.copy()
        square = np.array(truth["marker_corners"][hidden])
        square = square.mean(axis=0) + 1.3 * (square - square.mean(axis=0))
        cv2.fillPoly(img, [np.round(square * 16).astype(np.int32)], (255, 255, 255), cv2.LINE_AA, 4)
        corners, method, warnings = find_markers(to_gray(img))
        assert method == "markers-3" and f"marker {hidden} not found" in warnings[0]
        assert _error(corners, truth) <= 0.015, hidden


@pytest.mark.parametrize("degrees", [0, 8, -8, 30, -30, 60, 90, 120, 180, 250, 300])
def test_corners_are_ordered_clockwise_from_the_top_left_whatever_the_rotation(degrees):
    w, h = 300.0, 90.0
    rect = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    a = np.deg2rad(degrees)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    quad = rect @ rot.T + [320, 240]
    for shuffle in (quad, quad[::-1], np.roll(quad, 1, axis=0), quad[[2, 0, 3, 1]]):
        got = order_corners(shuffle)
        assert _clockwise(got)
        top, right = np.linalg.norm(got[1] - got[0]), np.linalg.norm(got[2] - got[1])
        assert top > right, "the top is a long side"
        assert got[0:2, 1].mean() <= got[2:4, 1].mean(), "the top is the higher long side"
        assert sorted(map(tuple, got)) == sorted(map(tuple, quad))


def test_small_wide_tall_gray_and_rgba_photos_behave(tmp_path):
    rgb, truth = render_scene(4567, 13, seed=31, markers=False)
    Image.fromarray(rgb).convert("L").save(tmp_path / "gray.png")
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])).save(tmp_path / "rgba.png")
    for name in ("gray.png", "rgba.png"):
        corners, method, _, _ = abacus.locate(abacus.load_photo(tmp_path / name).gray, None, "auto")
        assert method == "contour" and _error(corners, truth) <= 0.015
    with pytest.raises(FrameNotFound, match="too small") as e:
        abacus.prepare(np.zeros((40, 50, 3), np.uint8))
    assert e.value.code == "too_small" and "50x40" in str(e.value)
    for shape in ((64, 64), (64, 400), (400, 64)):
        with pytest.raises(FrameNotFound):
            abacus.locate(np.random.default_rng(2).uniform(0, 255, shape), None, "auto")


def test_a_huge_photo_is_reduced_and_its_frame_found_in_its_own_pixels():
    rgb, truth = render_scene(4567, 13, seed=31, markers=False)
    big = np.asarray(Image.fromarray(rgb).resize((6400, 4800), Image.BILINEAR))
    photo = abacus.prepare(big)
    assert max(photo.gray.shape) <= abacus.WORK_SIDE
    corners, _, _, _ = abacus.locate(photo.gray, None, "auto")
    # back in the big photo's pixels, then in the render's
    in_render = (photo.to_photo(corners) + 0.5) / 10 - 0.5
    assert _error(in_render, truth) <= 0.015


def test_a_truncated_jpeg_is_a_usage_error(tmp_path):
    rgb, _ = render_scene(4567, 13, seed=31, markers=False)
    Image.fromarray(rgb).save(tmp_path / "full.jpg", quality=90)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(UsageError):
        abacus.load_photo(tmp_path / "cut.jpg")


def test_the_reader_takes_its_numbers_from_the_shared_spec():
    """web/src/abacus/spec.json is the one copy; the browser loads it too (test_abacus_spec)."""
    from soroban_vision.abacus import spec

    assert spec.SPEC_PATH.parts[-4:] == ("web", "src", "abacus", "spec.json")
    want = spec.SPEC
    used = {
        "columns": {"min": abacus.MIN_COLUMNS, "max": abacus.MAX_COLUMNS},
        "photo": {"min_side": abacus.MIN_SIDE, "work_side": abacus.WORK_SIDE},
        "low_confidence": abacus.LOW_CONFIDENCE,
        "three_marker_fit_rms_px": abacus.MARKER_FIT_PX,
    }
    assert used == {
        "columns": want["columns"],
        "photo": want["photo"],
        "low_confidence": want["low_confidence"],
        "three_marker_fit_rms_px": want["markers"]["three_marker_fit_rms_px"],
    }
    np.testing.assert_array_equal(abacus.side_fracs(), np.linspace(0.3, 1.0, 57))
    s = abacus.Stabilizer()
    assert (s.frames, s.min_confidence, s.motion) == (
        spec.SPEC["stabilizer"]["frames"],
        spec.SPEC["low_confidence"],
        spec.SPEC["stabilizer"]["motion"],
    )
    assert abacus.message("two_sorobans", why="2 frame outlines") == (
        "more than one soroban in the image (2 frame outlines); show one soroban at a time"
    )


@pytest.mark.parametrize(
    ("options", "code", "words"),
    [
        ({"columns": 0}, "bad_columns", ["columns must be 1-31", "got 0"]),
        ({"columns": 32}, "bad_columns", ["columns must be 1-31", "got 32"]),
        ({"columns": 2.5}, "bad_columns", ["columns must be 1-31"]),
        ({"markers": "yes"}, "bad_markers", ["markers must be auto, on or off", "yes"]),
        ({"corners": [[0, 0], [1, 1]]}, "bad_corners", ["four [x, y] points"]),
        ({"corners": [[0, 0], [9, 0], [9, 9], [0, np.nan]]}, "bad_corners", ["four [x, y] points"]),
        ({"corners": [[0, 0, 0]] * 4}, "bad_corners", ["four [x, y] points"]),
        ({"corners": "top-left"}, "bad_corners", ["four [x, y] points"]),
    ],
)
def test_bad_options_are_one_line_usage_errors_with_stable_ids(options, code, words):
    gray = np.full((120, 160), 128.0)
    with pytest.raises(UsageError) as e:
        abacus.read_abacus(gray, None, **options)  # refused before any frame is looked for
    assert e.value.code == code and e.value.exit_code == 2 and "\n" not in str(e.value)
    for w in words:
        assert w in str(e.value), (w, str(e.value))


@pytest.mark.parametrize(
    "corners",
    [
        [[10, 10], [10.5, 10], [10.5, 10.5], [10, 10.5]],  # sides under a pixel
        [[10, 10], [100, 10], [150, 10], [10, 50]],  # three on a line
        [[10, 10], [100, 10], [100, 10], [10, 50]],  # two in one place
    ],
)
def test_degenerate_corners_are_a_frame_not_found(corners):
    gray = np.full((120, 160), 128.0)
    with pytest.raises(FrameNotFound) as e:
        abacus.read_abacus(gray, None, corners=corners)
    assert e.value.code == "degenerate_corners" and "no soroban frame found" in str(e.value)


def test_given_corners_are_used_as_given_and_markers_on_needs_markers():
    rgb, truth = render_scene(4567, 13, seed=31, markers=False)
    gray = to_gray(rgb)
    for markers in ("auto", "on", "off"):  # corners win whatever the marker mode
        corners, method, layouts, _ = abacus.locate(gray, None, markers, corners=np.array(truth["corners"]))
        assert method == "corners" and 13 in [rods for rods, _, _ in layouts]  # the model picks among these
        np.testing.assert_array_equal(corners, truth["corners"])
    with pytest.raises(FrameNotFound) as e:
        abacus.locate(gray, None, "on")
    assert e.value.code == "no_markers" and "no frame markers found" in str(e.value)
