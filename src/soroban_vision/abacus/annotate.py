"""Draw a reading over its photo: the frame, the column boxes (unread ones, hidden or out of
frame, in orange with a "?") and the digits."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from soroban_vision.abacus.read import AbacusReading


def annotate(path: str | Path, reading: AbacusReading, out: str | Path) -> None:
    """Draw the frame, the column boxes and the digits over the photo."""
    from PIL import Image

    from soroban_vision.preprocess import load_rgba_or_gray

    pixels = load_rgba_or_gray(path)  # upright by its EXIF orientation, as the reading's corners are
    img = np.array(Image.fromarray(pixels).convert("RGB"))
    scale = max(1.0, max(img.shape[:2]) / 800)  # line and text size
    corners = np.array(reading.corners).astype(np.int32)
    cv2.polylines(img, [corners], True, (0, 255, 0), max(1, int(2 * scale)), cv2.LINE_AA)
    for c in reading.columns:
        q = np.array(c.quad).astype(np.int32)
        colour = (255, 80, 0) if c.digit is None else (0, 200, 255)
        cv2.polylines(img, [q], True, colour, 1, cv2.LINE_AA)
        x, y = q[0]
        cv2.putText(
            img,
            "?" if c.digit is None else str(c.digit),
            (int(x), int(y - 4 * scale)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.6 * scale,
            colour,
            max(1, int(2 * scale)),
            cv2.LINE_AA,
        )
    cv2.putText(
        img,
        reading.text,
        (10, int(30 * scale)),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 0),
        max(1, int(2 * scale)),
        cv2.LINE_AA,
    )
    Image.fromarray(img).save(out)
