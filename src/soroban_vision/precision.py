"""The weight precisions an export can have, and the one check of a requested one."""

from __future__ import annotations

from soroban_vision.errors import UsageError

PRECISIONS = ("float32", "float16", "uint8")


def check_precision(precision: str, fmt: str = "tfjs") -> str:
    """`precision` if a `fmt` export can have it; otherwise a one-line UsageError."""
    if precision not in PRECISIONS:
        raise UsageError(f"unsupported precision {precision!r}; choose one of: {', '.join(PRECISIONS)}")
    if fmt == "onnx" and precision != "float32":
        # ONNX Runtime gets the float32 model: quantizing it is not one of our exports
        raise UsageError("ONNX export is float32 only")
    return precision
