"""tf.data for the frame model: example PNGs streamed from disk (decoded once, cached as 8-bit),
camera-like augmentation and a mirror image for training, and the targets: the corners, the
frame-present label, and each corner's Gaussian heatmap for the soft-argmax's regularizer."""

from __future__ import annotations

import numpy as np

from soroban_vision.frame.input import HEIGHT, WIDTH
from soroban_vision.frame.model import CELLS, cell_centres

HEAT_SIGMA = 1.0  # heatmap cells: the target heatmap's spread around each corner
MIRROR = [1, 0, 3, 2]  # the corners' order once the image is mirrored left to right


def _decode(path, corners, frame):
    import tensorflow as tf

    image = tf.io.decode_png(tf.io.read_file(path), channels=1)
    return tf.ensure_shape(image, [HEIGHT, WIDTH, 1]), corners, frame


def _augment(image, corners, frame, seed):
    """Brightness, contrast, gamma, noise and a left-right mirror (positives' corners follow)."""
    import tensorflow as tf

    seeds = tf.random.experimental.stateless_split(seed, 6)
    x = tf.cast(image, tf.float32) / 255.0
    gamma = tf.exp(tf.random.stateless_uniform([], seeds[0], -0.35, 0.35))
    x = tf.pow(tf.clip_by_value(x, 1e-4, 1.0), gamma)
    mean = tf.reduce_mean(x)
    contrast = tf.random.stateless_uniform([], seeds[1], 0.6, 1.4)
    x = (x - mean) * contrast + mean + tf.random.stateless_uniform([], seeds[2], -0.15, 0.15)
    sigma = tf.random.stateless_uniform([], seeds[3], 0.0, 0.03)
    x = x + sigma * tf.random.stateless_normal(tf.shape(x), seeds[4])
    x = tf.clip_by_value(x, 0.0, 1.0)
    flip = tf.random.stateless_uniform([], seeds[5]) < 0.5
    mirrored = tf.gather(tf.stack([1.0 - corners[:, 0], corners[:, 1]], axis=1), MIRROR)
    mirrored = tf.where(frame > 0.5, mirrored, corners)
    x = tf.cond(flip, lambda: tf.reverse(x, axis=[1]), lambda: x)
    corners = tf.cond(flip, lambda: mirrored, lambda: corners)
    return x, corners, frame


def _as_float(image, corners, frame):
    import tensorflow as tf

    return tf.cast(image, tf.float32) / 255.0, corners, frame


def _targets(x, corners, frame):
    """(image, {corners, frame, heatmaps}): a negative's heatmaps are all zero (no loss)."""
    import tensorflow as tf

    centres = tf.constant(cell_centres())  # [cells, 2]
    rows, cols = CELLS
    scale = tf.constant([cols / HEAT_SIGMA, rows / HEAT_SIGMA], tf.float32)
    d = (centres[None, :, :] - corners[:, None, :]) * scale  # [4, cells, 2], in sigmas
    heat = tf.exp(-0.5 * tf.reduce_sum(d * d, axis=-1))
    heat = heat / tf.maximum(tf.reduce_sum(heat, axis=-1, keepdims=True), 1e-12) * frame
    return x, {"corners": corners, "frame": tf.reshape(frame, [1]), "heatmaps": heat}


def dataset(paths, corners, frame, batch_size: int, training: bool, seed: int = 0):
    """Batches of (image [b,H,W,1] in [0,1], {corners [b,4,2], frame [b,1], heatmaps [b,4,cells]})."""
    import tensorflow as tf

    auto = tf.data.AUTOTUNE
    ds = tf.data.Dataset.from_tensor_slices((list(paths), np.asarray(corners), np.asarray(frame)))
    ds = ds.map(_decode, num_parallel_calls=auto).cache()
    if training:
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
        counter = tf.data.Dataset.random(seed=seed).map(lambda s: tf.stack([s, seed]))
        ds = tf.data.Dataset.zip((ds, counter)).map(lambda e, s: _augment(*e, s), num_parallel_calls=auto)
    else:
        ds = ds.map(_as_float, num_parallel_calls=auto)
    return ds.map(_targets, num_parallel_calls=auto).batch(batch_size).prefetch(auto)
