"""Does a column's confidence mean what it says? Expected calibration error (ECE) over fixed
bins, the reliability diagram, and temperature scaling: one temperature per head, fitted by
likelihood on a calibration split (never on the split it is measured on), kept in the model's
contract (decode.calibration), where Python and the browser both apply it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from soroban_vision import contract
from soroban_vision.contract import CALIBRATION_METHOD, Calibration, decode

BINS = 10  # equal-width confidence bins over [0, 1]
LOG_T_RANGE = (float(np.log(0.25)), float(np.log(4.0)))  # temperatures searched: 0.25 .. 4
MIN_ERRORS = 20  # wrong columns the calibration half needs: without mistakes any sharpening fits
SPLIT_SEED = 12  # which half of a column set fits the temperatures


def reliability(confidence, correct, bins: int = BINS) -> list[dict]:
    """Per confidence bin [lo, hi) (the last one closed): columns, mean confidence, accuracy."""
    confidence = np.asarray(confidence, np.float64).reshape(-1)
    correct = np.asarray(correct, bool).reshape(-1)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        mask = which == b
        n = int(mask.sum())
        out.append(
            {
                "lo": b / bins,
                "hi": (b + 1) / bins,
                "n": n,
                "confidence": float(confidence[mask].mean()) if n else None,
                "accuracy": float(correct[mask].mean()) if n else None,
            }
        )
    return out


def expected_calibration_error(confidence, correct, bins: int = BINS) -> float:
    """ECE: the mean over columns of |accuracy - mean confidence| of their confidence bin."""
    table = reliability(confidence, correct, bins)
    total = sum(b["n"] for b in table)
    if total == 0:
        return 0.0
    return float(sum(b["n"] * abs(b["accuracy"] - b["confidence"]) for b in table if b["n"]) / total)


def fit_temperatures(heaven, earth, digits) -> Calibration:
    """The temperatures (heaven, earth) that make each head's probabilities most likely on
    columns of known `digits` (a golden-section search over log T)."""
    p = np.clip(np.asarray(heaven, np.float64).reshape(-1), 1e-12, 1 - 1e-12)
    e = np.clip(np.asarray(earth, np.float64).reshape(len(p), 5), 1e-12, 1.0)
    digits = np.asarray(digits).reshape(-1)
    up, count = digits >= 5, digits % 5
    logit, logs = np.log(p / (1 - p)), np.log(e)

    def heaven_nll(t: float) -> float:
        z = np.where(up, 1.0, -1.0) * logit / t
        return float(np.logaddexp(0.0, -z).mean())

    def earth_nll(t: float) -> float:
        z = logs / t
        return float((np.logaddexp.reduce(z, axis=1) - z[np.arange(len(z)), count]).mean())

    return {"method": CALIBRATION_METHOD, "heaven": _minimize(heaven_nll), "earth": _minimize(earth_nll)}


def _minimize(nll: Callable[[float], float], steps: int = 60) -> float:
    """The temperature of least `nll`, by golden-section search over log T."""
    lo, hi = LOG_T_RANGE
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(np.exp(a)), nll(np.exp(b))
    for _ in range(steps):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = nll(np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(np.exp(b))
    return round(float(np.exp((lo + hi) / 2)), 4)


def split(n: int, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """(calibration, test) indices: a seeded half each."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2 :])


def measure(heaven, earth, digits, calibration: Calibration | None = None) -> dict:
    """ECE, accuracy and mean confidence of the decoded columns, and the reliability bins."""
    guess, confidence = decode(heaven, earth, calibration)
    correct = guess == np.asarray(digits).reshape(-1)
    return {
        "n": len(correct),
        "ece": expected_calibration_error(confidence, correct),
        "accuracy": float(correct.mean()) if len(correct) else 0.0,
        "mean_confidence": float(confidence.mean()) if len(correct) else 0.0,
        "bins": reliability(confidence, correct),
    }


