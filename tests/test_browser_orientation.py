"""EXIF orientation in Chromium against Python: the same upright pixels from the same file.

The page reads each file the way the library does (an <img>, or an ImageBitmap of the file,
through web/src/classifier/pixels.js) and hands back its RGBA; Python decodes the file with
preprocess.py. The eight orientations in JPEG and in PNG (eXIf), and the files where "apply
the EXIF orientation" is not what a browser does (these measured what preprocess.exif_orientation
states). Then column crops and whole photos stored turned: the same input, digit, number.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest
from PIL import Image, TiffImagePlugin

from soroban_vision import api
from soroban_vision.preprocess import load_rgba_or_gray, preprocess_file
from soroban_vision.reader import DEFAULT_MODEL, ColumnReader
from soroban_vision.runners.chromium import ChromiumRunner
from tests.conftest import reporter
from tests.test_images import as_rgba, quirk_files, save_turned, upright_picture

pytestmark = [pytest.mark.slow, pytest.mark.browser]

KINDS = ["image", "bitmap"]  # an <img> (the library re-decodes it) and createImageBitmap(blob)
CORNER_TOLERANCE_PX = 1.0  # one marker detector on both sides (OpenCV 5.0): corners agree


report = reporter("browser orientation")


@pytest.fixture(scope="module")
def browser():
    with ChromiumRunner(DEFAULT_MODEL / "tfjs", "wasm") as runner:
        yield runner


def browser_pixels(runner: ChromiumRunner, path, kind: str) -> np.ndarray:
    got = runner.call("pixels", runner.url_for(path), kind)
    return np.frombuffer(base64.b64decode(got["b64"]), np.uint8).reshape(got["height"], got["width"], 4)


def assert_same_pixels(runner: ChromiumRunner, path, kinds=KINDS) -> None:
    ours = as_rgba(load_rgba_or_gray(path))
    for kind in kinds:
        theirs = browser_pixels(runner, path, kind)
        assert theirs.shape == ours.shape, (path.name, kind, theirs.shape, ours.shape)
        assert np.array_equal(theirs, ours), (path.name, kind, int(np.abs(theirs.astype(int) - ours).max()))


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_the_eight_orientations_give_the_same_pixels(browser, tmp_path, suffix):
    upright = upright_picture()
    for orientation in range(1, 9):
        path = save_turned(upright, tmp_path / f"o{orientation}{suffix}", orientation)
        assert_same_pixels(browser, path)
    report(f"8 EXIF orientations, {suffix}, <img> and ImageBitmap", "the same pixels as Python, bit for bit")


def test_where_chromium_does_not_turn_a_file_python_does_not_either(browser, tmp_path):
    """What preprocess.exif_orientation says Chromium does, Chromium does: JPEG's first APP1
    Exif, PNG's eXIf before IDAT, one SHORT of 1-8; not XMP, text chunks, eXIf after IDAT, WebP."""
    cases = quirk_files(tmp_path)
    for path, _ in cases.values():
        assert_same_pixels(browser, path)
    turned = sorted(name for name, (_, o) in cases.items() if o != 1)
    report(f"{len(cases)} files with orientation quirks", f"same pixels; turned by both: {', '.join(turned)}")


def test_a_jpeg_with_a_density_correcting_resolution_is_read_whole(browser, tmp_path):
    """A JPEG whose EXIF says 144 dpi and half its pixel size: the <img>'s naturalWidth is half
    the pixels (Chromium's density-corrected size); the library reads every pixel, as Python."""
    picture = upright_picture(96, 160)
    e = Image.Exif()
    e[0x0112] = 6
    e[0x011A] = e[0x011B] = TiffImagePlugin.IFDRational(144, 1)
    e[0x0128] = 2  # inches
    e.get_ifd(0x8769).update({0xA002: 48, 0xA003: 80})  # PixelX/YDimension: half the stored pixels
    path = tmp_path / "retina.jpg"
    Image.fromarray(np.ascontiguousarray(np.rot90(picture, 1))).save(path, exif=e, quality=95)
    natural = browser.call("naturalSize", browser.url_for(path))
    assert natural == [
        80,
        48,
    ]  # half the upright 160x96: what the page itself reports, the reason for the fix
    assert_same_pixels(browser, path)
    report(
        "144-dpi JPEG: <img> natural size vs pixels read",
        f"{natural} vs {list(load_rgba_or_gray(path).shape[1::-1])}",
    )


def test_turned_column_crops_give_the_same_input_and_digit(browser, tmp_path):
    from soroban_vision.render.column import render_column

    files = []
    for digit, seed in ((7, 5), (2, 8), (9, 3)):
        gray, _ = render_column(digit, seed)
        files += [
            save_turned(gray, tmp_path / f"d{digit}-o{o}{s}", o) for o in (6, 8, 3) for s in (".jpg", ".png")
        ]
    ours = np.stack([preprocess_file(p) for p in files])
    theirs = browser.preprocess(files)
    diff = float(np.abs(theirs - ours).max())
    assert diff <= 1e-6
    digits = [r["digit"] for r in browser.classify(files)]
    assert digits == [r["digit"] for r in ColumnReader.open().classify(files)] == [7] * 6 + [2] * 6 + [9] * 6
    report(
        f"{len(files)} turned column crops (JPEG, PNG): model input max |diff|", f"{diff:.3g}, digits agree"
    )


def test_a_turned_photo_reads_the_same_with_upright_corners(browser, tmp_path):
    from soroban_vision.render.scene import render_scene

    rgb, truth = render_scene(4321, 7, 55, markers=True)
    reader = ColumnReader.open()
    worst = 0.0
    for orientation in (6, 3, 8):
        for suffix in (".png", ".jpg"):
            path = save_turned(rgb, tmp_path / f"scene-o{orientation}{suffix}", orientation)
            want = api.read_abacus(path, classifier=reader)
            got = browser.read_abacus([path])[0]
            assert got["text"] == str(want.number) == str(truth["number"]), path.name
            diff = float(np.abs(np.subtract(got["corners"], want.corners)).max())
            worst = max(worst, diff)
            assert diff <= CORNER_TOLERANCE_PX, path.name
            # the same corners given: the same number and columns
            given = browser.read_abacus([path], markers="off", corners=want.corners)[0]
            assert given["text"] == str(want.number) and given["method"] == "corners"
    report("photos stored turned (6, 3, 8; PNG, JPEG): corners, browser vs Python", f"max {worst:.2f} px")
