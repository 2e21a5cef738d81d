import json

import cv2
import numpy as np
import pytest
from PIL import Image

from soroban_vision.beads import to_digits
from soroban_vision.errors import DatasetError
from soroban_vision.render.scene import MAX_ROLL_DEG, MAX_TILT_DEG, render_scene, write_scenes

W, H = 640, 480


def _cross(a, b) -> float:
    return float(a[0] * b[1] - a[1] * b[0])


def _is_convex_clockwise(quad: np.ndarray) -> bool:
    """Clockwise on screen (y down): every turn has a positive cross product."""
    edges = np.roll(quad, -1, axis=0) - quad
    return all(_cross(edges[i], edges[(i + 1) % 4]) > 0 for i in range(4))


def _detect(rgb: np.ndarray) -> dict[int, np.ndarray]:
    dictionary = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50)
    detector = cv2.aruco.ArucoDetector(dictionary, cv2.aruco.DetectorParameters())
    corners, ids, _ = detector.detectMarkers(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    if ids is None:
        return {}
    return {int(i): c.reshape(4, 2) for i, c in zip(ids.ravel(), corners, strict=True)}


@pytest.mark.parametrize("markers", [False, True])
@pytest.mark.parametrize(("columns", "number"), [(1, 7), (13, 1234567890123), (17, 10**17 - 1)])
def test_a_scene_is_rgb_with_a_truth_that_fits_the_picture(columns, number, markers):
    rgb, truth = render_scene(number, columns, seed=5, markers=markers)
    assert rgb.shape == (H, W, 3) and rgb.dtype == np.uint8
    assert rgb.std() > 10
    assert json.loads(json.dumps(truth)) == truth, "the truth must survive JSON"
    assert truth["number"] == number and truth["digits"] == to_digits(number, columns)
    assert truth["columns"] == columns and truth["markers"] is markers

    frame = np.array(truth["corners"])
    assert frame.shape == (4, 2)
    assert (frame >= 0).all() and (frame[:, 0] <= W - 1).all() and (frame[:, 1] <= H - 1).all()
    assert _is_convex_clockwise(frame)
    assert 0.1 * W < np.ptp(frame[:, 0]) <= 0.9 * W + 1

    quads = np.array(truth["column_quads"])
    assert quads.shape == (columns, 4, 2)
    contour = frame.astype(np.float32).reshape(-1, 1, 2)
    for quad in quads:
        assert _is_convex_clockwise(quad)
        for x, y in quad:
            assert cv2.pointPolygonTest(contour, (float(x), float(y)), True) >= -0.1
    centres = quads.mean(axis=1)
    assert (np.diff(centres[:, 0]) > 0).all(), "rods go left to right"

    if markers:
        squares = np.array(truth["marker_corners"])
        assert squares.shape == (4, 4, 2)
        assert (squares >= 0).all() and (squares[..., 0] < W).all() and (squares[..., 1] < H).all()
        for marker_id, square in enumerate(squares):
            # the corner nearest the frame is the frame's corner
            assert np.abs(square[(marker_id + 2) % 4] - frame[marker_id]).max() <= 0.02
    else:
        assert "marker_corners" not in truth


def test_same_seed_same_bytes_other_seed_other_scene():
    a, ta = render_scene(4205, 6, seed=11, markers=True)
    b, tb = render_scene(4205, 6, seed=11, markers=True)
    c, _ = render_scene(4205, 6, seed=12, markers=True)
    assert a.tobytes() == b.tobytes() and ta == tb
    assert a.tobytes() != c.tobytes()


def test_other_sizes_are_honoured():
    rgb, truth = render_scene(42, 3, seed=1, markers=True, size=(320, 400))
    assert rgb.shape == (400, 320, 3) and truth["size"] == [320, 400]
    assert (np.array(truth["marker_corners"]) < [320, 400]).all()


def test_markers_are_found_where_the_truth_says_and_mark_the_frame_corners():
    found_all = 0
    for seed in range(10):
        rgb, truth = render_scene(seed * 97_531_246, 13, seed=seed, markers=True)
        found = _detect(rgb)
        assert set(found) <= {0, 1, 2, 3}
        found_all += set(found) == {0, 1, 2, 3}
        frame = np.array(truth["corners"])
        tolerance = 0.02 * np.ptp(frame[:, 0])
        for marker_id, corners in found.items():
            nearest = corners[np.argmin(np.linalg.norm(corners - frame.mean(axis=0), axis=1))]
            assert np.linalg.norm(nearest - frame[marker_id]) <= tolerance, (seed, marker_id)
            assert np.abs(corners - truth["marker_corners"][marker_id]).max() <= tolerance
    assert found_all >= 9


def test_without_markers_no_marker_is_found():
    for seed in range(10):
        rgb, _ = render_scene(seed * 13_579, 13, seed=seed, markers=False)
        assert _detect(rgb) == {}, seed


def test_views_stay_within_the_documented_ranges():
    views = [render_scene(0, 9, seed=s, markers=bool(s % 2))[1]["params"]["view"] for s in range(30)]
    tilts = [v["tilt_deg"] for v in views]
    rolls = [v["roll_deg"] for v in views]
    assert max(tilts) <= MAX_TILT_DEG + 1e-6 and max(tilts) > 15
    assert max(abs(r) for r in rolls) <= MAX_ROLL_DEG + 1e-6 and max(abs(r) for r in rolls) > 6
    fractions = [v["frame_width_fraction"] for v in views]
    assert max(fractions) <= 0.9 + 1e-3 and min(fractions) >= 0.3 and max(fractions) - min(fractions) > 0.2


@pytest.mark.parametrize(
    ("number", "columns"),
    [(0, 0), (0, 32), (1000, 3), (10**17, 17), (-1, 5), (1.5, 5), (3, True)],
)
def test_invalid_arguments_are_value_errors(number, columns):
    with pytest.raises(ValueError):
        render_scene(number, columns, seed=0, markers=False)


def test_write_scenes_writes_rgb_pngs_and_a_manifest(tmp_path):
    ticks = []
    manifest = write_scenes(
        tmp_path / "s", count=3, columns=4, seed=9, markers=True, workers=1, progress=ticks.append
    )
    assert sum(ticks) == 3
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        "manifest.json",
        "scene_00000.png",
        "scene_00001.png",
        "scene_00002.png",
    ]
    assert json.loads((tmp_path / "s" / "manifest.json").read_text()) == manifest
    assert manifest["format"] == "soroban-vision/scenes" and manifest["version"] == 1
    assert (manifest["seed"], manifest["columns"], manifest["markers"]) == (9, 4, True)
    assert len(manifest["items"]) == 3
    for item in manifest["items"]:
        assert 0 <= item["number"] < 10**4 and item["digits"] == to_digits(item["number"], 4)
        assert {"corners", "column_quads", "marker_corners", "params", "seed"} <= item.keys()
        with Image.open(tmp_path / "s" / item["file"]) as im:
            assert im.mode == "RGB" and im.size == (W, H)
            pixels = np.asarray(im)
        again, truth = render_scene(item["number"], 4, item["seed"], markers=True)
        assert np.array_equal(pixels, again), "the PNG holds the scene, red still red"
        assert truth == {k: v for k, v in item.items() if k != "file"}


