"""The outline search in the page (web/src/abacus/outline.js): a reader with no frame model and
markers off frames the photo by its outline, as Python does, and reads the same number; a video
(`track`) runs no outline search, in either runtime. Headless Chromium, the shipped column model
on both sides. The search's own candidates are compared in Node (tests/test_outline_parity.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from soroban_vision import abacus
from soroban_vision.frame.track import FrameTrack
from soroban_vision.reader import DEFAULT_MODEL, ColumnReader
from soroban_vision.render.scene import render_scene
from soroban_vision.runners.chromium import BrowserError, ChromiumRunner

pytestmark = pytest.mark.browser

# (number, rods, seed, markers): dev seeds, 7 to 17 rods, with and without markers in the photo
SCENES = [
    (1234567890123, 13, 101, True),
    (4321, 7, 55, True),
    (3141592653589, 17, 61, True),
    (98765432101, 11, 204, False),
]
CORNERS_PX = 0.05  # the same code on the same pixels: float32 sums in another order at most


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> list[tuple]:
    root = tmp_path_factory.mktemp("outline")
    out = []
    for number, rods, seed, markers in SCENES:
        rgb, truth = render_scene(number, rods, seed, markers=markers)
        path = root / f"{seed}.png"
        Image.fromarray(rgb).save(path)
        out.append((path, truth))
    return out


def test_without_markers_or_a_frame_model_the_outline_search_reads_alike(photos):
    """The same method, corners and number in both runtimes; and in a video, no frame in both."""
    reader = ColumnReader.open()
    with ChromiumRunner(DEFAULT_MODEL / "tfjs", "wasm") as browser:
        for path, truth in photos:
            mine = abacus.read_abacus(abacus.load_photo(path), reader, markers="off", frame_model=None)
            got = browser.read_abacus([path], markers="off")[0]
            assert got["method"] == mine.method == "contour", path.name
            assert np.abs(np.subtract(got["corners"], mine.corners)).max() <= CORNERS_PX, path.name
            assert got["text"] == mine.text == str(truth["number"]), path.name
        path = photos[-1][0]
        with pytest.raises(abacus.FrameNotFound) as refused:
            photo = abacus.load_photo(path)
            abacus.read_abacus(photo, reader, markers="off", frame_model=None, track=FrameTrack())
        with pytest.raises(BrowserError) as e:
            browser.read_abacus([path], markers="off", track=True)
    assert (e.value.js_name, e.value.code) == ("FrameNotFound", refused.value.code)
    assert refused.value.code == "no_frame"
