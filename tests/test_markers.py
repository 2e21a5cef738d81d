"""One marker detector behaviour in Python and in the browser library: OpenCV's ArucoDetector,
the same OpenCV version on both sides (cv2 in Python, OpenCV.js in web/src/abacus/opencv.js).

Node runs the browser's marker code (web/src/abacus/markers.js, OpenCV.js wasm) on the very
float64 gray Python reads, on scenes of a renderer setting the detector was never tuned on
(the wide variety: markers down to 9 px, hands, blur; 1280x720 JPEG): the same frame corners to
the last bit, the same method, the same errors, with a full search and a tracked one alike.
No browser: Chromium's side is tests/test_browser_abacus.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import soroban_vision.abacus.markers  # noqa: F401 (the module itself, for monkeypatch below)
from soroban_vision.abacus.markers import DICTIONARY, IDS, UPSCALE, _squares, find_markers
from soroban_vision.abacus.photo import load_photo
from soroban_vision.abacus.spec import SPEC, FrameNotFound
from soroban_vision.render.scene import render_scene
from tests.conftest import run_node

pytestmark = pytest.mark.slow  # renders 1280x720 wide scenes, loads OpenCV.js in Node: about 8 s

ESTIMATE_TOLERANCE_PX = 1e-4  # missing-corner.js against markers._missing_corner (web/README.md)
# (seed, columns, size, variety, JPEG quality or None): four markers at 13.9 px (tiny); four
# where OpenCV's default parameters find three (one blurred: the spec's detector_parameters);
# four at 9.4 px where the image finds two and the second look, twice as large, all four; three
# found (9 px, blurred); none found (9 px, motion blur); classic 1280x720 JPEG; wide 1280x720
# JPEG with a hand moving and lens distortion
SCENES = [
    (356, 13, (640, 480), "wide", None),
    (300, 13, (640, 480), "wide", None),
    (394, 13, (640, 480), "wide", None),
    (304, 13, (640, 480), "wide", 85),
    (306, 13, (640, 480), "wide", None),
    (21, 13, (1280, 720), "classic", 80),
    (9, 9, (1280, 720), "wide", 75),
]

NODE_SCRIPT = """
import { readFileSync } from "node:fs";
import { findMarkers, loadMarkerDetector } from "./src/abacus/markers.js";
const cases = JSON.parse(readFileSync(process.argv[1], "utf8"));
// first, as OpenCV.js is loaded once per page; a failed load is tried again
const { loadOpenCV } = await import("./src/abacus/opencv.js");
const refused = [];
for (const url of ["file:///nowhere/at/all/", ...JSON.parse(process.argv[2])]) {
  try { await loadOpenCV(url); refused.push(null); }
  catch (e) { refused.push({ name: e.name, code: e.code, message: e.message }); }
}
const detector = await loadMarkerDetector();
const attempt = (f) => { try { return f(); } catch (e) { return { error: e.code ?? String(e) }; } };
const out = cases.map(({ file, width, height }) => {
  const b = readFileSync(file);
  const gray = new Float64Array(b.buffer, b.byteOffset, width * height);
  const photo = { gray, width, height };
  const full = attempt(() => findMarkers(photo, detector, { track: false }));
  return { full, tracked: attempt(() => findMarkers(photo, detector, { track: true })) };
});
console.log(JSON.stringify({ out, refused }));
"""


def scene_file(folder: Path, seed: int, columns: int, size, variety: str, quality) -> Path:
    """One of SCENES as a file: a JPEG (as a camera's photo) when `quality` is given, else a PNG."""
    rgb, _ = render_scene(
        int(np.random.default_rng(seed).integers(0, 10**columns)), columns, seed, True, size, variety
    )
    path = folder / f"{variety}-{seed}-{size[0]}.{'png' if quality is None else 'jpg'}"
    Image.fromarray(rgb).save(path, **({} if quality is None else {"quality": quality}))
    return path


# files a page may be pointed at instead of OpenCV 5.0.0's: another version, one built without objdetect
STAND_INS = [
    ("other-version", "General configuration for OpenCV 4.9.0 =====", True),
    ("no-aruco", "General configuration for OpenCV 5.0.0 =====", False),
]


def _stand_in(folder: Path, info: str, aruco: bool) -> str:
    """A folder holding an opencv_js.js that builds a module with this build information."""
    folder.mkdir()
    extra = ", aruco_ArucoDetector: function () {}" if aruco else ""
    (folder / "opencv_js.js").write_text(
        f"export default async () => ({{ getBuildInformation: () => {json.dumps(info)}{extra} }});\n"
    )
    return folder.as_uri() + "/"


def _python(gray: np.ndarray) -> dict:
    try:
        corners, method, warnings = find_markers(gray)
    except FrameNotFound as e:
        return {"error": e.code}
    return {"corners": None if corners is None else corners.tolist(), "method": method, "warnings": warnings}


@pytest.fixture(scope="module")
def grays(tmp_path_factory) -> list[np.ndarray]:
    """The gray Python reads of each of SCENES."""
    work = tmp_path_factory.mktemp("scenes")
    return [load_photo(scene_file(work, *s)).gray for s in SCENES]


@pytest.fixture(scope="module")
def both(tmp_path_factory, grays) -> tuple[list[dict], dict]:
    """(Python's and Node's frames per case, Node's answer to an OpenCV.js it cannot load)."""
    work = tmp_path_factory.mktemp("markers")
    grays = list(grays)
    grays.append(np.concatenate([grays[0], grays[0]], axis=1))  # two sorobans: every id twice
    cases, python = [], []
    for k, gray in enumerate(grays):
        file = work / f"gray{k}.f64"
        file.write_bytes(np.ascontiguousarray(gray, np.float64).tobytes())
        cases.append({"file": str(file), "width": gray.shape[1], "height": gray.shape[0]})
        python.append(_python(gray))
    (work / "cases.json").write_text(json.dumps(cases))
    builds = [_stand_in(work / name, info, aruco) for name, info, aruco in STAND_INS]
    answer = run_node(NODE_SCRIPT, work / "cases.json", json.dumps(builds), timeout=180)
    return [{"python": p, **o} for p, o in zip(python, answer["out"], strict=True)], answer["refused"]


def test_python_uses_the_spec_s_opencv():
    """The browser checks its OpenCV.js build against the spec's version (opencv.js); Python's
    cv2 must be that version too, or the two detectors may differ."""
    assert cv2.__version__ == SPEC["markers"]["opencv"]


def test_the_spec_s_parameters_find_a_blurred_marker_the_defaults_miss(grays):
    """Scene 300's blurred marker is outlined but its bits read wrong with OpenCV's default
    parameters; sampled at the cells' centres, with full error correction, it is found. The
    browser's finding the same four (the test below) shows it sets the same parameters."""
    u8 = np.clip(np.rint(grays[1]), 0, 255).astype(np.uint8)
    dictionary = cv2.aruco.getPredefinedDictionary(DICTIONARY)
    _, ids, _ = cv2.aruco.ArucoDetector(dictionary, cv2.aruco.DetectorParameters()).detectMarkers(u8)
    assert sorted(set(ids.reshape(-1).tolist()) & set(IDS)) == [0, 1, 2]  # marker 3 missed
    corners, method, warnings = find_markers(grays[1])
    assert (method, warnings) == ("markers", [])


def test_a_second_look_twice_as_large_finds_small_markers(grays):
    """Scene 394's 9.4 px markers: two are found in the image, all four in it resized twice as
    large (the spec's markers.upscale), their corners mapped back onto the image's pixels, where
    the frame's true corners are."""
    assert UPSCALE == 2
    u8 = np.clip(np.rint(grays[2]), 0, 255).astype(np.uint8)
    assert len(_squares(u8)) == 2
    corners, method, warnings = find_markers(grays[2])
    assert (method, warnings) == ("markers", [])
    # the two found in the image keep their corners; the other two come from the larger look
    small = {i: q[(i + 2) % 4] for i, q in _squares(u8).items()}
    big = cv2.resize(u8, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR_EXACT)
    mapped = {i: (q[(i + 2) % 4] + 0.5) / 2 - 0.5 for i, q in _squares(big).items()}
    np.testing.assert_array_equal(corners, [small.get(i, mapped[i]) for i in IDS])
    assert np.abs(np.array([mapped[i] - small[i] for i in small])).max() < 1.0  # both looks agree


def test_photos_without_markers_get_no_second_look(grays, monkeypatch):
    """No marker found: markers are not in use, and the image is not looked at again."""
    looks = []
    module = sys.modules["soroban_vision.abacus.markers"]  # the package exports names that shadow it
    real = module._squares
    monkeypatch.setattr(module, "_squares", lambda u8: looks.append(u8.shape) or real(u8))
    assert find_markers(grays[4]) == (None, "", [])
    assert looks == [grays[4].shape]
    looks.clear()
    find_markers(grays[3])  # three small ones found: the second look runs
    assert looks == [grays[3].shape, (2 * grays[3].shape[0], 2 * grays[3].shape[1])]
    looks.clear()
    classic = grays[5].copy()  # 1280x720, markers about 67 px: one painted out, as under a hand
    square = real(np.clip(np.rint(classic), 0, 255).astype(np.uint8))[1]
    x0, y0 = np.floor(square.min(axis=0)).astype(int) - 3
    x1, y1 = np.ceil(square.max(axis=0)).astype(int) + 3
    classic[y0:y1, x0:x1] = 255.0
    assert find_markers(classic)[1] == "markers-3"
    assert looks == [classic.shape]  # large markers: the missing one is not looked for again


def test_the_browser_library_finds_the_same_frame_as_python(both):
    cases, _ = both
    methods = [c["python"].get("method", c["python"].get("error")) for c in cases]
    assert methods == ["markers", "markers", "markers", "markers-3", "", "markers", "markers", "two_sorobans"]
    for k, c in enumerate(cases):
        want = c["python"]
        for search in ("full", "tracked"):
            got = c[search]
            assert {**got, "corners": None} == {**want, "corners": None}, (k, search)  # method, warnings
            if want.get("corners") is None:
                assert got.get("corners") is None, (k, search)
                continue
            diff = np.abs(np.subtract(got["corners"], want["corners"]))
            # marker corners to the last bit; a corner estimated from three markers within 1e-4 px
            # (the least-squares homography is solved by each side's own code)
            estimated = [
                i for i in range(4) if want["method"] == "markers-3" and f"marker {i} " in want["warnings"][0]
            ]
            found = [i for i in range(4) if i not in estimated]
            assert diff[found].max() == 0, (k, search)
            assert diff.max() <= ESTIMATE_TOLERANCE_PX, (k, search)


def test_an_opencv_that_cannot_be_loaded_is_a_clear_error(both):
    """No file there, another OpenCV version, a build without the ArUco detector: one line each,
    SorobanError no_marker_detector; and the right build loads after them."""
    _, refused = both
    assert all(
        r is not None and (r["name"], r["code"]) == ("SorobanError", "no_marker_detector") for r in refused
    )
    missing, other, bare = (r["message"] for r in refused)
    assert "cannot load OpenCV.js, which finds the markers and the frame without them, from" in missing
    assert "is OpenCV 4.9.0; the frame is found with OpenCV 5.0.0, as in Python" in other
    assert "built without the ArUco detector" in bare
    assert not any("\n" in m for m in (missing, other, bare))
