"""Render a whole soroban in a cluttered scene, as a phone camera would see it.

A flat, front-on soroban (`drawing.draw_abacus`) is viewed through a random pinhole camera:
the soroban plane is tilted up to 25° (rotations about the x and y axes) and turned up to
10° in the image plane, then scaled and shifted so the frame fills roughly 45-90% of the
image width (less when a tall, narrow soroban would not fit) and stays wholly inside the
image. It is laid on a textured table with clutter around it (rectangles, pens, blobs,
rings, printed numbers, maybe a table edge), then photographed (`camera.photograph`).

Coordinates are image pixels in OpenCV's convention: the centre of the top-left pixel is
(0, 0), x grows right, y grows down. Every quad is 4 points clockwise from the top-left:
top-left, top-right, bottom-right, bottom-left, as seen on the upright soroban.

Marker convention (`markers=True`), for readers that recover the frame from markers:

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

The ground truth of a scene is a JSON-serialisable dict: see `render_scene`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from soroban_vision.beads import to_digits
from soroban_vision.data import MANIFEST, fresh_folder, map_in_order, write_json_atomic
from soroban_vision.errors import DatasetError
from soroban_vision.preprocess import SPEC
from soroban_vision.render import camera
from soroban_vision.render.column import fill_background
from soroban_vision.render.drawing import Layout, draw_abacus, random_layout, random_style

FORMAT = "soroban-vision/scenes"
SIZE = (640, 480)  # width, height
MAX_COLUMNS = 17
MAX_TILT_DEG = 25.0
MAX_ROLL_DEG = 10.0
FRAME_WIDTH_FRACTION = (0.45, 0.9)
ARUCO_DICTIONARY = cv2.aruco.DICT_4X4_50
MARKER_IDS = (0, 1, 2, 3)  # top-left, top-right, bottom-right, bottom-left
MARKER_SIDE_PITCHES = (0.9, 1.2)
MARKER_QUIET_FRACTION = (0.17, 0.3)  # card margin on the frame's side, of the marker's side
# How far (RMS over the 4 corners, of the marker's side) the card's corners lie from the
# marker's: ArucoDetector merges candidates nearer than 0.125 of a perimeter (0.5 side).
MARKER_CARD_OFFSET = 0.62
MARKER_BITS = 6  # 4x4 data bits and a one-bit black border


def _r2(x) -> float:
    return round(float(x), 2)


def _r4(x) -> float:
    return round(float(x), 4)


def _pts(points: np.ndarray) -> list[list[float]]:
    return [[_r2(x), _r2(y)] for x, y in points]


def _apply(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    p = np.asarray(points, np.float64).reshape(-1, 2)
    q = np.concatenate([p, np.ones((len(p), 1))], axis=1) @ h.T
    return q[:, :2] / q[:, 2:3]


@functools.cache
def marker_bits(marker_id: int) -> np.ndarray:
    """The marker as a 6x6 uint8 image, one pixel per bit (0 black, 255 white)."""
    dictionary = cv2.aruco.getPredefinedDictionary(ARUCO_DICTIONARY)
    return cv2.aruco.generateImageMarker(dictionary, marker_id, MARKER_BITS)


def _check_args(number, columns, size) -> tuple[int, int]:
    if not isinstance(columns, int) or isinstance(columns, bool) or not 1 <= columns <= MAX_COLUMNS:
        raise ValueError(f"a scene's soroban has 1-{MAX_COLUMNS} columns, got {columns!r}")
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size is (width, height), got {size!r}") from None
    if w < 64 or h < 64:
        raise ValueError(f"a scene is at least 64x64 pixels, got {w}x{h}")
    to_digits(number, columns)  # a ValueError if the number is not one the rods can show
    return w, h


# --------------------------------------------------------------------------- the view


def _rotation(rx: float, ry: float, rz: float) -> np.ndarray:
    cx, sx, cy, sy, cz, sz = np.cos(rx), np.sin(rx), np.cos(ry), np.sin(ry), np.cos(rz), np.sin(rz)
    rot_x = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    rot_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rot_z = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rot_z @ rot_y @ rot_x


@dataclasses.dataclass(frozen=True)
class View:
    """A camera pose: the soroban plane's tilt and roll, the camera distance, the framing."""

    tilt_x: float  # radians, about the soroban's horizontal axis (top away or toward)
    tilt_y: float  # radians, about its vertical axis
    roll: float  # radians, in the image plane
    distance: float  # camera distance, in units of the frame's longer side
    width_fraction: float  # of the image width the frame's projection aims to fill
    where: tuple[float, float]  # where the soroban sits in the free room, 0-1 each way

    def params(self) -> dict:
        return {
            "tilt_x_deg": _r4(np.rad2deg(self.tilt_x)),
            "tilt_y_deg": _r4(np.rad2deg(self.tilt_y)),
            "tilt_deg": _r4(np.rad2deg(np.arccos(np.cos(self.tilt_x) * np.cos(self.tilt_y)))),
            "roll_deg": _r4(np.rad2deg(self.roll)),
            "distance": _r4(self.distance),
        }


