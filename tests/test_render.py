import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soroban_vision.beads import to_beads
from soroban_vision.render import render_column
from soroban_vision.render.drawing import bead_centres, random_layout
from tests.conftest import assert_one_line_error, run_cli

seeds = st.integers(min_value=0, max_value=2**32 - 1)
digits = st.integers(min_value=0, max_value=9)


@settings(max_examples=200)
@given(digits, seeds)
def test_beads_sit_where_the_digit_puts_them(digit, seed):
    rng = np.random.default_rng(seed)
    lay = random_layout(rng, rods=3, pitch=40.0)
    ys = bead_centres(lay, digit, rng)
    h = lay.bead_h
    heaven, earth = to_beads(digit)
    slack = 0.07 * h
    top_free, bottom_free = lay.rail, lay.height - lay.rail
    # heaven: touching the bar when active, resting at the top frame when not
    if heaven:
        assert abs((ys[0] + h / 2) - lay.bar_top) <= slack
    else:
        assert abs((ys[0] - h / 2) - top_free) <= slack
    # earth: the active ones stacked up against the bar, the rest stacked on the bottom frame
    for k, y in enumerate(ys[1:]):
        if k < earth:
            assert abs((y - h / 2) - (lay.bar_bottom + k * h)) <= slack * (k + 1)
        else:
            assert abs((y + h / 2) - (bottom_free - (3 - k) * h)) <= slack * (4 - k)
    # beads never overlap, the bar or each other, and the two earth groups have a visible gap
    edges = sorted((y - h / 2, y + h / 2) for y in ys)
    assert all(a[1] <= b[0] + 1e-9 for a, b in itertools.pairwise(edges))
    assert ys[0] + h / 2 <= lay.bar_top + 1e-9 and ys[1] - h / 2 >= lay.bar_bottom - 1e-9
    if 0 < earth < 4:
        gap = (ys[earth + 1] - h / 2) - (ys[earth] + h / 2)
        assert gap >= 0.7 * h


def test_beads_are_wider_than_tall():
    for seed in range(50):
        lay = random_layout(np.random.default_rng(seed), 3, 40.0)
        assert lay.bead_w > 1.4 * lay.bead_h


@pytest.mark.parametrize("digit", range(10))
def test_a_column_is_64x128_uint8_gray(digit):
    img, params = render_column(digit, seed=99)
    assert img.shape == (128, 64) and img.dtype == np.uint8
    assert params["digit"] == digit and (params["heaven"], params["earth"]) == tuple(to_beads(digit))
    assert img.std() > 5, "an image with no contrast shows no beads"


def test_same_seed_same_bytes_other_seed_other_image():
    a, pa = render_column(4, 1234)
    b, pb = render_column(4, 1234)
    c, _ = render_column(4, 1235)
    assert a.tobytes() == b.tobytes() and pa == pb
    assert a.tobytes() != c.tobytes()


def test_variety_covers_the_documented_ranges():
    params = [render_column(i % 10, i)[1] for i in range(300)]
    scales = [p["view"]["scale"] for p in params]
    rots = [p["view"]["rotation_deg"] for p in params]
    assert min(scales) < 0.88 and max(scales) > 1.12 and min(scales) >= 0.85 and max(scales) <= 1.15
    assert min(rots) < -7 and max(rots) > 7 and max(abs(r) for r in rots) <= 8
    blurs = {p["camera"]["blur"]["kind"] for p in params}
    assert blurs == {"none", "gaussian", "motion"}
    assert any(p["camera"]["jpeg"] for p in params) and any(not p["camera"]["jpeg"] for p in params)
    assert any(p["camera"]["shadow"] for p in params)
    assert len({tuple(p["style"]["bead"]) for p in params}) > 100
    assert {p["style"]["glossy"] for p in params} == {True, False}
    assert any(p["style"]["background_texture"] > 0 for p in params)


def test_beads_always_stand_out_from_the_background():
    from soroban_vision.render.drawing import MIN_BEAD_CONTRAST, _luma, random_style

    for seed in range(500):
        st_ = random_style(np.random.default_rng(seed))
        assert abs(_luma(st_.bead) - _luma(st_.background)) >= MIN_BEAD_CONTRAST


def test_marker_sheet_prints_the_four_frame_markers_at_size(tmp_path):
    """The printable sheet holds ids 0-3 (what frame.find_markers looks for), each black square
    the stated width at the stated dpi, laid out where they go on the soroban."""
    import cv2
    from PIL import Image

    from soroban_vision.render.marker_cards import ARUCO_DICTIONARY

    proc = run_cli("markers", "--out", tmp_path / "sheet.png", "--side-mm", 20, "--dpi", 200)
    assert proc.returncode == 0, proc.stderr
    image = Image.open(tmp_path / "sheet.png")
    assert image.info["dpi"] == pytest.approx((200, 200), abs=0.01)
    gray = np.asarray(image.convert("L"))
    detector = cv2.aruco.ArucoDetector(cv2.aruco.getPredefinedDictionary(ARUCO_DICTIONARY))
    corners, ids, _ = detector.detectMarkers(gray)
    assert ids is not None and sorted(ids.ravel().tolist()) == [0, 1, 2, 3]
    centres = {int(i): c.reshape(4, 2).mean(axis=0) for i, c in zip(ids.ravel(), corners, strict=True)}
    h, w = gray.shape
    assert centres[0][0] < w / 2 < centres[1][0] and centres[3][0] < w / 2 < centres[2][0]
    assert centres[0][1] < h / 2 < centres[3][1] and centres[1][1] < h / 2 < centres[2][1]
    expected_px = 20 / 25.4 * 200
    for c in corners:
        side = np.linalg.norm(np.diff(c.reshape(4, 2), axis=0, append=c.reshape(4, 2)[:1]), axis=1)
        assert side == pytest.approx([expected_px] * 4, rel=0.05)


def test_marker_sheet_bad_input_is_one_line(tmp_path):
    assert_one_line_error(run_cli("markers", "--out", tmp_path / "s.png", "--side-mm", 500), 2, "--side-mm")
    assert_one_line_error(run_cli("markers", "--out", tmp_path / "s.jpg"), 2, ".png")
    (tmp_path / "taken.png").write_bytes(b"mine")
    assert_one_line_error(run_cli("markers", "--out", tmp_path / "taken.png"), 2, "exists")
    assert (tmp_path / "taken.png").read_bytes() == b"mine"
