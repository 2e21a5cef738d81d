"""Evaluation of a column model on a labelled folder: accuracies, confusion, calibration, worst
mistakes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from soroban_vision.abacus.calibration import expected_calibration_error, reliability
from soroban_vision.beads import to_beads
from soroban_vision.contract import decode
from soroban_vision.data import contact_sheet, scan


def evaluate(
    model,
    dirs: Sequence[str | Path],
    manifest: str | Path | None = None,
    worst: int = 40,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Heaven, earth and digit accuracy, the 10x10 confusion matrix, and the worst mistakes.
    `progress(n, total)` after each batch of n of the total images."""
    from soroban_vision import pipeline

    ds = scan(dirs, manifest=manifest)
    items = ds.items
    step = None if progress is None else (lambda n: progress(n, len(items)))
    heaven, earth = pipeline.predict_items(model, items, progress=step)
    digits, confidence = decode(heaven, earth)
    true = np.array([it.digit for it in items])
    true_h = np.array([to_beads(int(d)).heaven for d in true])
    true_e = true % 5
    confusion = np.zeros((10, 10), np.int64)
    np.add.at(confusion, (true, digits), 1)
    wrong = np.flatnonzero(digits != true)
    # the most confident mistakes first: those are the ones that hurt
    wrong = wrong[np.argsort(-confidence[wrong])][:worst]
    return {
        "n": len(items),
        "digit_accuracy": float((digits == true).mean()),
        "heaven_accuracy": float(((heaven.reshape(-1) >= 0.5) == true_h).mean()),
        "earth_accuracy": float((earth.argmax(1) == true_e).mean()),
        "confusion": confusion.tolist(),
        # does the confidence mean what it says: ECE over fixed bins, and the reliability diagram's bins
        "calibration": {
            "ece": expected_calibration_error(confidence, digits == true),
            "bins": reliability(confidence, digits == true),
        },
        "errors": int((digits != true).sum()),
        "worst": [
            {
                "file": str(items[i].path),
                "true": int(true[i]),
                "predicted": int(digits[i]),
                "confidence": float(confidence[i]),
            }
            for i in wrong
        ],
        "skipped": len(ds.skipped),
        "warnings": ds.warnings,
    }


def worst_sheet(result: dict, per_row: int = 8):
    """A contact sheet of the worst mistakes, each labelled `true -> predicted (confidence)`."""
    from PIL import Image

    cells = []
    for w in result["worst"]:
        with Image.open(w["file"]) as im:
            gray = np.asarray(im.convert("L").resize((64, 128)))
        cells.append((gray, f"{w['true']}->{w['predicted']} {w['confidence']:.2f}"))
    if not cells:
        return None
    return contact_sheet([cells[i : i + per_row] for i in range(0, len(cells), per_row)])


def confusion_table(confusion: Sequence[Sequence[int]]) -> str:
    """The 10x10 confusion matrix as console text: a row per true digit, a column per prediction."""
    from soroban_vision.tables import render, table

    digits = [str(d) for d in range(10)]
    t = table("true\\pred", *digits, right=("true\\pred", *digits))
    for true, row in enumerate(confusion):
        t.add_row(str(true), *map(str, row))
    return render(t)
