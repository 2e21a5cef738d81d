"""The goals from the issue, each checked against the row that measures it."""

from __future__ import annotations

from soroban_vision.bench.results import Row, Target, is_number


def targets(rows: list[Row]) -> list[Target]:
    r = {row.key: row for row in rows}
    acc, size = r["accuracy.digit"], r["size.keras_float32"]
    ratio = size.reference / size.ours if is_number(size.ours) and is_number(size.reference) else None
    equal_or_better = is_number(acc.ours) and is_number(acc.reference) and acc.ours >= acc.reference
    return [
        Target("accuracy", "compact digit accuracy ≥ 99.8%", acc.ours, 99.8, ">=", "%"),
        Target("size", "compact float32 weights ≤ 300 KB (300,000 bytes)", size.ours, 300_000, "<=", "bytes"),
        Target(
            "smaller",
            "compact ≥ 5× smaller than the reference (float32 weights), at equal or better accuracy",
            ratio,
            5.0,
            ">=",
            "×",
            condition=("compact accuracy ≥ reference accuracy", bool(equal_or_better)),
        ),
        Target(
            "browser",
            "browser wasm, batch 13: median ≤ 10 ms",
            r["browser.wasm.b13.median"].ours,
            10.0,
            "<=",
            "ms",
        ),
        Target(
            "onnx",
            "Python ONNX Runtime, batch 256: ≥ 5,000 columns/s",
            r["python.onnxruntime.b256"].ours,
            5000.0,
            ">=",
            "columns/s",
        ),
    ]
