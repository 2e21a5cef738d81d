"""Image files in: upright by their EXIF orientation as Chromium decodes them, bounded in pixels
and in memory, and every bad file one line. (Chromium's side: test_browser_orientation.py.)"""

from __future__ import annotations

import io
import math
import struct
import subprocess
import sys
import textwrap
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from soroban_vision import abacus, api
from soroban_vision.errors import UsageError
from soroban_vision.preprocess import (
    MAX_MEGAPIXELS,
    ImageError,
    load_rgba_or_gray,
    pil_to_array,
    preprocess,
    preprocess_file,
    resize_bilinear,
    to_gray,
)
from tests.conftest import assert_one_line_error, run_cli

# --------------------------------------------------------------------------- making files

# EXIF orientation -> the stored pixels of an upright image (what a camera writes); written
# out here, independently of preprocess.UPRIGHT, which turns them back
STORED = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, 1),  # shown turned clockwise, so stored turned anticlockwise
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, -1),
}


def upright_picture(h: int = 48, w: int = 80) -> np.ndarray:
    """RGB with no symmetry: every turn and mirror of it is a different picture."""
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x * 7 + y * 3) % 256], -1).astype(np.uint8)
    rgb[:6, :10] = [255, 255, 255]
    return rgb


def exif(orientation: int) -> Image.Exif:
    e = Image.Exif()
    e[0x0112] = orientation
    return e


def save_turned(upright: np.ndarray, path: Path, orientation: int) -> Path:
    """`upright` stored as a camera turned by `orientation` stores it, with the EXIF tag."""
    im = Image.fromarray(np.ascontiguousarray(STORED[orientation](upright)))
    options = {"quality": 95} if path.suffix == ".jpg" else {}
    im.save(path, exif=exif(orientation), **options)
    return path


def tiff(entries, endian: str = "<") -> bytes:
    """A TIFF header and IFD0 holding `entries` (tag, type, count, 4 value bytes)."""
    out = (b"II" if endian == "<" else b"MM") + struct.pack(endian + "HIH", 42, 8, len(entries))
    for tag, kind, count, value in entries:
        out += struct.pack(endian + "HHI", tag, kind, count) + value
    return out + b"\0\0\0\0"


def short(value: int, endian: str = "<") -> bytes:
    return struct.pack(endian + "HH", value, 0)


def orientation_tiff(value: int, endian: str = "<") -> bytes:
    return tiff([(0x0112, 3, 1, short(value, endian))], endian)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with(pixels: np.ndarray, before=(), after=()) -> bytes:
    """A PNG of `pixels` with extra chunks before and after its image data."""
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    raw = buf.getvalue()
    ihdr_end = 8 + 12 + struct.unpack(">I", raw[8:12])[0]
    extra = lambda chunks: b"".join(png_chunk(k, d) for k, d in chunks)  # noqa: E731
    return raw[:ihdr_end] + extra(before) + raw[ihdr_end:-12] + extra(after) + raw[-12:]


def jpeg_with(pixels: np.ndarray, app1=()) -> bytes:
    """A JPEG of `pixels` with these APP1 segments first."""
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=95)
    raw = buf.getvalue()
    return raw[:2] + b"".join(b"\xff\xe1" + struct.pack(">H", len(p) + 2) + p for p in app1) + raw[2:]


XMP = (
    b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF "
    b"xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description "
    b"xmlns:tiff='http://ns.adobe.com/tiff/1.0/' tiff:Orientation='6'/></rdf:RDF></x:xmpmeta>"
)


