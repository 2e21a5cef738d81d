"""Whole-soroban reading with the shipped model, on rendered scenes and on bad photos."""

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from soroban_vision import abacus
from soroban_vision.abacus.flags import WITH_HIDDEN
from soroban_vision.abacus.rods import RodCount
from soroban_vision.errors import UsageError
from soroban_vision.reader import ColumnReader
from soroban_vision.render.scene import render_scene
from soroban_vision.render.video import from_ycbcr420, to_ycbcr420
from tests.conftest import assert_one_line_error, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reader():
    return ColumnReader.open()  # the shipped models/column


def _save(rgb: np.ndarray, path, mode=None) -> str:
    im = Image.fromarray(rgb)
    if mode:
        im = im.convert(mode)
    im.save(path)
    return str(path)


@pytest.mark.parametrize("seed", [101, 102, 103, 104])
def test_reads_scenes_with_markers(reader, seed):
    number = int(np.random.default_rng(seed).integers(0, 10**13))
    rgb, truth = render_scene(number, 13, seed, markers=True)
    r = abacus.read_abacus(abacus.prepare(rgb), reader)
    assert r.method == "markers"
    assert r.number == number and len(r.digits) == 13
    width = np.linalg.norm(np.subtract(truth["corners"][1], truth["corners"][0]))
    assert np.abs(np.subtract(r.corners, truth["corners"])).max() < 0.015 * width


def test_given_column_count_is_used(reader):
    rgb, truth = render_scene(4321, 7, 55, markers=True)
    r = abacus.read_abacus(abacus.prepare(rgb), reader, columns=7)
    assert r.digits == truth["digits"] and r.number == 4321


def test_the_reading_says_how_sure_its_rod_count_is(reader):
    rgb, truth = render_scene(3141592653589, 13, 101, markers=True)
    r = abacus.read_abacus(abacus.prepare(rgb), reader)
    assert r.number == truth["number"] and r.rods.count == len(r.digits) == 13
    assert not r.rods.uncertain and not r.rods.given and r.rods.confidence == 1.0
    assert r.rods.rival in [c["rods"] for c in r.rods.candidates] and 13 in [
        c["rods"] for c in r.rods.candidates
    ]
    assert not [w for w in r.warnings if "rod count" in w]
    doc = json.loads(json.dumps(r.to_json()))
    assert doc["rods"]["count"] == 13 and doc["rods"]["uncertain"] is False
    assert {"rods", "side_frac", "score", "mean_log_confidence"} == doc["rods"]["candidates"][0].keys()
    # stated, the count is never guessed
    given = abacus.read_abacus(abacus.prepare(rgb), reader, columns=13)
    assert given.rods.given and given.rods.confidence == 1.0 and given.rods.rival is None
    assert [c["rods"] for c in given.rods.candidates] == [13] and given.number == truth["number"]


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize(
    ("columns", "seed"), [(13, 111), (13, 112), (13, 113), (9, 114), (17, 115), (11, 116)]
)
def test_compression_never_changes_the_rod_count_or_the_number(reader, columns, seed):
    """JPEG at several qualities and video's 4:2:0 chroma (as a camera stream carries it): the
    same rod count, sure, and the same number as the picture itself."""
    number = int(np.random.default_rng(seed).integers(0, 10**columns))
    rgb, truth = render_scene(number, columns, seed, markers=True)
    video = from_ycbcr420(*to_ycbcr420(rgb))
    pictures = {"png": rgb, "4:2:0": video, "jpeg 50 of 4:2:0": _jpeg(video, 50)}
    pictures |= {f"jpeg {q}": _jpeg(rgb, q) for q in (30, 50, 70, 90)}
    for name, picture in pictures.items():
        r = abacus.read_abacus(abacus.prepare(picture), reader)
        assert (r.rods.count, r.rods.uncertain, r.number) == (columns, False, truth["number"]), name


def test_given_corners_are_read_as_given(reader):
    """The frame's corners from a scene's ground truth, no markers: read with those corners."""
    rgb, truth = render_scene(3141592653589, 13, 17, markers=False)
    for markers in ("off", "auto"):
        r = abacus.read_abacus(abacus.prepare(rgb), reader, markers=markers, corners=truth["corners"])
        assert r.method == "corners" and r.number == truth["number"] and len(r.digits) == 13
        assert np.abs(np.subtract(r.corners, truth["corners"])).max() <= 0.006  # rounded to 2 places