def calibrate(model, dirs: Sequence[str | Path], progress=None) -> dict:
    """Fit the temperatures of a Keras `model` on one half of labelled column folders, and
    measure ECE before and after on the other half."""
    from soroban_vision import pipeline
    from soroban_vision.data import scan

    items = scan(dirs).items
    step = None if progress is None else (lambda n: progress(n, len(items)))
    heaven, earth = pipeline.predict_items(model, items, progress=step)
    digits = np.array([it.digit for it in items])
    return _fit_and_measure(heaven, earth, digits, *split(len(items)))


def calibrate_scenes(root: str | Path, reader, progress=None) -> dict:
    """The same on the columns `read_abacus` cuts from a `render-scenes` folder (hands, glare and
    all, as the flag threshold meets them): the scenes split in halves, so that no scene's
    columns are both fitted and measured. Scenes whose frame or rod count is not found are left
    out. `reader` must decode without calibration (its raw probabilities are fitted)."""
    from soroban_vision.abacus.evaluate import _manifest
    from soroban_vision.abacus.photo import load_photo
    from soroban_vision.abacus.read import read_abacus
    from soroban_vision.abacus.spec import FrameNotFound

    root = Path(root)
    items = _manifest(root)["items"]
    heaven, earth, digits, scene = [], [], [], []
    for k, item in enumerate(items):
        try:
            reading = read_abacus(load_photo(root / item["file"]), reader)
        except FrameNotFound:
            reading = None
        if reading is not None and len(reading.columns) == len(item["digits"]):
            for c, digit in zip(reading.columns, item["digits"], strict=True):
                heaven.append(c.heaven["p"])
                earth.append(c.earth["probs"])
                digits.append(digit)
                scene.append(k)
        if progress is not None:
            progress(1, len(items))
    fit_scenes, _ = split(len(items))
    in_fit = np.isin(np.array(scene, int), fit_scenes)
    heaven, earth, digits = np.array(heaven).reshape(-1), np.array(earth).reshape(-1, 5), np.array(digits)
    return _fit_and_measure(heaven, earth, digits, np.flatnonzero(in_fit), np.flatnonzero(~in_fit))


def _fit_and_measure(heaven, earth, digits, fit: np.ndarray, test: np.ndarray) -> dict:
    """Temperatures fitted on the `fit` columns (when they hold enough mistakes), ECE before and
    after on the `test` columns."""
    errors = int((decode(heaven[fit], earth[fit])[0] != digits[fit]).sum())
    calibration = fit_temperatures(heaven[fit], earth[fit], digits[fit]) if errors >= MIN_ERRORS else None
    return {
        "calibration": calibration,  # None: too few mistakes to fit on (see MIN_ERRORS)
        "n_fit": len(fit),
        "errors_fit": errors,
        "min_errors": MIN_ERRORS,
        "before": measure(heaven[test], earth[test], digits[test]),
        "after": measure(heaven[test], earth[test], digits[test], calibration),
    }


def write(model_dir: str | Path, calibration: Calibration) -> list[Path]:
    """Write the calibration into every contract of a model folder: its own and its exports'
    (tfjs/, tfjs-float16/, ...), so that every runtime decodes alike."""
    root = Path(model_dir)
    folders = [root, *sorted(p.parent for p in root.glob(f"*/{contract.FILENAME}"))]
    return [contract.write_calibration(f, calibration) for f in folders if (f / contract.FILENAME).is_file()]


def plot_reliability(curves: dict[str, list[dict]], path: str | Path, title: str = "") -> None:
    """The reliability diagram: accuracy against confidence per bin, one line per curve
    (e.g. before and after calibration), the diagonal where confidence means what it says."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    ax.plot([0, 1], [0, 1], ":", color="0.5", label="calibrated")
    for name, bins in curves.items():
        used = [b for b in bins if b["n"]]
        ax.plot([b["confidence"] for b in used], [b["accuracy"] for b in used], "o-", label=name)
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="confidence", ylabel="accuracy", title=title or "reliability")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