def test_write_scenes_is_the_same_in_parallel(tmp_path):
    a = write_scenes(tmp_path / "a", count=4, columns=7, seed=2, markers=False, workers=2)
    b = write_scenes(tmp_path / "b", count=4, columns=7, seed=2, markers=False, workers=1)
    assert a == b
    for item in a["items"]:
        assert (tmp_path / "a" / item["file"]).read_bytes() == (tmp_path / "b" / item["file"]).read_bytes()


def test_write_scenes_never_writes_into_a_folder_that_has_files(tmp_path):
    keep = tmp_path / "mine" / "notes.txt"
    keep.parent.mkdir()
    keep.write_text("precious")
    with pytest.raises(DatasetError, match="not an empty folder"):
        write_scenes(keep.parent, count=2, columns=3, seed=0, markers=False, workers=1)
    assert keep.read_text() == "precious" and len(list(keep.parent.iterdir())) == 1
    with pytest.raises(DatasetError):
        write_scenes(tmp_path / "new", count=0, columns=3, seed=0, markers=False, workers=1)
    with pytest.raises(DatasetError):
        write_scenes(tmp_path / "new", count=1, columns=32, seed=0, markers=False, workers=1)
    assert not (tmp_path / "new").exists()


def test_render_scenes_cli(tmp_path):
    from tests.conftest import assert_one_line_error, run_cli

    proc = run_cli("render-scenes", "--out", tmp_path / "s", "--count", 2, "--columns", 5, "--markers", "on")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert len(manifest["items"]) == 2 and manifest["markers"] is True
    assert_one_line_error(
        run_cli("render-scenes", "--out", tmp_path / "t", "--count", 1, "--columns", 32), 2, "columns"
    )
