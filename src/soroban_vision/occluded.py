"""Columns nobody can read: crops whose beads a hand covers. They train the model toward no
information (heaven 0.5, earth uniform), so a covered column gets a low confidence and the reader
flags it instead of guessing a digit. A dataset keeps them in an `occluded/` folder."""

from __future__ import annotations

import numpy as np

FOLDER = "occluded"
HEAVEN = 0.5  # the heaven target of a covered column: either position, equally
EARTH = -1  # the earth label of a covered column: every class equally


def earth_targets(labels):
    """Earth labels [N] (EARTH for a covered column) as the dense targets [N,5] that Keras's
    built-in categorical cross-entropy trains on: one-hot, or uniform for a covered column. A
    built-in loss keeps model.keras loadable by plain Keras and the converters."""
    import tensorflow as tf

    one_hot = tf.one_hot(tf.maximum(labels, 0), 5)
    return tf.where(tf.expand_dims(labels < 0, -1), tf.fill(tf.shape(one_hot), 0.2), one_hot)


def earth_loss(earth: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The training's earth cross-entropy per image, from probabilities [N,5] and labels [N]."""
    p = np.clip(earth, 1e-7, 1.0)
    known = -np.log(p[np.arange(len(labels)), np.maximum(labels, 0)])
    return np.where(labels < 0, -np.log(p).mean(axis=1), known)


def flagged(model, items: list, n_train: int) -> dict:
    """How the reader would treat held-out covered columns: the share whose confidence falls below
    the reader's flag threshold (the abacus spec's low_confidence)."""
    from soroban_vision import pipeline
    from soroban_vision.abacus.spec import LOW_CONFIDENCE
    from soroban_vision.contract import decode

    heaven, earth = pipeline.predict(model, pipeline.dataset(items, 256, training=False))
    _, confidence = decode(heaven, earth)
    return {
        "n_train": n_train,
        "n_val": len(items),
        "val_flagged": float(np.mean(confidence < LOW_CONFIDENCE)),
        "val_confidence_median": float(np.median(confidence)),
    }