def quirk_files(folder: Path) -> dict[str, tuple[Path, int]]:
    """Files where "apply the EXIF orientation" is not the whole story, with the orientation
    Chromium 156 applies to each (measured; test_browser_orientation.py holds it). Pillow's
    exif_transpose turns most of the files marked 1."""
    stored = upright_picture()
    exif6 = b"Exif\0\0" + orientation_tiff(6)
    raw_profile = f"\nexif\n{len(exif6):8d}\n{exif6.hex()}\n".encode()
    webp = io.BytesIO()
    Image.fromarray(stored).save(webp, "WEBP", lossless=True, exif=exif(6))
    cases = {
        "jpeg-big-endian.jpg": (jpeg_with(stored, [b"Exif\0\0" + orientation_tiff(6, ">")]), 6),
        "jpeg-first-of-two.jpg": (jpeg_with(stored, [exif6, b"Exif\0\0" + orientation_tiff(3)]), 6),
        "jpeg-orientation-0.jpg": (jpeg_with(stored, [b"Exif\0\0" + orientation_tiff(0)]), 1),
        "jpeg-orientation-9.jpg": (jpeg_with(stored, [b"Exif\0\0" + orientation_tiff(9)]), 1),
        "jpeg-long.jpg": (jpeg_with(stored, [b"Exif\0\0" + tiff([(0x0112, 4, 1, struct.pack("<I", 6))])]), 1),
        "jpeg-xmp-only.jpg": (jpeg_with(stored, [XMP]), 1),
        "png-exif-big-endian.png": (png_with(stored, before=[(b"eXIf", orientation_tiff(6, ">"))]), 6),
        "png-exif-after-idat.png": (png_with(stored, after=[(b"eXIf", orientation_tiff(6))]), 1),
        "png-exif-with-header.png": (png_with(stored, before=[(b"eXIf", exif6)]), 1),
        "png-raw-profile.png": (
            png_with(stored, before=[(b"tEXt", b"Raw profile type exif\0" + raw_profile)]),
            1,
        ),
        "webp-exif.webp": (webp.getvalue(), 1),
    }
    out = {}
    for name, (data, orientation) in cases.items():
        (folder / name).write_bytes(data)
        out[name] = (folder / name, orientation)
    return out