def test_given_corners_of_a_huge_photo_are_in_its_own_pixels(reader):
    rgb, truth = render_scene(246813579, 13, 21, markers=False)
    big = cv2.resize(rgb, (8000, 6000), interpolation=cv2.INTER_LINEAR)
    truth_big = (np.array(truth["corners"]) + 0.5) * 12.5 - 0.5
    r = abacus.read_abacus(abacus.prepare(big), reader, corners=truth_big)
    assert r.method == "corners" and r.number == truth["number"]
    assert np.abs(np.array(r.corners) - truth_big).max() <= 0.006  # rounded to 2 places


def test_bad_corners_are_a_one_line_error(reader):
    rgb, _ = render_scene(4321, 7, 55, markers=True)
    for corners in ([[0, 0], [1, 1]], [[0, 0], [10, 0], [10, 5], [0, float("inf")]], "four corners"):
        with pytest.raises(UsageError) as e:
            abacus.read_abacus(abacus.prepare(rgb), reader, corners=corners)
        assert e.value.code == "bad_corners" and "\n" not in str(e.value)
        assert "four [x, y] points, clockwise from the frame's top-left" in str(e.value)


def test_read_cli_json_and_annotation(tmp_path):
    rgb, truth = render_scene(90817, 9, 7, markers=True)
    photo = _save(rgb, tmp_path / "abacus.png")
    proc = run_cli("read", photo, "--json", "-", "--annotate", tmp_path / "out.png")
    assert proc.returncode == 0, proc.stderr
    [doc] = json.loads(proc.stdout)  # always a list, one entry per photo
    assert doc["number"] == 90817 and doc["digits"] == truth["digits"] and doc["method"] == "markers"
    assert len(doc["corners"]) == 4 and len(doc["columns"]) == 9
    assert {"status", "digit", "confidence", "quad"} <= doc["columns"][0].keys()
    assert doc["text"] == "90817" and doc["flagged_columns"] == [] and doc["columns"][0]["status"] == "read"
    with Image.open(tmp_path / "out.png") as im:
        assert im.size == (640, 480)


def test_a_stricter_min_confidence_flags_the_columns_read_less_sure(tmp_path):
    """read --min-confidence P: a column read less sure than P is flagged instead of given (so
    is any other column below the with-hidden bar), the number goes with it and the rod count is
    doubted; the other columns keep their digits. P outside (0, 1] is a one-line error."""
    rgb, truth = render_scene(90817, 9, 7, markers=True)
    photo = _save(rgb, tmp_path / "abacus.png")
    [plain] = json.loads(run_cli("read", photo, "--json", "-", check=True).stdout)
    confidences = [c["confidence"] for c in plain["columns"]]
    least = int(np.argmin(confidences))
    assert plain["number"] == 90817 and confidences[least] < 0.9999
    strict = confidences[least] + 1e-6
    proc = run_cli("read", photo, "--min-confidence", repr(strict), "--json", "-", check=True)
    [doc] = json.loads(proc.stdout)
    assert doc["number"] is None and least in doc["flagged_columns"]
    assert doc["rods"]["uncertain"] and doc["rods"]["doubt"] in ("hidden", "end_hidden")
    for i, (column, c) in enumerate(zip(doc["columns"], confidences, strict=True)):
        assert (column["status"] == "hidden") == (c < max(strict, WITH_HIDDEN)), (i, c, column)
        if column["status"] == "read":
            assert column["digit"] == truth["digits"][i]
    assert "not read" in proc.stderr  # the flagged columns' warning
    for bad in ("0", "1.5", "-0.2"):
        assert_one_line_error(run_cli("read", photo, "--min-confidence", bad), 2, "--min-confidence")


def test_grayscale_and_rgba_photos(reader, tmp_path):
    rgb, truth = render_scene(5550123, 13, 9, markers=True)
    for mode in ("L", "RGBA"):
        g = abacus.load_photo(_save(rgb, tmp_path / f"p_{mode}.png", mode))
        assert abacus.read_abacus(g, reader).number == truth["number"], mode


