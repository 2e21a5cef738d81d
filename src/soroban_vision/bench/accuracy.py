"""Digit accuracy of both models (and of the shipped model) on the same rendered test set."""

from __future__ import annotations

from pathlib import Path

from soroban_vision.bench.config import ARCHS
from soroban_vision.bench.results import OURS, REFERENCE, Row
from soroban_vision.seeds import TEST_SEED


def accuracy_rows(trained: dict[str, dict], test: Path, say) -> list[Row]:
    from soroban_vision.evaluate import evaluate
    from soroban_vision.model import load_model
    from soroban_vision.reader import DEFAULT_MODEL

    acc, n, errors = {}, 0, {}
    for arch in ARCHS:
        say(f"evaluating {arch} on the test set")
        r = evaluate(load_model(trained[arch]["model"]), [test])
        acc[arch], n, errors[arch] = 100 * r["digit_accuracy"], r["n"], r["errors"]
    rows = [
        Row(
            "accuracy.digit",
            "Accuracy",
            f"digit accuracy on {n:,} rendered test columns (seed {TEST_SEED})",
            "%",
            acc[OURS],
            acc[REFERENCE],
            note=f"errors: {errors[OURS]} (ours), {errors[REFERENCE]} (reference); Keras float32",
        )
    ]
    if (DEFAULT_MODEL / "model.keras").is_file():
        say("evaluating the shipped models/column on the test set")
        r = evaluate(load_model(DEFAULT_MODEL), [test])
        rows.append(
            Row(
                "accuracy.shipped",
                "Accuracy",
                f"shipped models/column (compact, `make model` budget) on the same {n:,} columns",
                "%",
                100 * r["digit_accuracy"],
                single=True,
                note=f"errors: {r['errors']}",
            )
        )
    return rows