def bomb_png(path: Path, width: int = 100_000, height: int = 100_000) -> Path:
    """A PNG whose header claims width x height, with a few bytes of image data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\0" * 1000)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")
    )
    return path


def bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Each bad input and a word its one error line must hold."""
    good = io.BytesIO()
    Image.fromarray(upright_picture(200, 300)).save(good, "PNG")
    jpeg = jpeg_with(upright_picture(200, 300))
    (folder / "empty.png").write_bytes(b"")
    (folder / "cut.png").write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    (folder / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    return {
        "over the pixel limit": (bomb_png(folder / "bomb.png"), "megapixel limit"),
        "zero bytes": (folder / "empty.png", "not a readable image"),
        "truncated PNG": (folder / "cut.png", "truncated"),
        "truncated JPEG": (folder / "cut.jpg", "truncated"),
    }


def as_rgba(pixels: np.ndarray) -> np.ndarray:
    a = np.asarray(pixels)
    if a.ndim == 2:
        a = np.stack([a] * 3, -1)
    if a.shape[2] == 3:
        a = np.dstack([a, np.full(a.shape[:2], 255, np.uint8)])
    return a


# --------------------------------------------------------------------------- orientation


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_files_are_read_upright(tmp_path, orientation, suffix):
    upright = upright_picture()
    path = save_turned(upright, tmp_path / f"o{orientation}{suffix}", orientation)
    got = load_rgba_or_gray(path)
    with Image.open(path) as im:  # Pillow's own turn of the same decoded pixels
        reference = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    assert got.shape == upright.shape and np.array_equal(got, reference)
    if suffix == ".png":
        assert np.array_equal(got, upright)
    else:  # and it is the upright picture, give or take the JPEG's loss, and no turn of it
        turns = {o: turn(upright) for o, turn in STORED.items() if turn(upright).shape == got.shape}
        error = {o: np.abs(got.astype(int) - t).mean() for o, t in turns.items()}
        assert min(error, key=error.get) == 1 and error[1] < 8, error
    np.testing.assert_array_equal(preprocess_file(path), preprocess(reference))
    with Image.open(path) as im:  # a PIL image straight from the file: the same
        assert np.array_equal(pil_to_array(im), reference)


def test_where_browsers_do_not_turn_a_file_python_does_not_either(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no warning escapes
        for name, (path, orientation) in quirk_files(tmp_path).items():
            with Image.open(path) as im:
                stored = np.asarray(im.convert("RGB"))
            want = np.rot90(stored, -1) if orientation == 6 else stored  # 6: shown turned clockwise
            assert np.array_equal(load_rgba_or_gray(path), want), name


def test_the_spec_states_the_orientation_and_old_contracts_mean_the_same():
    from soroban_vision.preprocess import SPEC

    assert SPEC["orientation"] == "exif"
    assert SPEC["version"] == 1  # nothing else bumped: a contract without the field means the same


# --------------------------------------------------------------------------- the pixel limit


def test_a_file_over_the_pixel_limit_is_refused_from_its_header(tmp_path):
    bomb = bomb_png(tmp_path / "bomb.png")
    big = bomb_png(tmp_path / "big.png", 9000, 9000)  # under Pillow's own limit: a PIL image of it opens
    before = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for read, path in (
            (load_rgba_or_gray, bomb),
            (preprocess_file, bomb),
            (pil_to_array, Image.open(big)),
        ):
            with pytest.raises(ImageError) as e:
                read(path)
            assert e.value.code == "too_many_pixels" and "\n" not in str(e.value)
            assert f"{MAX_MEGAPIXELS}-megapixel limit" in str(e.value)
        with pytest.raises(UsageError) as e:
            abacus.load_photo(bomb)
        assert e.value.code == "too_many_pixels" and "100000x100000" in str(e.value)
        with pytest.raises(UsageError) as e:
            api.read_abacus(bomb)  # refused before any model is loaded
        assert e.value.code == "too_many_pixels"
    assert before == Image.MAX_IMAGE_PIXELS


def test_the_limit_can_be_raised_and_replaces_pillows(tmp_path, monkeypatch):
    path = tmp_path / "photo.png"
    Image.fromarray(upright_picture(480, 640)).save(path)  # 0.31 megapixels
    with pytest.raises(ImageError, match=r"0\.3-megapixel limit"):
        load_rgba_or_gray(path, max_megapixels=0.3)
    assert load_rgba_or_gray(path, max_megapixels=0.31).shape == (480, 640, 3)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow's own check, far lower
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_rgba_or_gray(path).shape == (480, 640, 3)
    assert Image.MAX_IMAGE_PIXELS == 1000  # put back


@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf, "10", True, None])
def test_a_bad_pixel_limit_is_a_usage_error(tmp_path, value):
    path = tmp_path / "photo.png"
    Image.fromarray(upright_picture()).save(path)
    with pytest.raises(UsageError) as e:
        load_rgba_or_gray(path, max_megapixels=value)
    assert e.value.code == "bad_max_megapixels"


def test_bad_files_are_one_line_image_errors(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for case, (path, word) in bad_files(tmp_path).items():
            with pytest.raises(ImageError) as e:
                load_rgba_or_gray(path)
            assert word in str(e.value) and "\n" not in str(e.value), case


# --------------------------------------------------------------------------- the same bits, less memory


def whole_photo_reference(pixels: np.ndarray):
    """abacus.prepare as it was written before it went block by block: the whole photo at once."""
    h, w = pixels.shape[:2]
    factor = int(np.ceil(max(h, w) / abacus.WORK_SIDE))
    h2, w2 = h // factor, w // factor
    a = pixels[: h2 * factor, : w2 * factor]
    gray = to_gray(a).reshape(h2, factor, w2, factor).mean(axis=(1, 3)) if factor > 1 else to_gray(a)
    if pixels.ndim == 2 or (
        np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 1], pixels[..., 2])
    ):
        return gray, factor, None
    c = a.reshape(h2, factor, w2, factor, a.shape[2]).mean(axis=(1, 3), dtype=np.float32)
    rgb = c[..., :3]
    if c.shape[2] == 4:
        rgb = rgb * (c[..., 3:4] / 255.0) + 255.0 * (1.0 - c[..., 3:4] / 255.0)
    return gray, factor, rgb


