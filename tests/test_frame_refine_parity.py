"""The frame model's corners are snapped to the frame's edges by the same code in Python
(frame/refine.py on abacus/edges.py and abacus/score.py) and in the browser (web/src/frame/
refine.js on web/src/abacus/edges.js and score.js), tied by the abacus spec's frame_search
numbers: given the same gray and the same rough corners, both find the same corners, and score
the same quads alike. Node runs the browser's modules with OpenCV.js, the same OpenCV as
Python's. No browser, no TensorFlow: the rough corners are the ground truth's, moved."""

from __future__ import annotations

import json

import numpy as np
import pytest

from soroban_vision.abacus.edges import smoothed
from soroban_vision.abacus.photo import prepare
from soroban_vision.abacus.score import soroban_score
from soroban_vision.frame.refine import polished, refine_corners
from soroban_vision.render.scene import render_scene
from tests.conftest import run_node

SAME_PX = 0.01  # float32 sums in a different order move a fitted corner by far less than this

NODE_SCRIPT = """
import fs from "node:fs";
const { loadOpenCV } = await import("./src/abacus/opencv.js");
const { SmoothGray } = await import("./src/abacus/smooth-gray.js");
const { sorobanScore } = await import("./src/abacus/score.js");
const { polished, refineCorners } = await import("./src/frame/refine.js");
const cv = await loadOpenCV();
const cases = JSON.parse(fs.readFileSync(process.argv[1]));
const out = cases.map((c) => {
  const bytes = fs.readFileSync(c.gray);
  const gray = new SmoothGray(cv, new Float64Array(bytes.buffer, bytes.byteOffset, c.w * c.h), c.w, c.h);
  try {
    return {
      rough: c.rough,
      refined: refineCorners(gray, c.rough),
      polished: polished(gray, c.rough),
      score: sorobanScore(gray, c.truth),
    };
  } finally {
    gray.delete();
  }
});
console.log(JSON.stringify(out));
"""

# (number, columns, seed, variety, how far the rough corners are from the truth in pixels): dev
# seeds, whatever they render
SCENES = [
    (1234567890123, 13, 401, "wide", 3.0),
    (31415926, 9, 402, "wide", 6.0),
    (27182818284590, 17, 403, "wide", 2.0),
    (1618033988749, 13, 404, "classic", 4.0),
    (5772156649, 11, 405, "classic", 8.0),
]


@pytest.fixture(scope="module")
def both(tmp_path_factory) -> list[tuple[dict, dict]]:
    root = tmp_path_factory.mktemp("refine")
    cases, python = [], []
    for i, (number, columns, seed, variety, move) in enumerate(SCENES):
        rgb, truth = render_scene(number, columns, seed, markers=False, variety=variety)
        gray = prepare(rgb).gray
        rng = np.random.default_rng([seed, 7])
        corners = np.array(truth["corners"], np.float64)
        rough = corners + rng.uniform(-move, move, corners.shape)
        (root / f"{i}.f64").write_bytes(np.ascontiguousarray(gray, np.float64).tobytes())
        h, w = gray.shape
        cases.append(
            {
                "gray": str(root / f"{i}.f64"),
                "w": w,
                "h": h,
                "rough": rough.tolist(),
                "truth": truth["corners"],
            }
        )
        img = smoothed(gray)
        python.append(
            {
                "refined": refine_corners(img, rough),
                "polished": polished(img, rough),
                "score": soroban_score(img, corners),
                "truth": corners,
            }
        )
    (root / "cases.json").write_text(json.dumps(cases))
    return list(zip(python, run_node(NODE_SCRIPT, root / "cases.json", timeout=120), strict=True))


def test_the_browser_snaps_the_frame_s_corners_where_python_does(both):
    for mine, theirs in both:
        for step in ("refined", "polished"):
            diff = np.abs(np.array(theirs[step]) - mine[step]).max()
            assert diff <= SAME_PX, (step, diff)


def test_the_browser_scores_a_frame_as_python_does(both):
    for mine, theirs in both:
        assert theirs["score"] == pytest.approx(mine["score"], abs=1e-5)


def test_snapping_moves_rough_corners_onto_the_frame(both):
    """Not a parity test: snapped corners are nearer the frame's true corners than the rough ones
    were, which a port that did nothing would not be."""
    rough, snapped = [], []
    for mine, theirs in both:
        rough.append(np.linalg.norm(np.array(theirs["rough"]) - mine["truth"], axis=1).max())
        snapped.append(np.linalg.norm(mine["refined"] - mine["truth"], axis=1).max())
    assert np.median(snapped) <= 1.0 < np.median(rough), (snapped, rough)
