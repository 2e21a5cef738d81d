import numpy as np
import pytest
from PIL import Image

from soroban_vision.preprocess import (
    HEIGHT,
    SPEC,
    WIDTH,
    ImageError,
    preprocess,
    preprocess_file,
    resize_bilinear,
    to_gray,
)


def test_luma_uses_the_spec_coefficients_in_float():
    px = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]], np.uint8)
    g = to_gray(px)
    np.testing.assert_allclose(
        g[0], [0.299 * 255, 0.587 * 255, 0.114 * 255, 0.299 * 10 + 0.587 * 20 + 0.114 * 30]
    )
    assert SPEC["grayscale"]["coefficients"] == [0.299, 0.587, 0.114]


def test_luma_is_not_the_red_channel():
    """fromPixels(img, 1) keeps only red; our rule must not."""
    px = np.zeros((2, 2, 3), np.uint8)
    px[..., 1] = 200  # pure green
    assert to_gray(px).min() > 100


def test_alpha_is_composited_over_white():
    px = np.zeros((1, 2, 4), np.uint8)
    px[0, 0] = [0, 0, 0, 0]  # fully transparent black -> white
    px[0, 1] = [0, 0, 0, 255]  # opaque black
    np.testing.assert_allclose(to_gray(px)[0], [255.0, 0.0], atol=1e-9)


def test_gray_inputs_are_used_as_they_are():
    px = np.arange(64 * 128, dtype=np.uint32).reshape(128, 64).astype(np.uint8)
    x = preprocess(px)
    assert x.shape == (HEIGHT, WIDTH, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(x[..., 0], px.astype(np.float32) / np.float32(255.0))


@pytest.mark.parametrize("shape", [(256, 128), (100, 37), (40, 300), (128, 64), (7, 5)])
def test_resize_matches_tensorflow_half_pixel_bilinear_without_antialias(shape):
    """Our resize is exactly TF2's tf.image.resize(bilinear, antialias=False): half-pixel centres."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, shape)
    ours = resize_bilinear(img, WIDTH, HEIGHT)
    theirs = tf.image.resize(img[None, ..., None], (HEIGHT, WIDTH), method="bilinear", antialias=False)
    np.testing.assert_allclose(ours, theirs.numpy()[0, ..., 0], rtol=1e-6, atol=1e-4)  # TF is float32


def test_resize_is_not_align_corners():
    img = np.array([[0.0, 255.0]])
    out = resize_bilinear(img, 4, 1)
    np.testing.assert_allclose(out[0], [0, 63.75, 191.25, 255])


def test_file_modes_all_give_the_same_input(tmp_path):
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 256, (128, 64), dtype=np.uint8)
    Image.fromarray(gray, "L").save(tmp_path / "l.png")
    Image.fromarray(np.stack([gray] * 3, -1), "RGB").save(tmp_path / "rgb.png")
    Image.fromarray(np.dstack([gray] * 3 + [np.full_like(gray, 255)]), "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "i16.png")
    ref = preprocess_file(tmp_path / "l.png")
    for name in ("rgb.png", "rgba.png", "i16.png"):
        np.testing.assert_allclose(preprocess_file(tmp_path / name), ref, atol=1e-6, err_msg=name)


def test_unreadable_files_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(ImageError, match="not a readable image"):
        preprocess_file(bad)
    with pytest.raises(ImageError, match="no such file"):
        preprocess_file(tmp_path / "missing.png")
