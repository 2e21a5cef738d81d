"""Whether one input range beats another on the same images, or chance explains the difference:
exact one-sided binomial tests on the discordant pairs, in plain Python (scipy is not a
dependency). Two tests, as the sweep counts two ways: McNemar's on the digits (images right under
one range and wrong under the other), and the sign test on p(true digit) (images the model is
surer of under one range than under the other), for a robust model that only loses confidence."""

from __future__ import annotations

import math

import numpy as np

# One false alarm in a hundred runs on a model that is fed right; the range faults we know
# (a model fed [0,1] that expects [-1,1], double normalization) give p below 1e-10 on 200 images.
ALPHA = 0.01


def binomial_tail(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2): exact, in integers until the one division."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n


def discordant(better: np.ndarray, worse: np.ndarray) -> dict:
    """How often `better` beats `worse` on the same items and the other way round (ties are
    not evidence either way), and the one-sided exact p-value that `better` is no better."""
    better, worse = np.asarray(better), np.asarray(worse)
    wins, losses = int((better > worse).sum()), int((better < worse).sum())
    return {"wins": wins, "losses": losses, "p": binomial_tail(wins, wins + losses)}


def range_test(right_best, right_declared, p_best, p_declared) -> dict:
    """Is the best-looking range better than the declared one beyond chance? `right_*`: each
    image read right; `p_*`: each image's p(true digit). The p-value is the smaller of the two
    tests', doubled (Bonferroni, as either one may raise the alarm)."""
    digits = discordant(np.asarray(right_best, int), np.asarray(right_declared, int))
    confidence = discordant(p_best, p_declared)
    return {
        "digits": digits,
        "confidence": confidence,
        "p_value": min(1.0, 2 * min(digits["p"], confidence["p"])),
        "alpha": ALPHA,
    }