@pytest.mark.parametrize(
    "shape", [(480, 640, 3), (480, 640, 4), (1700, 900), (3001, 4003, 3), (2000, 3300, 4), (1601, 1601, 3)]
)
def test_the_photo_is_reduced_block_by_block_to_the_same_bits(shape):
    rng = np.random.default_rng(sum(shape))
    pixels = rng.integers(0, 256, shape, dtype=np.uint8)
    if len(shape) == 3 and shape[2] == 4:
        pixels[..., 3] = np.where(rng.random(shape[:2]) < 0.5, 255, pixels[..., 3])
    gray, factor, colour = whole_photo_reference(pixels)
    photo = abacus.prepare(pixels)
    assert photo.factor == factor and np.array_equal(photo.gray, gray)
    assert np.array_equal(photo.colour, colour)
    # a turned view (a file with an EXIF orientation) gives the bits of the upright copy,
    # the pixels the browser has
    turned = pixels[::-1].swapaxes(0, 1)
    gray, _, colour = whole_photo_reference(np.ascontiguousarray(turned))
    photo = abacus.prepare(turned)
    assert np.array_equal(photo.gray, gray) and np.array_equal(photo.colour, colour)


def test_gray_photos_and_gray_saved_as_rgb_have_no_colour():
    gray = np.random.default_rng(0).integers(0, 256, (1701, 900), dtype=np.uint8)  # factor 2: drops a row
    assert abacus.prepare(gray).colour is None
    assert abacus.prepare(np.stack([gray] * 3, -1)).colour is None
    rgb = np.stack([gray] * 3, -1)
    rgb[-1, -1, 2] ^= 1  # one pixel in the last row, in the part the reduction drops: still colour
    assert abacus.prepare(rgb).colour is not None


@pytest.mark.parametrize(
    "shape", [(128, 64), (256, 128), (100, 37), (7, 5), (3000, 17), (2, 2000), (900, 700, 4)]
)
def test_preprocessing_reads_only_the_pixels_it_needs_with_the_same_bits(shape):
    pixels = np.random.default_rng(len(shape)).integers(0, 256, shape, dtype=np.uint8)
    for a in (pixels, pixels[::-1].swapaxes(0, 1)):
        want = (resize_bilinear(to_gray(a)) / 255.0).astype(np.float32)[..., None]
        np.testing.assert_array_equal(preprocess(a), want)


def peak_bytes_per_pixel(code: str, path: Path, pixels: int) -> float:
    """Peak RSS growth of `code` run on `path` in a fresh process, after a warm-up on a small
    image, per input pixel. Linux: the peak (VmHWM) is reset through /proc/self/clear_refs;
    ru_maxrss would start from this process's own peak, inherited over fork."""
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from soroban_vision.abacus import load_photo
        from soroban_vision.preprocess import preprocess_file
        def kb(field):
            return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(field + ":"))
        warm = sys.argv[2]
        {code.format(path="warm")}
        Path("/proc/self/clear_refs").write_text("5")
        base = kb("VmRSS")
        path = sys.argv[1]
        {code.format(path="path")}
        print((kb("VmHWM") - base) * 1024)
        """
    )
    warm = path.with_name("warm.jpg")
    Image.fromarray(upright_picture(480, 640)).save(warm)
    out = subprocess.run([sys.executable, "-c", script, str(path), str(warm)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split()[-1]) / pixels


@pytest.mark.slow
def test_a_big_photo_costs_under_ten_bytes_a_pixel(tmp_path):
    """12 megapixels, colour JPEG: decoded in uint8, reduced block by block (was ~90 bytes)."""
    import cv2

    from soroban_vision.render.scene import render_scene

    rgb, _ = render_scene(246813579, 13, 21, markers=True)
    big = cv2.resize(rgb, (4000, 3000), interpolation=cv2.INTER_LINEAR)
    path = tmp_path / "big.jpg"
    Image.fromarray(big).save(path, quality=90)
    for code in ("load_photo({path})", "preprocess_file({path})"):
        per_pixel = peak_bytes_per_pixel(code, path, 4000 * 3000)
        print(f"\n[images] peak bytes per pixel, {code.format(path='12 MP JPEG')}: {per_pixel:.1f}")
        assert per_pixel < 10, code


# --------------------------------------------------------------------------- as a user sees it


@pytest.mark.slow
@pytest.mark.parametrize("command", ["classify", "read"])
def test_bad_files_are_one_line_errors_in_the_cli(tmp_path, command):
    for case, (path, word) in bad_files(tmp_path).items():
        proc = run_cli(command, path)
        assert_one_line_error(proc, 2, word)
        assert "warning" not in proc.stderr.lower() and "DecompressionBomb" not in proc.stderr, (
            case,
            proc.stderr,
        )


@pytest.mark.slow
def test_a_turned_column_crop_reads_as_its_upright_digit(tmp_path):
    """The issue's crop: a 7 saved by a phone (stored turned, EXIF orientation 6) read as a 2."""
    from soroban_vision.render.column import render_column

    gray, _ = render_column(7, 5)
    files = [save_turned(gray, tmp_path / f"seven-{o}{s}", o) for o in (6, 3, 8) for s in (".jpg", ".png")]
    proc = run_cli("classify", *files, "--json", "-")
    assert proc.returncode == 0, proc.stderr
    import json

    assert [r["digit"] for r in json.loads(proc.stdout)] == [7] * len(files)