def random_view(rng: np.random.Generator) -> View:
    limit = np.deg2rad(MAX_TILT_DEG)
    while True:  # rotations about x and y, with the plane's total tilt within the limit
        rx, ry = rng.uniform(-limit, limit, 2)
        if np.cos(rx) * np.cos(ry) >= np.cos(limit):
            break
    return View(
        tilt_x=float(rx),
        tilt_y=float(ry),
        roll=float(np.deg2rad(rng.uniform(-MAX_ROLL_DEG, MAX_ROLL_DEG))),
        distance=float(rng.uniform(1.4, 3.0)),
        width_fraction=float(rng.uniform(*FRAME_WIDTH_FRACTION)),
        where=(float(rng.random()), float(rng.random())),
    )


def view_homography(view: View, frame: np.ndarray, content: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The homography flat -> image pixels for `view`.

    `frame` is the flat frame's 4 corners, `content` every flat point that must be seen
    (frame and marker cards). The plane is rotated in 3D about the frame's centre, seen by a
    pinhole camera, then scaled and shifted in the image (a pinhole camera's focal length
    and principal point) to fill the asked share of the width with everything inside.
    """
    w, h = size
    centre = frame.mean(axis=0)
    side = np.ptp(frame, axis=0).max()
    norm = np.array([[1 / side, 0, -centre[0] / side], [0, 1 / side, -centre[1] / side], [0, 0, 1]])
    rot = _rotation(view.tilt_x, view.tilt_y, view.roll)
    project = np.array(
        [[rot[0, 0], rot[0, 1], 0], [rot[1, 0], rot[1, 1], 0], [rot[2, 0], rot[2, 1], view.distance]]
    )
    m = project @ norm
    f, c = _apply(m, frame), _apply(m, content)
    pad = max(2.0, 0.02 * min(w, h))
    scale = min(
        view.width_fraction * w / np.ptp(f[:, 0]),
        (w - 2 * pad) / np.ptp(c[:, 0]),
        (h - 2 * pad) / np.ptp(c[:, 1]),
    )
    lo = pad - scale * c.min(axis=0)
    hi = np.array([w, h]) - pad - scale * c.max(axis=0)
    shift = lo + np.asarray(view.where) * (hi - lo)
    fit = np.array([[scale, 0, shift[0]], [0, scale, shift[1]], [0, 0, 1]])
    return fit @ m


# --------------------------------------------------------------------------- the flat soroban


def _scaled(layout: Layout, k: float) -> Layout:
    """The layout drawn k times larger, nudged (by under a pixel) to a whole pixel size."""
    lengths = {f.name: getattr(layout, f.name) * k for f in dataclasses.fields(layout)}
    lengths["rods"], lengths["bead_round"] = layout.rods, layout.bead_round
    big = Layout(**lengths)
    return dataclasses.replace(
        big,
        side=big.side + (round(big.width) - big.width) / 2,
        rail=big.rail + (round(big.height) - big.height) / 2,
    )


def _marker_cards(
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


def _paste(img: np.ndarray, quad: np.ndarray, patch) -> None:
    """Fill the pixels of an axis-aligned quad whose edges lie on pixel boundaries."""
    x0, y0 = np.round(quad[0] + 0.5).astype(int)
    x1, y1 = np.round(quad[2] + 0.5).astype(int)
    img[y0:y1, x0:x1] = patch


# --------------------------------------------------------------------------- the scene


def _random_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def _table_edge(img: np.ndarray, box: np.ndarray, rng: np.random.Generator) -> dict:
    """Sometimes the table ends between the soroban and an image border."""
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
    cv2.fillPoly(img, [pts], _random_colour(rng), cv2.LINE_AA, 4)
    rim = tuple(int(v) for v in rng.integers(0, 256, 3))
    cv2.polylines(img, [pts[2:]], False, rim, int(rng.integers(1, 5)), cv2.LINE_AA, 4)
    return {"side": side}


def _blob(rng: np.random.Generator, centre: np.ndarray, radius: float) -> np.ndarray:
    n = int(rng.integers(6, 12))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = radius * rng.uniform(0.5, 1.0, n)
    return centre + np.stack([np.cos(angles), np.sin(angles)], axis=1) * radii[:, None]


DISTRACTORS = ("rectangle", "paper", "pen", "blob", "ring", "text")


def _fixed(point) -> tuple[int, int]:
    """A float point in cv2's fixed point with 4 fractional bits (shift=4)."""
    return (round(float(point[0]) * 16), round(float(point[1]) * 16))


def _distractors(img: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Clutter on the table: things a person leaves next to a soroban."""
    h, w = img.shape[:2]
    size = min(h, w)
    kinds = []
    for _ in range(int(rng.integers(2, 10))):
        kind = DISTRACTORS[int(rng.integers(len(DISTRACTORS)))]
        kinds.append(kind)
        centre = rng.uniform(-0.1, 1.1, 2) * [w, h]
        colour = _random_colour(rng)
        if kind in ("rectangle", "paper"):
            dims = (rng.uniform(0.08, 0.6) * size, rng.uniform(0.05, 0.45) * size)
            box = cv2.boxPoints(((centre[0], centre[1]), dims, rng.uniform(0, 180)))
            pts = np.round(box * 16).astype(np.int32)
            if kind == "paper":
                colour = tuple(int(v) for v in rng.integers(205, 256) - rng.integers(0, 25, 3))
            if kind == "paper" or rng.random() < 0.7:
                cv2.fillPoly(img, [pts], colour, cv2.LINE_AA, 4)
            thick = int(rng.integers(1, 4))
            outline = _random_colour(rng) if rng.random() < 0.5 else colour
            cv2.polylines(img, [pts], True, outline, thick, cv2.LINE_AA, 4)
            if kind == "paper":  # ruled lines
                ink = _random_colour(rng)
                a, b, c, _ = box
                for t in np.arange(rng.uniform(0.08, 0.2), 1, rng.uniform(0.08, 0.2)):
                    p, q = a + t * (c - b) + 0.05 * (b - a), b + t * (c - b) - 0.05 * (b - a)
                    cv2.line(img, _fixed(p), _fixed(q), ink, 1, cv2.LINE_AA, 4)
        elif kind == "pen":
            angle = rng.uniform(0, np.pi)
            half = rng.uniform(0.1, 0.35) * size * np.array([np.cos(angle), np.sin(angle)])
            p, q = centre - half, centre + half
            cv2.line(img, _fixed(p), _fixed(q), colour, int(rng.integers(2, 9)), cv2.LINE_AA, 4)
        elif kind == "blob":
            pts = _blob(rng, centre, rng.uniform(0.04, 0.2) * size)
            cv2.fillPoly(img, [np.round(pts * 16).astype(np.int32)], colour, cv2.LINE_AA, 4)
        elif kind == "ring":
            axes = (rng.uniform(0.03, 0.15) * size, rng.uniform(0.03, 0.15) * size)
            thick = -1 if rng.random() < 0.4 else int(rng.integers(2, 8))
            cv2.ellipse(
                img,
                (tuple(centre), axes, rng.uniform(0, 180)),
                colour,
                thick,
                cv2.LINE_AA,
            )
        else:  # printed numbers and words
            text = "".join(
                "0123456789 +-=abcdefxyz"[int(i)] for i in rng.integers(0, 23, int(rng.integers(2, 9)))
            )
            font = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_PLAIN)[
                int(rng.integers(3))
            ]
            scale = rng.uniform(0.4, 1.8)
            org = tuple(int(v) for v in centre)
            cv2.putText(img, text, org, font, scale, colour, int(rng.integers(1, 4)), cv2.LINE_AA)
    return kinds


def _roi(box: np.ndarray, grow: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The pixel rectangle x0, y0, x1, y1 around a float box, grown, within the image."""
    (x0, y0), (x1, y1) = box
    w, h = size
    return (
        max(0, int(np.floor(x0 - grow))),
        max(0, int(np.floor(y0 - grow))),
        min(w, int(np.ceil(x1 + grow)) + 1),
        min(h, int(np.ceil(y1 + grow)) + 1),
    )


def _warp_roi(src: np.ndarray, hom: np.ndarray, roi: tuple[int, int, int, int]) -> np.ndarray:
    """The part `roi` of warpPerspective(src, hom): the rest would be masked out anyway."""
    x0, y0, x1, y1 = roi
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]]) @ hom
    return cv2.warpPerspective(src, shift, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)


