"""The goals from the issues, each checked against the row that measures it (the targets of a part
the run left out are not listed)."""

from __future__ import annotations

from soroban_vision.bench.results import Row, Target, is_number


def targets(rows: list[Row]) -> list[Target]:
    r = {row.key: row for row in rows}
    out = column_targets(r) if "accuracy.digit" in r else []
    return out + (markerless_targets(r) if "markerless.read.p95" in r else [])


def column_targets(r: dict[str, Row]) -> list[Target]:
    """Issue 1: the compact column model against MobileNetV2 α=0.35."""
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


def markerless_targets(r: dict[str, Row]) -> list[Target]:
    """Issue 13: reading without markers with the learned frame model (wide and classic renders)."""
    browser = r["markerless.browser.wasm.median"].ours
    fps = 1000.0 / browser if is_number(browser) and browser > 0 else browser
    size = r.get("markerless.size")
    return [
        Target(
            "markerless_time",
            "Python markerless read (frame model), 640×480: p95 ≤ 150 ms",
            r["markerless.read.p95"].ours,
            150.0,
            "<=",
            "ms",
        ),
        Target(
            "corner_median",
            "frame model corner error, median ≤ 0.5% of the frame width",
            r["markerless.corner.median.all"].ours,
            0.5,
            "<=",
            "%",
        ),
        Target(
            "corner_p95",
            "frame model corner error, p95 ≤ 1.5% of the frame width",
            r["markerless.corner.p95.all"].ours,
            1.5,
            "<=",
            "%",
        ),
        Target(
            "frame_not_found",
            "markerless frame not found (frame model) ≤ 0.5%",
            r["markerless.frame_not_found.all"].ours,
            0.5,
            "<=",
            "%",
        ),
        Target(
            "exact",
            "markerless exact number (frame model) ≥ 98%",
            r["markerless.exact.all"].ours,
            98.0,
            ">=",
            "%",
        ),
        Target(
            "silent_wrong",
            "markerless silent wrong (frame model) ≤ 0.5%",
            r["markerless.silent_wrong.all"].ours,
            0.5,
            "<=",
            "%",
        ),
        Target("markerless_browser", "browser (wasm) markerless, 640×480: ≥ 20 fps", fps, 20.0, ">=", "fps"),
        Target(
            "frame_size",
            "frame model float32 weights ≤ 1 MB (1,000,000 bytes)",
            size.ours if size is not None else "not measured: no shipped frame model",
            1_000_000,
            "<=",
            "bytes",
        ),
    ]
