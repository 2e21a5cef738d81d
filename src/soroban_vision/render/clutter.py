"""The table a scene's soroban lies on: its edge, and the clutter a person leaves next to a soroban
(rectangles, paper, pens, blobs, rings, printed numbers), drawn straight into the image."""

from __future__ import annotations

import cv2
import numpy as np

DISTRACTORS = ("rectangle", "paper", "pen", "blob", "ring", "text")


def random_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def _fixed(point) -> tuple[int, int]:
    """A float point in cv2's fixed point with 4 fractional bits (shift=4)."""
    return (round(float(point[0]) * 16), round(float(point[1]) * 16))


def table_edge(img: np.ndarray, box: np.ndarray, rng: np.random.Generator) -> dict:
    """Sometimes the table ends between the soroban (inside `box`) and an image border."""
    h, w = img.shape[:2]
    (x0, y0), (x1, y1) = box
    gaps = {"top": y0, "bottom": h - y1, "left": x0, "right": w - x1}
    room = [k for k, g in gaps.items() if g >= 16]
    if rng.random() > 0.4 or not room:
        return {}
    side = room[int(rng.integers(len(room)))]
    a, b = rng.uniform(0.2, 0.85, 2) * gaps[side]
    poly = {
        "top": [(0, 0), (w, 0), (w, b), (0, a)],
        "bottom": [(0, h), (w, h), (w, h - b), (0, h - a)],
        "left": [(0, 0), (0, h), (b, h), (a, 0)],
        "right": [(w, 0), (w, h), (w - b, h), (w - a, 0)],
    }[side]
    pts = np.round(np.array(poly) * 16).astype(np.int32)
    cv2.fillPoly(img, [pts], random_colour(rng), cv2.LINE_AA, 4)
    rim = tuple(int(v) for v in rng.integers(0, 256, 3))
    cv2.polylines(img, [pts[2:]], False, rim, int(rng.integers(1, 5)), cv2.LINE_AA, 4)
    return {"side": side}


def distractors(img: np.ndarray, rng: np.random.Generator) -> list[str]:
    """2-9 things on the table, anywhere (partly outside the image too); their kinds in order."""
    h, w = img.shape[:2]
    size = min(h, w)
    kinds = []
    for _ in range(int(rng.integers(2, 10))):
        kind = DISTRACTORS[int(rng.integers(len(DISTRACTORS)))]
        kinds.append(kind)
        centre = rng.uniform(-0.1, 1.1, 2) * [w, h]
        colour = random_colour(rng)
        if kind in ("rectangle", "paper"):
            _box(img, rng, centre, colour, size, paper=kind == "paper")
        elif kind == "pen":
            _pen(img, rng, centre, colour, size)
        elif kind == "blob":
            _blob(img, rng, centre, colour, size)
        elif kind == "ring":
            _ring(img, rng, centre, colour, size)
        else:
            _text(img, rng, centre, colour)
    return kinds


def _box(img, rng, centre, colour, size: int, paper: bool) -> None:
    """A rectangle (filled or outlined), or a sheet of ruled paper."""
    dims = (rng.uniform(0.08, 0.6) * size, rng.uniform(0.05, 0.45) * size)
    box = cv2.boxPoints(((centre[0], centre[1]), dims, rng.uniform(0, 180)))
    pts = np.round(box * 16).astype(np.int32)
    if paper:
        colour = tuple(int(v) for v in rng.integers(205, 256) - rng.integers(0, 25, 3))
    if paper or rng.random() < 0.7:
        cv2.fillPoly(img, [pts], colour, cv2.LINE_AA, 4)
    thick = int(rng.integers(1, 4))
    outline = random_colour(rng) if rng.random() < 0.5 else colour
    cv2.polylines(img, [pts], True, outline, thick, cv2.LINE_AA, 4)
    if paper:  # ruled lines
        ink = random_colour(rng)
        a, b, c, _ = box
        for t in np.arange(rng.uniform(0.08, 0.2), 1, rng.uniform(0.08, 0.2)):
            p, q = a + t * (c - b) + 0.05 * (b - a), b + t * (c - b) - 0.05 * (b - a)
            cv2.line(img, _fixed(p), _fixed(q), ink, 1, cv2.LINE_AA, 4)


def _pen(img, rng, centre, colour, size: int) -> None:
    angle = rng.uniform(0, np.pi)
    half = rng.uniform(0.1, 0.35) * size * np.array([np.cos(angle), np.sin(angle)])
    p, q = centre - half, centre + half
    cv2.line(img, _fixed(p), _fixed(q), colour, int(rng.integers(2, 9)), cv2.LINE_AA, 4)


def _blob(img, rng, centre, colour, size: int) -> None:
    radius = rng.uniform(0.04, 0.2) * size
    n = int(rng.integers(6, 12))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = radius * rng.uniform(0.5, 1.0, n)
    pts = centre + np.stack([np.cos(angles), np.sin(angles)], axis=1) * radii[:, None]
    cv2.fillPoly(img, [np.round(pts * 16).astype(np.int32)], colour, cv2.LINE_AA, 4)


def _ring(img, rng, centre, colour, size: int) -> None:
    axes = (rng.uniform(0.03, 0.15) * size, rng.uniform(0.03, 0.15) * size)
    thick = -1 if rng.random() < 0.4 else int(rng.integers(2, 8))
    cv2.ellipse(img, (tuple(centre), axes, rng.uniform(0, 180)), colour, thick, cv2.LINE_AA)


def _text(img, rng, centre, colour) -> None:
    """Printed numbers and words."""
    text = "".join("0123456789 +-=abcdefxyz"[int(i)] for i in rng.integers(0, 23, int(rng.integers(2, 9))))
    font = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_PLAIN)[int(rng.integers(3))]
    scale = rng.uniform(0.4, 1.8)
    org = tuple(int(v) for v in centre)
    cv2.putText(img, text, org, font, scale, colour, int(rng.integers(1, 4)), cv2.LINE_AA)
