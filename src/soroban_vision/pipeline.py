"""tf.data input pipelines: stream column images from disk, decoded by the preprocessing spec.

The decode here is the spec in TensorFlow ops (tests prove it equals `preprocess.py`), so
training reads exactly what inference will see, and it streams: only a shuffled list of
paths is held in memory, unless the decoded set is small enough to cache.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from soroban_vision import occluded
from soroban_vision.beads import to_beads
from soroban_vision.data import Item
from soroban_vision.preprocess import HEIGHT, SPEC, WIDTH

CACHE_LIMIT_MB = 512  # cache decoded images in memory only below this size


def decode(data):
    """Encoded image bytes -> float32 [HEIGHT, WIDTH, 1] in [0, 1], per SPEC (TF ops)."""
    import tensorflow as tf

    img = tf.io.decode_image(data, channels=0, expand_animations=False, dtype=tf.uint8)
    img = tf.cast(img, tf.float64)
    kr, kg, kb = SPEC["grayscale"]["coefficients"]
    bg = float(SPEC["alpha"]["composite_over"])

    def luma(rgb):
        return kr * rgb[..., 0:1] + kg * rgb[..., 1:2] + kb * rgb[..., 2:3]

    def over_background(colour, alpha):
        a = alpha / 255.0
        return colour * a + bg * (1.0 - a)

    channels = tf.shape(img)[-1]
    gray = tf.switch_case(
        channels - 1,
        [
            lambda: img[..., 0:1],
            lambda: over_background(img[..., 0:1], img[..., 1:2]),
            lambda: luma(img[..., 0:3]),
            lambda: luma(over_background(img[..., 0:3], img[..., 3:4])),
        ],
    )
    size = tf.shape(gray)[0:2]
    gray = tf.cond(
        tf.reduce_all(size == [HEIGHT, WIDTH]),
        lambda: gray,
        lambda: tf.cast(
            tf.image.resize(tf.cast(gray, tf.float32), (HEIGHT, WIDTH), method="bilinear", antialias=False),
            tf.float64,
        ),
    )
    gray = tf.ensure_shape(gray, (HEIGHT, WIDTH, 1))
    return tf.cast(gray / SPEC["scale"]["divide_by"], tf.float32)


def augment(images, seed):
    """Camera-like variety on top of what the renderer draws, for a batch [B,H,W,1]: a small
    random shift, zoom and rotation of the crop (a user's crop is never exact), exposure and
    contrast changes, and sensor noise. Stateless and seeded; vectorised over the batch."""
    import tensorflow as tf

    n = tf.shape(images)[0]
    seeds = tf.random.experimental.stateless_split(seed, 8)

    def u(i, lo, hi):
        return tf.random.stateless_uniform([n], seeds[i], lo, hi)

    zoom = u(0, 0.92, 1.08)
    angle = u(1, -0.06, 0.06)
    dx, dy = u(2, -0.06, 0.06) * WIDTH, u(3, -0.05, 0.05) * HEIGHT
    c, s = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    cx, cy = WIDTH / 2.0, HEIGHT / 2.0
    # output -> input pixel mapping: x_in = c*x - s*y + tx ; y_in = s*x + c*y + ty
    tx = cx - c * cx + s * cy - dx
    ty = cy - s * cx - c * cy - dy
    zeros = tf.zeros_like(c)
    transforms = tf.stack([c, -s, tx, s, c, ty, zeros, zeros], axis=1)
    images = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=[HEIGHT, WIDTH],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )

    def per_image(v):
        return v[:, None, None, None]

    gamma = per_image(tf.exp(u(4, -0.3, 0.3)))
    images = tf.clip_by_value(images, 0.0, 1.0) ** gamma
    images = (images - 0.5) * per_image(u(5, 0.75, 1.25)) + 0.5 + per_image(u(6, -0.08, 0.08))
    noise = tf.random.stateless_normal(tf.shape(images), seeds[7]) * per_image(u(7, 0.0, 0.03))
    return tf.clip_by_value(images + noise, 0.0, 1.0)


def labels(items: Sequence[Item]) -> tuple[np.ndarray, np.ndarray]:
    """Heaven targets [N,1] and earth labels [N]; a covered column (digit None) gets occluded's
    no-information targets."""
    beads = [None if it.digit is None else to_beads(it.digit) for it in items]
    heaven = np.array([[occluded.HEAVEN if b is None else b.heaven] for b in beads], np.float32)
    earth = np.array([occluded.EARTH if b is None else b.earth for b in beads], np.int32)
    return heaven, earth


def dataset(
    items: Sequence[Item],
    batch_size: int,
    *,
    training: bool,
    seed: int = 0,
    cache_limit_mb: int = CACHE_LIMIT_MB,
):
    """A batched tf.data.Dataset of (image, {"heaven", "earth"}) from the given items."""
    import tensorflow as tf

    paths = np.array([str(it.path) for it in items])
    heaven, earth = labels(items)
    ds = tf.data.Dataset.from_tensor_slices((paths, heaven, earth))
    cache = len(items) * HEIGHT * WIDTH * 4 / 2**20 <= cache_limit_mb
    if training and not cache:
        ds = ds.shuffle(len(items), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(
        lambda p, h, e: (decode(tf.io.read_file(p)), h, e),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    if cache:
        ds = ds.cache()
        if training:
            ds = ds.shuffle(min(len(items), 20_000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda x, h, e: (x, {"heaven": h, "earth": occluded.earth_targets(e)})).batch(batch_size)
    if training:
        seeds = tf.data.Dataset.random(seed=seed).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds)).map(
            lambda batch, s: (augment(batch[0], s), batch[1]),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    return ds.prefetch(tf.data.AUTOTUNE)


def shard(items: Sequence[Item], index: int, count: int) -> list[Item]:
    """Worker `index` of `count` reads items index, index + count, index + 2 * count, ... of the
    training list: every file on exactly one worker, and (the list runs digit by digit) the same
    mix of digits on each."""
    return list(items[index::count])


class EpochBatches:
    """One worker's training batches, epoch by epoch, for multi-worker training. Epoch e's order and
    augmentation depend only on (seed, e), so a run resumed at epoch e reads what an uninterrupted
    run would; every epoch has exactly `batches` batches (empty ones once the shard runs out), so
    that all workers take the same number of steps."""

    def __init__(
        self, items: Sequence[Item], batch_size: int, *, seed: int, batches: int, cache_limit_mb: int
    ):
        import tensorflow as tf

        heaven, earth = labels(items)
        self.rows = tf.data.Dataset.from_tensor_slices(
            (np.array([str(it.path) for it in items]), heaven, earth)
        )
        self.n, self.batch_size, self.seed, self.batches = len(items), batch_size, seed, batches
        self.cached = None
        if self.n * HEIGHT * WIDTH * 4 / 2**20 <= cache_limit_mb:
            self.cached = self._decoded(self.rows).cache()  # kept across epochs: later epochs read memory

    @staticmethod
    def _decoded(rows):
        import tensorflow as tf

        return rows.map(
            lambda p, h, e: (decode(tf.io.read_file(p)), h, e),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )

    def epoch(self, epoch: int):
        """The batches of `epoch` (counted from 0): (images, {"heaven", "earth"})."""
        import tensorflow as tf

        seed = self.seed * 1_000_003 + epoch
        if self.cached is not None:
            ds = self.cached.shuffle(min(self.n, 20_000), seed=seed, reshuffle_each_iteration=False)
        else:
            ds = self._decoded(self.rows.shuffle(self.n, seed=seed, reshuffle_each_iteration=False))
        ds = ds.map(lambda x, h, e: (x, {"heaven": h, "earth": occluded.earth_targets(e)}))
        ds = ds.batch(self.batch_size)
        ds = tf.data.Dataset.zip((ds, tf.data.Dataset.random(seed=seed).batch(2))).map(
            lambda batch, s: (augment(batch[0], s), batch[1]),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        empty = tf.data.Dataset.from_tensors(
            (
                tf.zeros([0, HEIGHT, WIDTH, 1]),
                {"heaven": tf.zeros([0, 1]), "earth": tf.zeros([0, 5])},  # earth as dense targets
            )
        )
        return ds.concatenate(empty.repeat()).take(self.batches).prefetch(tf.data.AUTOTUNE)


def predict(model, batches, progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(heaven [N,1], earth [N,5]) for a batched dataset of images or (image, labels) pairs;
    `progress(n)` after each batch of n images."""
    hs, es = [], []
    for batch in batches:
        x = batch[0] if isinstance(batch, tuple) else batch
        out = model(x, training=False)
        hs.append(np.asarray(out["heaven"]))
        es.append(np.asarray(out["earth"]))
        if progress is not None:
            progress(len(hs[-1]))
    return np.concatenate(hs), np.concatenate(es)


def predict_items(
    model, items: Sequence[Item], batch_size: int = 256, progress: Callable[[int], None] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(heaven [N,1], earth [N,5]) for items read from disk through the pipeline's decode."""
    return predict(model, dataset(items, batch_size, training=False), progress)
