"""The frame markers of a scene (`markers=True`): the convention the readers rely on, and the
cards that carry them, in the flat soroban's coordinates.

- four ArUco markers of the dictionary DICT_4X4_50 (OpenCV `cv2.aruco`), ids 0-3 clockwise
  from the top-left: id 0 at the frame's top-left corner, id 1 top-right, id 2 bottom-right,
  id 3 bottom-left;
- each marker sits diagonally outside its frame corner, upright like the soroban, and the
  corner of its black square nearest the frame IS the frame's outer corner: id 0's
  bottom-right corner is the frame's top-left corner, id 1's bottom-left is the top-right,
  id 2's top-left is the bottom-right, id 3's top-right is the bottom-left. In the order
  `ArucoDetector.detectMarkers` returns a marker's corners (its own top-left first,
  clockwise) that is corner index 2, 3, 0 and 1 of ids 0, 1, 2 and 3: (id + 2) % 4;
- the black square's side is 0.9-1.2 rod pitches. It is printed near one corner of a white
  card stuck over the frame's corner: the card's quiet zone is narrow on the frame's side
  (15-30% of the side, never wider than the rails, so it hides only frame) and wide on the
  outer sides (so the card's own outline is not mistaken for the marker: ArucoDetector's
  default `minMarkerDistanceRate` would merge the two if the card hugged the marker).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from soroban_vision.render.composite import paste
from soroban_vision.render.drawing import Layout

ARUCO_DICTIONARY = cv2.aruco.DICT_4X4_50
MARKER_IDS = (0, 1, 2, 3)  # top-left, top-right, bottom-right, bottom-left
MARKER_SIDE_PITCHES = (0.9, 1.2)
MARKER_QUIET_FRACTION = (0.17, 0.3)  # card margin on the frame's side, of the marker's side
# How far (RMS over the 4 corners, of the marker's side) the card's corners lie from the
# marker's: ArucoDetector merges candidates nearer than 0.125 of a perimeter (0.5 side).
MARKER_CARD_OFFSET = 0.62
MARKER_BITS = 6  # 4x4 data bits and a one-bit black border


@functools.cache
def marker_bits(marker_id: int) -> np.ndarray:
    """The marker as a 6x6 uint8 image, one pixel per bit (0 black, 255 white)."""
    dictionary = cv2.aruco.getPredefinedDictionary(ARUCO_DICTIONARY)
    return cv2.aruco.generateImageMarker(dictionary, marker_id, MARKER_BITS)


@dataclass(frozen=True)
class MarkerShape:
    """A scene's markers, relative to the rods: drawn for every scene, with markers or without."""

    side: float  # the black square's side, in rod pitches
    quiet_in: float  # the card's margin towards the frame, of the square's side
    quiet_out: float  # the card's margin away from the frame, of the square's side


def random_marker_shape(rng: np.random.Generator, unit: Layout) -> MarkerShape:
    """The markers' shape for a soroban laid out with a pitch of 1 (`unit`)."""
    side = rng.uniform(*MARKER_SIDE_PITCHES)
    # the quiet zone over the frame covers frame only, never a bead
    quiet_in = min(rng.uniform(*MARKER_QUIET_FRACTION), 0.9 * min(unit.side, unit.rail) / side)
    quiet_out = np.sqrt(MARKER_CARD_OFFSET**2 - quiet_in**2) * rng.uniform(1.0, 1.25)
    return MarkerShape(side, quiet_in, quiet_out)


@dataclass(frozen=True)
class MarkerPixels:
    """The markers as drawn: whole pixels per bit, so each square is pasted exactly."""

    bit: int  # pixels per marker bit
    side: int  # the black square's side
    quiet_in: int
    quiet_out: int


def marker_pixels(shape: MarkerShape, pitch: float, layout: Layout) -> MarkerPixels:
    """`shape` in the pixels of a flat drawing with `pitch` pixels per rod pitch."""
    bit = max(2, round(shape.side * pitch / MARKER_BITS))
    side = bit * MARKER_BITS
    quiet_in = max(1, min(round(side * shape.quiet_in), int(0.9 * min(layout.side, layout.rail))))
    return MarkerPixels(bit, side, quiet_in, round(side * shape.quiet_out))


def marker_cards(
    layout: Layout, origin: float, side: float, quiet_in: float, quiet_out: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(black square, white card) corners in flat coordinates, for ids 0-3.

    The card reaches `quiet_in` past the square towards the frame, `quiet_out` away from it.
    """
    out = []
    for corner, (sx, sy) in zip(layout.corners(), ((-1, -1), (1, -1), (1, 1), (-1, 1)), strict=True):
        cx, cy = corner + origin
        xs = sorted((cx, cx + sx * side))
        ys = sorted((cy, cy + sy * side))
        square = np.array([[xs[0], ys[0]], [xs[1], ys[0]], [xs[1], ys[1]], [xs[0], ys[1]]])
        grow_x = (quiet_out, quiet_in) if sx < 0 else (quiet_in, quiet_out)
        grow_y = (quiet_out, quiet_in) if sy < 0 else (quiet_in, quiet_out)
        x0, x1, y0, y1 = xs[0] - grow_x[0], xs[1] + grow_x[1], ys[0] - grow_y[0], ys[1] + grow_y[1]
        card = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        out.append((square, card))
    return out


def stick_cards(flat: np.ndarray, mask: np.ndarray, cards, bit: int, paper, ink: int) -> None:
    """Stick each card over its frame corner (quiet zone all round) and print its marker on it."""
    for marker_id, (square, card) in enumerate(cards):  # ids 0-3 in corner order
        paste(flat, card, paper)
        paste(mask, card, 255)
        bits = cv2.resize(marker_bits(marker_id), None, fx=bit, fy=bit, interpolation=cv2.INTER_NEAREST)
        paste(flat, square, np.where(bits[..., None] > 0, np.array(paper), ink).astype(np.uint8))
