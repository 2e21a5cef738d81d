"""The report's values as JSON types: evidence made plain, and a tensor's name, shape and dtype."""

from __future__ import annotations

import numpy as np

from soroban_vision.runners.base import TensorInfo


def plain(v):
    """Evidence as JSON types (numpy scalars and arrays, tuples, paths); non-finite floats -> None."""
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return plain(v.tolist())
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    return str(v)


def tensor_json(t: TensorInfo) -> dict:
    return {"name": t.name, "shape": [None if d is None else int(d) for d in t.shape], "dtype": t.dtype}
