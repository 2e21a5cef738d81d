"""The model contract: what goes into the column classifier and what its outputs mean.

Defined once here (and once in web/src for the browser). The output roles and the decode
rule live here from the start, so Python inference, evaluation and the browser all turn
the two heads into a digit the same way.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np

from soroban_vision.beads import to_digit

HEAVEN_THRESHOLD = 0.5

OUTPUTS = {
    "heaven": {
        "role": "heaven",
        "shape": [None, 1],
        "activation": "sigmoid",
        "meaning": "probability that the heaven bead touches the bar",
        "threshold": HEAVEN_THRESHOLD,
    },
    "earth": {
        "role": "earth",
        "shape": [None, 5],
        "activation": "softmax",
        "meaning": "probability of 0, 1, 2, 3 or 4 earth beads touching the bar",
    },
}
DECODE = {
    "digit": "5 * (heaven >= threshold) + argmax(earth)",
    "confidence": "max(heaven, 1 - heaven) * max(earth)",
}


class Reading(TypedDict):
    digit: int
    confidence: float
    heaven: dict
    earth: dict


def decode(heaven: np.ndarray, earth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Head outputs [N,1] and [N,5] -> digits [N] and confidences [N], per DECODE."""
    p = np.asarray(heaven, np.float64).reshape(-1)
    e = np.asarray(earth, np.float64).reshape(len(p), 5)
    active = p >= HEAVEN_THRESHOLD
    digits = 5 * active.astype(np.int64) + e.argmax(axis=1)
    confidence = np.maximum(p, 1 - p) * e.max(axis=1)
    return digits, confidence


def readings(heaven: np.ndarray, earth: np.ndarray) -> list[Reading]:
    """Per-image results in the shape the browser library returns."""
    digits, confidence = decode(heaven, earth)
    p = np.asarray(heaven, np.float64).reshape(-1)
    e = np.asarray(earth, np.float64).reshape(len(p), 5)
    out = []
    for i in range(len(p)):
        count = int(e[i].argmax())
        active = bool(p[i] >= HEAVEN_THRESHOLD)
        out.append(
            {
                "digit": to_digit(int(active), count),
                "confidence": float(confidence[i]),
                "heaven": {"active": active, "p": float(p[i])},
                "earth": {"count": count, "probs": [float(v) for v in e[i]]},
            }
        )
    return out