def test_a_huge_photo_is_reduced_and_read(reader, tmp_path):
    rgb, truth = render_scene(246813579, 13, 21, markers=True)
    big = cv2.resize(rgb, (8000, 6000), interpolation=cv2.INTER_LINEAR)
    photo = abacus.prepare(big)
    assert max(photo.gray.shape) <= abacus.WORK_SIDE and photo.factor == 5
    r = abacus.read_abacus(photo, reader)
    assert r.number == truth["number"]
    truth_big = (np.array(truth["corners"]) + 0.5) * 12.5 - 0.5  # pixel centres scale about -0.5
    width = np.linalg.norm(truth_big[1] - truth_big[0])
    assert np.abs(np.array(r.corners) - truth_big).max() < 0.015 * width


def test_a_frame_found_only_in_colour_is_read(reader, tmp_path):
    """A tan frame on a yellow table, no markers: found through its colour, and read."""
    rgb, truth = render_scene(5355541888100, 13, 438250948, markers=False)
    r = abacus.read_abacus(abacus.load_photo(_save(rgb, tmp_path / "tan.png")), reader, frame_model=None)
    assert r.method == "contour" and r.number == truth["number"] and len(r.digits) == 13


def test_a_clear_frame_whose_rods_fit_no_layout_well_is_still_read(reader):
    """White beads on an orange frame: the columns' brightness profile fits every layout
    poorly, but the frame is plainly a soroban's, so it is read, not refused."""
    rgb, truth = render_scene(9887093316676, 13, 2967990428, markers=False)
    r = abacus.read_abacus(abacus.prepare(rgb), reader, frame_model=None)
    assert r.method == "contour" and r.number == truth["number"] and len(r.digits) == 13


