"""A printable sheet of the four frame markers (`soroban-vision markers`).

The markers follow the convention in `render/marker_cards.py` (the one the readers expect): ArUco
DICT_4X4_50, ids 0-3 clockwise from the frame's top-left corner, each placed diagonally outside
its corner so that the corner of its black square nearest the frame touches the frame's outer
corner. The sheet prints each marker at a stated physical size on A4, on a white card with a
wide quiet zone, and marks the corner that goes on the frame.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from soroban_vision.errors import UsageError
from soroban_vision.render.marker_cards import MARKER_BITS, MARKER_IDS, marker_bits

A4_MM = (210.0, 297.0)
PLACES = ("top-left", "top-right", "bottom-right", "bottom-left")
SQUARE_CORNERS = ((0, 0), (1, 0), (1, 1), (0, 1))  # clockwise from the top-left, as ArUco lists them


def marker_sheet(side_mm: float = 15.0, dpi: int = 300) -> np.ndarray:
    """The four markers on an A4 page (RGB uint8, portrait), `side_mm` wide black squares."""
    if not 5.0 <= side_mm <= 60.0:
        raise UsageError(f"--side-mm must be 5-60 (a marker about one rod pitch wide), got {side_mm:g}")
    if not 72 <= dpi <= 1200:
        raise UsageError(f"--dpi must be 72-1200, got {dpi}")
    px = dpi / 25.4  # pixels per millimetre
    page = np.full((round(A4_MM[1] * px), round(A4_MM[0] * px), 3), 255, np.uint8)
    cell = round(side_mm * px / MARKER_BITS) * MARKER_BITS  # whole pixels per bit
    scale = page.shape[1] / 2480  # text sized for the page, whatever the dpi
    text = {"fontFace": cv2.FONT_HERSHEY_SIMPLEX, "color": (0, 0, 0), "lineType": cv2.LINE_AA}
    cv2.putText(
        page, "soroban-vision frame markers (ArUco DICT_4X4_50)", (round(150 * scale), round(180 * scale)),
        fontScale=2.0 * scale, thickness=max(1, round(4 * scale)), **text,
    )  # fmt: skip
    lines = [
        f"Each black square is {side_mm:g} mm wide: print at 100% (no 'fit to page').",
        "Stick each marker just outside its corner of the soroban's frame, upright, with the",
        "corner marked by the red dot touching the frame's outer corner. Keep the white border.",
    ]
    for i, line in enumerate(lines):
        cv2.putText(
            page, line, (round(150 * scale), round((280 + 70 * i) * scale)),
            fontScale=1.1 * scale, thickness=max(1, round(2 * scale)), **text,
        )  # fmt: skip
    for k, (marker_id, place) in enumerate(zip(MARKER_IDS, PLACES, strict=True)):
        tx, ty = SQUARE_CORNERS[(marker_id + 2) % 4]  # the corner on the frame (marker_cards.py's rule)
        col, row = (0, 1, 1, 0)[k], k // 2  # laid out where they go on the soroban
        x0 = round((0.25 + 0.5 * col) * page.shape[1]) - cell // 2
        y0 = round((0.38 + 0.38 * row) * page.shape[0]) - cell // 2
        square = cv2.resize(marker_bits(marker_id), (cell, cell), interpolation=cv2.INTER_NEAREST)
        page[y0 : y0 + cell, x0 : x0 + cell] = square[..., None]
        dot = (x0 + round(tx * cell), y0 + round(ty * cell))
        cv2.circle(page, dot, max(3, round(0.06 * cell)), (220, 30, 30), -1, cv2.LINE_AA)
        cv2.putText(
            page, f"id {marker_id}: {place} corner", (x0, y0 + cell + round(110 * scale)),
            fontScale=1.2 * scale, thickness=max(1, round(3 * scale)), **text,
        )  # fmt: skip
    return page


def write_marker_sheet(out: str | Path, side_mm: float = 15.0, dpi: int = 300) -> Path:
    """Write the sheet as a PNG with its dpi recorded, so it prints at the stated size."""
    from PIL import Image

    out = Path(out)
    if out.suffix.lower() != ".png":
        raise UsageError(f"the marker sheet is a PNG: give --out a .png name, not {out.name!r}")
    if out.exists():
        raise UsageError(f"{out} exists; choose a new file (the sheet never overwrites one)")
    page = marker_sheet(side_mm, dpi)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(page).save(out, dpi=(dpi, dpi))
    return out