def _composite_roi(back: np.ndarray, front: np.ndarray, alpha_u8: np.ndarray, roi) -> None:
    """back[roi] = front over back[roi], with alpha 0-255; in place."""
    x0, y0, x1, y1 = roi
    a = alpha_u8.astype(np.float32) * np.float32(1 / 255)
    back[y0:y1, x0:x1] = cv2.blendLinear(front, back[y0:y1, x0:x1], a, 1 - a)


def render_scene(
    number: int, columns: int, seed: int, markers: bool, size: tuple[int, int] = SIZE
) -> tuple[np.ndarray, dict]:
    """An RGB uint8 [H,W,3] photo of a soroban with `columns` rods showing `number`.

    Leading rods show 0. The same arguments always give the same bytes. The truth dict:

    - number, digits (most significant first), columns, markers, size [w, h], seed;
    - corners: the frame's 4 outer corners in image pixels, clockwise from top-left;
    - column_quads: per rod, left to right, the quad of its column crop (centred on the rod,
      SPEC["crop"]["width_pitches"] pitches wide, the frame's full outer height);
    - marker_corners (only with markers): per id 0-3, the black square's 4 corners in the
      order ArucoDetector reports them (the marker's own top-left first, clockwise);
    - params: how the scene was made (view angles, layout, style, clutter, camera effects,
      and `homography`: flat frame coordinates (origin at the frame's outer top-left,
      lengths as in params.layout) -> image pixels).
    """
    w, h = _check_args(number, columns, size)
    digits = to_digits(number, columns)
    rng = np.random.default_rng([seed, number, columns, int(bool(markers)), w, h])
    unit = random_layout(rng, rods=columns, pitch=1.0)
    style = random_style(rng)
    view = random_view(rng)
    marker_side = rng.uniform(*MARKER_SIDE_PITCHES)
    # the quiet zone over the frame covers frame only, never a bead
    quiet_in = min(rng.uniform(*MARKER_QUIET_FRACTION), 0.9 * min(unit.side, unit.rail) / marker_side)
    quiet_out = np.sqrt(MARKER_CARD_OFFSET**2 - quiet_in**2) * rng.uniform(1.0, 1.25)

    # 1. How big the rods will be in the image: draw the flat soroban at about that size.
    def content(lay: Layout, side: float) -> np.ndarray:
        pts = [lay.corners()]
        if markers:
            pts += [card for _, card in _marker_cards(lay, 0.0, side, side * quiet_in, side * quiet_out)]
        return np.concatenate(pts)

    m_unit = view_homography(view, unit.corners(), content(unit, marker_side), (w, h))
    centre = unit.corners().mean(axis=0)
    pitch_px = float(np.linalg.norm(np.subtract(*_apply(m_unit, [centre - [0.5, 0], centre + [0.5, 0]]))))
    scale = float(np.clip(1.3 * pitch_px, 10.0, 64.0))  # flat pixels per pitch
    layout = _scaled(unit, scale)
    bit = max(2, round(marker_side * scale / MARKER_BITS))
    side_px = bit * MARKER_BITS
    quiet_in_px = max(1, min(round(side_px * quiet_in), int(0.9 * min(layout.side, layout.rail))))
    quiet_out_px = round(side_px * quiet_out)
    margin = (side_px + quiet_out_px + 2) if markers else 2
    origin = margin - 0.5  # frame edges on pixel boundaries, so markers are pasted exactly
    cw, ch = round(layout.width) + 2 * margin, round(layout.height) + 2 * margin

    # 2. The exact view of this drawing.
    frame = layout.corners() + origin
    cards = _marker_cards(layout, origin, side_px, quiet_in_px, quiet_out_px) if markers else []
    everything = np.concatenate([frame] + [card for _, card in cards])
    hom = view_homography(view, frame, everything, (w, h))

    # 3. The table, seen through the frame too, and the soroban drawn over it.
    table = np.empty((h, w, 3), np.uint8)
    texture = style.background_texture or float(rng.uniform(0.0, 0.15))
    fill_background(table, style.background, texture, rng)
    flat = cv2.warpPerspective(
        table, hom, (cw, ch), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT
    )
    mask = np.zeros((ch, cw), np.uint8)
    paper = tuple(int(v) for v in rng.integers(215, 256) - rng.integers(0, 20, 3))
    ink = int(rng.integers(0, 50))
    draw_abacus(flat, layout, style, digits, (origin, origin), rng)
    _paste(mask, frame, 255)
    for marker_id, (square, card) in enumerate(cards):  # ids 0-3 in corner order
        _paste(flat, card, paper)  # a sticker over the frame's corner: quiet zone all round
        _paste(mask, card, 255)
        bits = cv2.resize(marker_bits(marker_id), None, fx=bit, fy=bit, interpolation=cv2.INTER_NEAREST)
        _paste(flat, square, np.where(bits[..., None] > 0, np.array(paper), ink).astype(np.uint8))

    # 4. The scene: clutter on the table, the soroban's soft shadow, the soroban.
    scene = table  # the flat drawing has taken what it needs of the bare table
    seen = _apply(hom, everything)
    box = np.array([seen.min(axis=0), seen.max(axis=0)])
    edge = _table_edge(scene, box, rng)
    clutter = _distractors(scene, rng)
    drop = {}
    if rng.random() < 0.6:
        offset = rng.uniform(-0.25, 0.25, 2) * pitch_px
        depth = rng.uniform(0.15, 0.45)
        sigma = max(0.5, 0.15 * pitch_px)
        moved = np.array([[1, 0, offset[0]], [0, 1, offset[1]], [0, 0, 1]]) @ hom
        roi = _roi(box, np.abs(offset).max() + 4 * sigma, (w, h))
        shade = _warp_roi(mask, moved, roi)
        ksize = 2 * round(2 * sigma) + 1
        shade = cv2.stackBlur(shade, (ksize, ksize))  # a Gaussian's look at any size, in constant time
        _composite_roi(scene, np.zeros(shade.shape + (3,), np.uint8), (shade * depth).astype(np.uint8), roi)
        drop = {"offset": [_r4(offset[0]), _r4(offset[1])], "depth": _r4(depth)}
    roi = _roi(box, 2, (w, h))
    _composite_roi(scene, _warp_roi(flat, hom, roi), _warp_roi(mask, hom, roi), roi)

    # 5. The camera.
    blur_scale = float(np.clip(pitch_px / 50, 0.3, 0.8))
    rgb, photo = camera.photograph(scene, rng, blur_scale=blur_scale)

    to_image = hom @ np.array([[1, 0, origin], [0, 1, origin], [0, 0, 1]])  # frame coords -> image
    width_pitches = SPEC["crop"]["width_pitches"]
    truth = {
        "number": number,
        "digits": digits,
        "columns": columns,
        "markers": bool(markers),
        "size": [w, h],
        "seed": seed,
        "corners": _pts(_apply(to_image, layout.corners())),
        "column_quads": [
            _pts(_apply(to_image, layout.column_quad(i, width_pitches))) for i in range(columns)
        ],
    }
    if markers:
        truth["marker_corners"] = [_pts(_apply(hom, square)) for square, _ in cards]
    f_img = _apply(to_image, layout.corners())
    truth["params"] = {
        "view": {
            **view.params(),
            "frame_width_fraction": _r4(np.ptp(f_img[:, 0]) / w),
            "pitch_px": _r4(pitch_px),
        },
        "homography": [[float(f"{v:.8g}") for v in row] for row in to_image / to_image[2, 2]],
        "layout": {key: _r4(v) for key, v in vars(layout).items() if key != "rods"},
        "style": {key: (list(v) if isinstance(v, tuple) else v) for key, v in vars(style).items()},
        "marker": (
            {
                "side": side_px,
                "quiet_in": quiet_in_px,
                "quiet_out": quiet_out_px,
                "paper": list(paper),
                "ink": ink,
            }
            if markers
            else {}
        ),
        "scene": {"texture": _r4(texture), "table_edge": edge, "clutter": clutter, "shadow": drop},
        "camera": {"blur_scale": _r4(blur_scale), **photo},
    }
    return rgb, truth