def test_no_abacus_is_a_clear_result(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    proc = run_cli("read", _save(noise, tmp_path / "noise.png"))
    assert_one_line_error(proc, 1, "no soroban frame found")


def test_tiny_image(tmp_path):
    proc = run_cli("read", _save(np.zeros((30, 40, 3), np.uint8), tmp_path / "tiny.png"))
    assert_one_line_error(proc, 1, "too small")


def test_truncated_jpeg(tmp_path):
    rgb, _ = render_scene(1, 13, 3, markers=True)
    _save(rgb, tmp_path / "ok.jpg")
    data = (tmp_path / "ok.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    assert_one_line_error(run_cli("read", tmp_path / "cut.jpg"), 2, "not a readable image")


def test_two_abaci_with_markers_are_refused(tmp_path):
    a, _ = render_scene(12, 5, 1, markers=True)
    b, _ = render_scene(34, 5, 2, markers=True)
    both = np.concatenate([a, b], axis=1)
    assert_one_line_error(run_cli("read", _save(both, tmp_path / "two.png")), 1, "more than one soroban")


def test_markers_on_without_markers_is_a_clear_error(tmp_path):
    rgb, _ = render_scene(77, 13, 5, markers=False)
    proc = run_cli("read", _save(rgb, tmp_path / "plain.png"), "--markers", "on")
    assert_one_line_error(proc, 1, "no frame markers found")


def test_evaluate_scenes_reports_the_figures(tmp_path):
    assert (
        run_cli(
            "render-scenes", "--out", tmp_path / "s", "--count", 3, "--markers", "on", "--seed", 5
        ).returncode
        == 0
    )
    proc = run_cli("evaluate-scenes", tmp_path / "s", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["n"] == 3 and r["exact_number_accuracy"] == 1.0
    assert r["silent_wrong_rate"] == r["flagged_rate"] == r["frame_not_found_rate"] == 0.0
    assert r["silent_wrong_causes"] == {"rod_count": 0, "rods_offset": 0, "digit": 0}
    assert r["corner_error_pct_of_width"]["max"] < 1.5 and r["ms_per_frame"]["median"] > 0
    assert r["corner_error_pct_of_width"]["p90"] <= r["corner_error_pct_of_width"]["max"]
    assert [g["n"] for g in r["by_condition"]["hand"].values()] == [3] and r["calibration"]["columns"] == 39


def test_evaluate_scenes_reads_with_the_min_confidence_given(tmp_path):
    """evaluate-scenes --min-confidence: the scenes read with that flag threshold, and it says so."""
    scenes = tmp_path / "s"
    render = run_cli("render-scenes", "--out", scenes, "--count", 2, "--markers", "on", "--seed", 5)
    assert render.returncode == 0, render.stderr
    plain = json.loads(run_cli("evaluate-scenes", scenes, "--json", "-", check=True).stdout)
    strict = json.loads(
        run_cli("evaluate-scenes", scenes, "--min-confidence", "0.9999", "--json", "-", check=True).stdout
    )
    assert plain["min_confidence"] == abacus.LOW_CONFIDENCE and strict["min_confidence"] == 0.9999
    assert plain["flagged_columns"] == 0 and strict["flagged_columns"] > 0
    assert strict["flagged_rate"] > plain["flagged_rate"] and strict["exact_number_accuracy"] < 1.0
    table = run_cli("evaluate-scenes", scenes, "--min-confidence", "0.9999", check=True).stdout
    assert "columns read below 0.9999 flagged" in table


def test_evaluate_scenes_with_the_given_frame_reads_every_scene_on_its_labels(tmp_path, reader):
    """--given-frame: each scene read with its labels' corners and rod count, so every frame is
    found where it is; the browser and --columns are refused, and so is a scene with no corners."""
    scenes = tmp_path / "s"
    args = ("--count", 4, "--markers", "off", "--variety", "wide", "--seed", 11)
    assert run_cli("render-scenes", "--out", scenes, *args).returncode == 0
    items = json.loads((scenes / "manifest.json").read_text())["items"]
    r = abacus.evaluate_scenes(scenes, reader, given_frame=True)
    assert r["given_frame"] and r["frame_not_found"] == 0
    assert r["corner_error_pct_of_width"]["max"] < 0.01  # the labels' corners, rounded to 0.01 px
    for item in items:
        reading = abacus.read_abacus(
            abacus.prepare(np.asarray(Image.open(scenes / item["file"]).convert("RGB"))),
            reader,
            columns=len(item["digits"]),
            corners=item["corners"],
        )
        assert reading.method == "corners" and reading.rods.given
        assert len(reading.digits) == len(item["digits"])
    own = abacus.evaluate_scenes(scenes, reader)
    assert not own["given_frame"] and own["n"] == r["n"] == 4
    proc = run_cli("evaluate-scenes", scenes, "--given-frame", "--browser")
    assert_one_line_error(proc, 2, "--given-frame", "--browser")
    proc = run_cli("evaluate-scenes", scenes, "--given-frame", "--columns", 13)
    assert_one_line_error(proc, 2, "--columns")
    manifest = json.loads((scenes / "manifest.json").read_text())
    del manifest["items"][1]["corners"]
    (scenes / "manifest.json").write_text(json.dumps(manifest))
    proc = run_cli("evaluate-scenes", scenes, "--given-frame", "--json", "-")
    assert_one_line_error(proc, 2, "no labelled corners")


def test_stabilizer_needs_k_agreeing_confident_frames():
    s = abacus.Stabilizer(frames=3, min_confidence=0.9, motion=0.02)
    corners = [[0, 0], [100, 0], [100, 30], [0, 30]]
    assert s.update(42, [0.99], corners) is None
    assert s.update(42, [0.99], corners) is None
    assert s.update(42, [0.99], corners) == 42
    assert s.update(43, [0.99], corners) is None  # a change starts the count again
    assert s.update(43, [0.5], corners) is None  # not confident: no count
    moved = [[10, 0], [110, 0], [110, 30], [10, 30]]
    for _ in range(2):
        s.update(43, [0.99], corners)
    assert s.update(43, [0.99], moved) is None  # motion resets
    assert s.update(43, [0.99], moved) is None
    assert s.update(43, [0.99], moved) == 43


def test_stabilizer_never_settles_across_rod_counts():
    """0123 read on 4 rods and 123 on 3 are the same number, but not the same reading."""
    s = abacus.Stabilizer(frames=3)
    assert [s.update(123, [0.99], None, rods) for rods in (4, 3, 4, 3, 3)] == [None] * 5
    assert s.rods_vary
    assert s.update(123, [0.99], None, 3) == 123 and not s.rods_vary
    # an unsure count is not counted; a reading's rods (RodCount, or its JSON) are taken too
    unsure = {"count": 3, "uncertain": True}
    assert s.update(123, [0.99], None, unsure) is None
    sure = RodCount(3, 1.0, False, False, 4, [])
    assert [s.update(123, [0.99], None, sure) for _ in range(3)] == [None, None, 123]
