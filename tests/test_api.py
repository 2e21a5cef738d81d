"""The documented Python API and the CLI's one vocabulary (`--json FILE|-`, `--markers auto|on|off`,
`read` batches), with the shipped model through ONNX Runtime."""

import json

import numpy as np
import pytest
from PIL import Image

import soroban_vision
from soroban_vision import load_column_classifier, read_abacus
from soroban_vision.errors import UsageError
from soroban_vision.render.scene import render_scene
from tests.conftest import assert_one_line_error, run_cli

pytestmark = pytest.mark.slow
NUMBER = 4_031_200_598_761


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    rgb, truth = render_scene(NUMBER, 13, seed=31, markers=True)
    path = tmp_path_factory.mktemp("api") / "scene.png"
    Image.fromarray(rgb).save(path)
    return path, rgb, truth


def test_the_package_exports_the_api():
    assert {"load_column_classifier", "read_abacus"} <= set(soroban_vision.__all__)


def test_read_abacus_takes_a_path_pixels_or_a_pil_image(scene):
    path, rgb, truth = scene
    for image in (path, str(path), rgb, Image.open(path)):
        r = read_abacus(image)
        assert r.number == NUMBER and r.method == "markers" and len(r.digits) == 13
    width = np.linalg.norm(np.subtract(truth["corners"][1], truth["corners"][0]))
    assert np.abs(np.subtract(r.corners, truth["corners"])).max() < 0.015 * width


def test_given_corners_are_used_as_given(scene):
    path, _, truth = scene
    r = read_abacus(path, markers="off", corners=truth["corners"])
    assert r.method == "corners" and r.number == NUMBER
    assert np.abs(np.subtract(r.corners, truth["corners"])).max() <= 0.01
    with pytest.raises(UsageError) as e:
        read_abacus(path, corners=[[0, 0], [1, 1]])
    assert e.value.code == "bad_corners" and "four [x, y] points" in str(e.value)


def test_bad_arguments_have_stable_codes(scene):
    path, rgb, _ = scene
    cases = [
        (lambda: read_abacus(rgb.astype(np.float32)), "bad_image"),
        (lambda: read_abacus(path, columns=0), "bad_columns"),
        (lambda: read_abacus(path, markers="yes"), "bad_markers"),
    ]
    for call, code in cases:
        with pytest.raises(UsageError) as e:
            call()
        assert e.value.code == code and "\n" not in str(e.value)


def test_load_column_classifier_classifies_paths_and_pixels(tmp_path):
    from soroban_vision.render.column import render_column

    classifier = load_column_classifier()
    gray, _ = render_column(7, 5)
    Image.fromarray(gray).save(tmp_path / "seven.png")
    from_pixels, from_file = classifier.classify(gray), classifier.classify([tmp_path / "seven.png"])
    assert from_pixels[0]["digit"] == from_file[0]["digit"] == 7
    assert "file" not in from_pixels[0] and from_file[0]["file"] == str(tmp_path / "seven.png")


def test_json_to_a_file_or_to_stdout_is_the_same_document(scene, tmp_path):
    path, _, _ = scene
    to_stdout = run_cli("read", path, "--json", "-")
    assert to_stdout.returncode == 0, to_stdout.stderr
    doc = json.loads(to_stdout.stdout)  # nothing else on stdout
    to_file = run_cli("read", path, "--json", tmp_path / "r.json")
    assert to_file.returncode == 0 and f"json: {tmp_path / 'r.json'}" in to_file.stdout
    saved = json.loads((tmp_path / "r.json").read_text())
    assert isinstance(doc, list) and len(doc) == 1  # one photo: still a list
    for d in (doc, saved):
        d[0].pop("seconds")
    assert doc == saved and doc[0]["number"] == NUMBER


def test_a_bad_photo_in_a_batch_does_not_lose_the_others(scene, tmp_path):
    path, _, _ = scene
    (tmp_path / "cut.jpg").write_bytes(b"\xff\xd8\xff garbage")
    proc = run_cli("read", path, tmp_path / "cut.jpg", tmp_path / "none.png", "--json", "-")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    good, cut, missing = json.loads(proc.stdout)
    assert good["number"] == NUMBER and "error" not in good
    assert cut["code"] == "bad_image" and "not a readable image" in cut["error"]
    assert missing["code"] == "bad_image" and "no such file" in missing["error"]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and "cut.jpg" in errors[0] and "none.png" in errors[1]


def test_markers_speak_one_vocabulary(scene, tmp_path):
    path, _, _ = scene
    assert_one_line_error(run_cli("read", path, "--markers", "yes"), 2, "--markers")
    assert_one_line_error(
        run_cli("render-scenes", "--out", tmp_path / "s", "--count", 1, "--markers", "auto"), 2, "--markers"
    )
    made = run_cli("render-scenes", "--out", tmp_path / "s", "--count", 1, "--markers", "on", "--seed", 3)
    assert made.returncode == 0, made.stderr
    assert json.loads((tmp_path / "s" / "manifest.json").read_text())["markers"] is True


def test_an_unwritable_json_path_is_a_one_line_error(scene, tmp_path):
    path, _, _ = scene
    (tmp_path / "file").write_text("x")
    proc = run_cli("read", path, "--json", tmp_path / "file" / "r.json")
    assert_one_line_error(proc, 2, "cannot write")


def test_a_model_folder_whose_golden_vectors_fail_is_refused_on_load(tmp_path, scene):
    """Python's readers check a model as the browser does: files by SHA-256, then the golden vectors."""
    import shutil

    from soroban_vision.reader import DEFAULT_MODEL

    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("model.keras", "model.onnx", "contract.json"):
        shutil.copy(DEFAULT_MODEL / name, folder / name)
    doc = json.loads((folder / "contract.json").read_text())
    doc["golden"]["vectors"][3]["earth"][1] += 0.01  # far beyond float32 noise
    (folder / "contract.json").write_text(json.dumps(doc))
    with pytest.raises(UsageError) as e:
        load_column_classifier(folder)
    assert e.value.code == "golden_mismatch" and str(folder) in str(e.value)
    assert_one_line_error(run_cli("read", scene[0], "--model", folder), 2, "golden")