# --------------------------------------------------------------------------- writing


def scene_seed(seed: int, index: int) -> int:
    """The seed of scene `index` of a set: independent streams for every (seed, index)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def _render_one(job: tuple[int, int, int, bool, tuple[int, int]]) -> tuple[bytes, dict]:
    number, columns, seed, markers, size = job
    rgb, truth = render_scene(number, columns, seed, markers, size)
    ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return png.tobytes(), truth


def write_scenes(
    out: str | Path,
    count: int,
    columns: int,
    seed: int,
    markers: bool,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    size: tuple[int, int] = SIZE,
) -> dict:
    """Render `count` scenes into `out/scene_{i:05d}.png` with `out/manifest.json`.

    Each scene shows a number drawn uniformly from 0 to 10**columns - 1. `out` must be
    missing or empty: rendering never overwrites a user's files.
    """
    out = Path(out)
    if count < 1:
        raise DatasetError(f"--count must be at least 1, got {count}")
    if not isinstance(columns, int) or not 1 <= columns <= MAX_COLUMNS:
        raise DatasetError(f"--columns must be 1-{MAX_COLUMNS}, got {columns}")
    fresh_folder(out)
    numbers = np.random.default_rng([seed, columns]).integers(0, 10**columns, count)
    size = (int(size[0]), int(size[1]))
    jobs = [(int(n), columns, scene_seed(seed, i), bool(markers), size) for i, n in enumerate(numbers)]
    items = []
    for i, (png, truth) in enumerate(map_in_order(_render_one, jobs, workers, max_chunk=16)):
        name = f"scene_{i:05d}.png"
        (out / name).write_bytes(png)
        items.append({"file": name, **truth})
        if progress:
            progress(1)
    manifest = {
        "format": FORMAT,
        "version": 1,
        "seed": seed,
        "columns": columns,
        "markers": bool(markers),
        "size": list(size),
        "items": items,
    }
    write_json_atomic(out / MANIFEST, manifest)
    return manifest
