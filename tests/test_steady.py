"""A column whose digit changes when its crop moves a few pixels (the spec's flags.steady_shifts)
is hidden, never given as a digit, however sure the model says it is: the rule and the shifted
crops alike in Python and in flags.js / crops.js, and a real scene read alike by the shipped
model in Python and in Chromium."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from soroban_vision import abacus
from soroban_vision.abacus.flags import STEADY_BELOW, STEADY_SHIFTS, column_statuses, needs_views
from soroban_vision.abacus.outcomes import outcome
from soroban_vision.abacus.rods import shifted_homography
from soroban_vision.abacus.spec import LOW_CONFIDENCE
from soroban_vision.preprocess import HEIGHT, WIDTH, warp_gray
from tests.test_occlusion import _node

# A wide scene with markers (scene 188 of the development set rendered with seed 5006): the
# model reads column 9, a 6, as a 1 with confidence 0.91, and as another digit 2 px to one side.
# A hand leaves column 3 at 0.58, which hides every column below with_hidden with no shifted
# crops read; at threshold 0.5 column 3 is read, and only the shift test can hide column 9.
SCENE = {"number": 346014216532, "seed": 1392666489, "rod": 9, "digit": 6, "threshold": 0.5}

# (confidences, shares outside the image, threshold, steady)
STEADY_CASES = [
    ([0.99, 0.99, 0.9, 0.99], [0.0] * 4, 0.8, [True, False, True, True]),
    ([0.99, 0.99, 0.99], [0.0, 0.0, 0.5], 0.8, [True, True, False]),
    ([0.5, 0.99, 0.99], [0.0] * 3, 0.8, [False, True, True]),
    ([0.99, 0.99], [0.0] * 2, 0.8, None),
    ([0.85, 0.95, 0.989, 0.99, 0.999, 0.9], [0.0] * 5 + [0.5], 0.8, None),
    ([0.5, 0.85, 0.95, 0.989, 0.99, 0.999, 0.9], [0.0] * 6 + [0.5], 0.8, None),
]

NODE_STEADY = """
import { columnStatuses, needsViews } from "./src/abacus/flags.js";
import { shiftedHomography } from "./src/abacus/crops.js";
const [cases, homs, shifts] = JSON.parse(process.argv[1]);
console.log(JSON.stringify({
  statuses: cases.map(([c, o, t, s]) => columnStatuses(c, o, t, s)),
  views: cases.map(([c, o, t]) => needsViews(c, o, t)),
  shifted: homs.map((h) => shifts.map(([dx, dy]) =>
    Array.from(shiftedHomography(Float64Array.from(h.flat()), dx, dy)))),
}));
"""


def test_an_unsteady_column_is_hidden_alike_in_python_and_js():
    homs = [np.random.default_rng(k).normal(size=(3, 3)) for k in range(3)]
    shifts = [[2, 0], [-2, 0], [0, 3], [1.5, -0.5]]
    theirs = _node(NODE_STEADY, [STEADY_CASES, [h.tolist() for h in homs], shifts])
    ours = [column_statuses(c, o, t, s) for c, o, t, s in STEADY_CASES]
    assert theirs["statuses"] == ours
    r, h, o = "read", "hidden", "out_of_frame"
    assert ours[0] == [r, h, h, r]  # unsteady is hidden, and a 0.9 in that reading must be surer
    assert ours[1] == [r, r, o]  # out of frame stays out of frame
    assert ours[2] == [h, r, r]  # hidden by its confidence either way
    assert ours[3] == [r, r]  # steady unless said
    views = [needs_views(c, os, t) for c, os, t, _ in STEADY_CASES]
    assert theirs["views"] == views
    assert STEADY_BELOW == 0.99
    # only what could be read, and below steady_below
    assert views[4] == [True, True, True, False, False, False]
    # a column hidden by its confidence: the others below with_hidden are hidden unviewed
    assert views[5] == [False] * 7
    for hom, got in zip(homs, theirs["shifted"], strict=True):
        for (dx, dy), js in zip(shifts, got, strict=True):
            mine = shifted_homography(hom, dx, dy)
            assert js == mine.ravel().tolist()  # bit for bit
            # the shifted crop's pixel (x, y) is the crop's (x + dx, y + dy)
            p = mine @ [5.0, 7.0, 1.0]
            q = hom @ [5.0 + dx, 7.0 + dy, 1.0]
            np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-12)
    assert STEADY_SHIFTS and all(len(s) == 2 for s in STEADY_SHIFTS)


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> dict:
    from soroban_vision.render.scene import render_scene

    rgb, truth = render_scene(SCENE["number"], 13, SCENE["seed"], True, (640, 480), "wide")
    path = tmp_path_factory.mktemp("steady") / "scene.png"
    Image.fromarray(rgb).save(path)
    return {"path": path, "truth": truth}


@pytest.fixture(scope="module")
def python_reader():
    from soroban_vision.reader import ColumnReader

    return ColumnReader.open()


def _shifted_digits(photo, quad, reader) -> list[int]:
    """The model's digits of a column's crop moved by each of STEADY_SHIFTS, cut here from the
    reading's quad (not by the reader's own code)."""
    rect = np.float32([[0, 0], [WIDTH, 0], [WIDTH, HEIGHT], [0, HEIGHT]])
    hom = cv2.getPerspectiveTransform(rect, np.float32(photo.from_photo(np.asarray(quad)))).astype(np.float64)
    crops = []
    for dx, dy in STEADY_SHIFTS:
        moved = hom @ np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], np.float64)
        crops.append((warp_gray(photo.gray, moved, WIDTH, HEIGHT) / 255.0).astype(np.float32)[..., None])
    return [r["digit"] for r in reader.read_inputs(np.stack(crops))]


@pytest.mark.slow
def test_a_digit_a_small_shift_changes_is_hidden_not_given(scene, python_reader):
    """The scene's column 9 reads as a wrong digit above the flag threshold; its crop moved 2 px
    reads otherwise, so it is hidden: no number, the column marked, the count doubted, and the
    scene is no silent wrong number. At the default threshold the hand's column hides it first,
    with no shifted crops read."""
    truth, rod = scene["truth"], SCENE["rod"]
    assert truth["digits"][rod] == SCENE["digit"]  # the scene is what we say
    photo = abacus.load_photo(scene["path"])
    default = abacus.read_abacus(photo, python_reader)
    assert default.columns[3].status == "hidden" and default.columns[3].confidence < LOW_CONFIDENCE
    assert default.columns[rod].status == "hidden" and default.columns[rod].steady  # hidden unviewed
    reading = abacus.read_abacus(photo, python_reader, threshold=SCENE["threshold"])
    assert len(reading.columns) == 13, reading.text
    assert all(c.confidence >= SCENE["threshold"] for c in reading.columns)  # no column hidden by it
    column = reading.columns[rod]
    guess = 5 * int(column.heaven["active"]) + int(column.earth["count"])
    assert column.confidence >= LOW_CONFIDENCE and guess != SCENE["digit"]  # sure, and wrong
    assert any(d != guess for d in _shifted_digits(photo, column.quad, python_reader))
    assert not column.steady and column.status == "hidden" and column.digit is None
    assert reading.number is None and reading.digits[rod] is None and rod in reading.flagged_columns
    assert reading.rods.uncertain
    item = {**truth, "number": SCENE["number"]}
    assert not outcome(item, reading)["silent_wrong"]
    # the read columns looked at are the ones whose shifted crops agree
    for c in reading.columns:
        if c.status == "read" and c.confidence < STEADY_BELOW:
            assert c.steady and set(_shifted_digits(photo, c.quad, python_reader)) == {c.digit}


@pytest.mark.slow
@pytest.mark.browser
def test_the_browser_hides_the_same_unsteady_column(scene, python_reader):
    """Given Python's corners, Chromium (wasm) cuts the same shifted crops and hides the same
    column: the same statuses, steady flags and text."""
    from soroban_vision.reader import DEFAULT_MODEL
    from soroban_vision.runners.chromium import ChromiumRunner

    photo = abacus.load_photo(scene["path"])
    found = abacus.read_abacus(photo, python_reader)
    t = SCENE["threshold"]
    corners = np.asarray(found.corners)
    want = abacus.read_abacus(photo, python_reader, markers="off", corners=corners, threshold=t)
    assert not want.columns[SCENE["rod"]].steady  # the same frame, the same unsteady column
    with ChromiumRunner(DEFAULT_MODEL / "tfjs", "wasm") as browser:
        got = browser.read_abacus([scene["path"]], markers="off", corners=found.corners, threshold=t)[0]
    assert [c["steady"] for c in got["columns"]] == [c.steady for c in want.columns]
    assert [c["status"] for c in got["columns"]] == [c.status for c in want.columns]
    assert got["text"] == want.text and got["number"] == "null"
    assert got["warnings"] == want.warnings