@pytest.mark.slow
def test_a_turned_photo_is_read_with_upright_corners(tmp_path):
    from soroban_vision.reader import ColumnReader
    from soroban_vision.render.scene import render_scene

    rgb, truth = render_scene(4321, 7, 55, markers=True)
    reader = ColumnReader.open()
    want = api.read_abacus(rgb, classifier=reader)
    width = np.linalg.norm(np.subtract(truth["corners"][1], truth["corners"][0]))
    for orientation in (6, 3, 5):
        for suffix in (".png", ".jpg"):
            path = save_turned(rgb, tmp_path / f"scene-{orientation}{suffix}", orientation)
            got = api.read_abacus(path, classifier=reader)
            assert got.number == truth["number"], path.name
            assert np.abs(np.subtract(got.corners, truth["corners"])).max() < 0.015 * width, path.name
            if suffix == ".png":  # the very pixels of the upright photo: the very same reading
                assert got.corners == want.corners and got.confidences == want.confidences


@pytest.mark.slow
def test_the_pixel_limit_in_the_cli(tmp_path):
    black = tmp_path / "black.png"
    Image.fromarray(np.zeros((10_000, 10_000), np.uint8)).save(black)  # 100 megapixels, ~100 KB
    for command in ("classify", "read"):
        assert_one_line_error(run_cli(command, black), 2, "100.0 megapixels", "--max-megapixels")
    proc = run_cli("classify", black, "--max-megapixels", 100)
    assert proc.returncode == 0 and "black.png:" in proc.stdout
    assert proc.stderr.strip() == "", proc.stderr  # no Pillow DecompressionBombWarning
    small = tmp_path / "small.png"
    Image.fromarray(upright_picture(480, 640)).save(small)
    assert_one_line_error(run_cli("read", small, "--max-megapixels", 0.1), 2, "0.1-megapixel limit")
    assert_one_line_error(run_cli("classify", small, "--max-megapixels", -1), 2, "--max-megapixels")


@pytest.mark.slow
def test_the_api_takes_the_pixel_limit(tmp_path):
    from soroban_vision import load_column_classifier

    small = tmp_path / "small.png"
    Image.fromarray(upright_picture(480, 640)).save(small)
    classifier = load_column_classifier()
    for call in (
        lambda: classifier.classify([small], max_megapixels=0.1),
        lambda: classifier.classify(Image.open(small), max_megapixels=0.1),
        lambda: api.read_abacus(small, classifier=classifier, max_megapixels=0.1),
        lambda: api.read_abacus(Image.open(small), classifier=classifier, max_megapixels=0.1),
    ):
        with pytest.raises(UsageError) as e:
            call()
        assert e.value.code == "too_many_pixels"
    assert classifier.classify([small], max_megapixels=0.31)[0]["file"] == str(small)
    with pytest.raises(UsageError) as e:
        classifier.classify([small], max_megapixels=0)
    assert e.value.code == "bad_max_megapixels"
