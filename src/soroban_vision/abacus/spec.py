"""The whole-soroban reader's spec: web/src/abacus/spec.json, the one copy of the constants,
limits, rod-fit grid, Stabilizer defaults and error messages that Python and the browser
(web/src/abacus/spec.js) both load."""

from __future__ import annotations

import json

import numpy as np

from soroban_vision.errors import SorobanError
from soroban_vision.shipped import WEB_DIR

SPEC_PATH = WEB_DIR / "src" / "abacus" / "spec.json"


def _load() -> dict:
    try:
        return json.loads(SPEC_PATH.read_text())
    except (OSError, ValueError) as e:
        raise SorobanError(
            f"cannot load the reader's spec {SPEC_PATH}: {e} (run from the repository's checkout)",
            code="no_spec",
        ) from None


SPEC: dict = _load()

MIN_COLUMNS, MAX_COLUMNS = SPEC["columns"]["min"], SPEC["columns"]["max"]
LOW_CONFIDENCE = float(SPEC["low_confidence"])
MARKER_MODES = tuple(SPEC["markers"]["modes"])


class FrameNotFound(SorobanError):
    """No soroban to read where we looked: no markers, no frame, two sorobans, a tiny image."""

    code = "no_frame"


def message(code: str, **fields) -> str:
    """The one-line message of the spec's error `code`, its {fields} filled in."""
    return SPEC["errors"][code].format(**fields)


def frame_not_found(code: str, **fields) -> FrameNotFound:
    """FrameNotFound with the spec's id `code` and its message."""
    return FrameNotFound(message(code, **fields), code=code)


def side_fracs() -> np.ndarray:
    """The side rail widths (in pitches) fit_rods tries: the spec's grid."""
    grid = SPEC["rods"]["side_fracs"]
    return np.linspace(grid["start"], grid["stop"], grid["num"])
