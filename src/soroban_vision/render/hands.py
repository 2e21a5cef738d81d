"""A hand over the soroban, seen from above: the back of a right or left hand whose index fingertip
rests on (or pushes) a bead, the other fingers stretched or curled, the thumb at the side, the
palm and the forearm reaching in from an edge of the image.

Every part is a shaded solid: fingers and the forearm are tapered capsules, lit as cylinders
with rounded ends, the palm a rounded slab lit from its distance to the rim. Nails, knuckle
creases, contact shading where parts overlap and a soft cast shadow on what lies below make it
read as a hand, not a blob. `place_hand` tries poses until the hand covers 1-4 rods by the rule
in `conditions` (COVERED_SHARE of a heaven or earth track).

Coordinates are those of the image drawn on (a scene photo, or a column's flat canvas).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from soroban_vision.render.conditions import COVERED_SHARE

SKIN_TONES = [(243, 204, 178), (228, 178, 146), (205, 145, 110), (168, 110, 78), (124, 80, 54), (88, 58, 42)]
# (base, tip) of the fingers of a right hand seen from above, in finger widths; the index tip is
# the origin and the fingers point to -y. Stretched and curled tips for middle, ring and pinky.
_INDEX = ((0.1, 3.4), (0.0, 0.0), 0.56, 0.5)
_FINGERS = [
    ((1.05, 3.55), (1.0, -0.35), (1.05, 2.1), 0.56, 0.5),
    ((2.0, 3.8), (2.05, 0.3), (2.0, 2.5), 0.53, 0.47),
    ((2.85, 4.2), (3.0, 1.4), (2.85, 3.1), 0.46, 0.4),
]
_THUMB = ((-0.45, 6.2), (-1.4, 3.3), (-0.95, 4.7), 0.62, 0.55)
_PALM_CORNERS = np.array([(-0.6, 3.2), (3.3, 3.8), (3.55, 6.0), (2.9, 7.9), (0.2, 8.0), (-1.0, 6.3)])


def _rounded(poly: np.ndarray, times: int = 3) -> np.ndarray:
    """Chaikin's corner cutting: a polygon with its corners rounded off."""
    for _ in range(times):
        nxt = np.roll(poly, -1, axis=0)
        poly = np.stack([0.75 * poly + 0.25 * nxt, 0.25 * poly + 0.75 * nxt], axis=1).reshape(-1, 2)
    return poly


_PALM = _rounded(_PALM_CORNERS)
_FOREARM = ((1.3, 7.0), 1.75, 2.0)  # start, radius there, radius far away


@dataclass(frozen=True)
class HandPose:
    tip: tuple[float, float]  # the index fingertip, image pixels
    angle: float  # where the index finger points, degrees clockwise from image-up
    finger: float  # a finger's width, pixels
    left: bool  # a left hand is the right one mirrored
    stretched: tuple[bool, bool, bool]  # middle, ring, pinky
    thumb_out: bool
    skin: tuple[int, int, int]

    def params(self) -> dict:
        return {
            "tip": [round(self.tip[0], 2), round(self.tip[1], 2)],
            "angle_deg": round(self.angle, 2),
            "finger_px": round(self.finger, 2),
            "left": self.left,
            "stretched": list(self.stretched),
            "thumb_out": self.thumb_out,
            "skin": list(self.skin),
        }


def _to_image(pose: HandPose, pts) -> np.ndarray:
    """Hand coordinates (finger widths) -> image pixels."""
    p = np.asarray(pts, np.float64).reshape(-1, 2) * pose.finger
    if pose.left:
        p[:, 0] = -p[:, 0]
    a = np.deg2rad(pose.angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return p @ rot.T + pose.tip


def parts(pose: HandPose, reach: float) -> list[tuple]:
    """The hand's solids, back to front: ("capsule", p0, p1, r0, r1, is_finger) or ("slab", poly)."""
    f = pose.finger
    out = []
    start, r0, r1 = _FOREARM
    far = np.add(start, (0, reach / f))
    p0, p1 = _to_image(pose, [start, far])
    out.append(("capsule", p0, p1, r0 * f, r1 * f, False))
    base, tip, tucked, rb, rt = _THUMB
    p0, p1 = _to_image(pose, [base, tip if pose.thumb_out else tucked])
    out.append(("capsule", p0, p1, rb * f, rt * f, True))
    out.append(("slab", _to_image(pose, _PALM)))
    for (base, tip, curled, rb, rt), stretched in reversed(list(zip(_FINGERS, pose.stretched, strict=True))):
        p0, p1 = _to_image(pose, [base, tip if stretched else curled])
        out.append(("capsule", p0, p1, rb * f, rt * f, stretched))
    base, tip, rb, rt = _INDEX
    p0, p1 = _to_image(pose, [base, tip])
    out.append(("capsule", p0, p1, rb * f, rt * f, True))
    return out


def _capsule(shape, p0, p1, r0, r1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coverage (0-1), the surface normal [H,W,3] and the position along the axis (0 base, 1 tip)."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.subtract(p1, p0).astype(np.float32)
    length2 = max(float(d @ d), 1e-6)
    t = np.clip(((xs - p0[0]) * d[0] + (ys - p0[1]) * d[1]) / length2, 0, 1)
    cx, cy = p0[0] + t * d[0], p0[1] + t * d[1]
    r = r0 + t * (r1 - r0)
    dx, dy = xs - cx, ys - cy
    dist = np.sqrt(dx * dx + dy * dy)
    cover = np.clip(r - dist + 0.5, 0, 1)
    nx, ny = np.clip(dx / r, -1, 1), np.clip(dy / r, -1, 1)
    nz = np.sqrt(np.clip(1 - nx * nx - ny * ny, 0, 1))
    return cover, np.stack([nx, ny, nz], axis=-1), t


def _slab(shape, poly, f: float) -> tuple[np.ndarray, np.ndarray]:
    """Coverage and normal of the palm: flat on top, rounding off over about a finger width at the rim."""
    h, w = shape
    big = np.zeros((h, w), np.uint8)
    cv2.fillPoly(big, [np.round(poly * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    cover = big.astype(np.float32) / 255
    depth = cv2.distanceTransform((big > 127).astype(np.uint8), cv2.DIST_L2, 5)
    depth = cv2.GaussianBlur(depth, (0, 0), max(0.8, 0.25 * f))
    gx = cv2.Sobel(depth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(depth, cv2.CV_32F, 0, 1, ksize=3)
    norm = np.sqrt(gx * gx + gy * gy) + 1e-6
    up = np.clip(depth / (1.4 * f), 0, 1)
    nz = np.sin(up * np.pi / 2) * 0.9 + 0.1
    side = np.sqrt(np.clip(1 - nz * nz, 0, 1))
    return cover, np.stack([-gx / norm * side, -gy / norm * side, nz], axis=-1)


def hand_alpha(shape: tuple[int, int], pose: HandPose) -> np.ndarray:
    """The hand's coverage, 0-1 float32 [H,W], cheap: for deciding which rods it covers."""
    mask = np.zeros(shape, np.uint8)
    for part in parts(pose, 2.5 * max(shape)):
        if part[0] == "slab":
            cv2.fillPoly(mask, [np.round(part[1] * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
            continue
        _, p0, p1, r0, r1, _ = part
        side = np.array([-(p1 - p0)[1], (p1 - p0)[0]]) / max(np.linalg.norm(p1 - p0), 1e-6)
        quad = np.array([p0 + side * r0, p1 + side * r1, p1 - side * r1, p0 - side * r0])
        cv2.fillConvexPoly(mask, np.round(quad * 16).astype(np.int32), 255, cv2.LINE_AA, 4)
        for c, r in ((p0, r0), (p1, r1)):
            cv2.circle(mask, tuple(np.round(c * 16).astype(int)), round(r * 16), 255, -1, cv2.LINE_AA, 4)
    return mask.astype(np.float32) / 255


def track_cover(alpha: np.ndarray, tracks: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[float, float]]:
    """Per rod, the share of its heaven and of its earth track (4-point polygons) the hand hides."""
    solid = (alpha > 0.5).astype(np.uint8)
    h, w = alpha.shape
    out = []
    for lanes in tracks:
        shares = []
        for poly in lanes:
            x0, y0 = np.floor(poly.min(axis=0)).astype(int)
            x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + 1
            lane = np.zeros((y1 - y0, x1 - x0), np.uint8)
            cv2.fillConvexPoly(lane, np.round((poly - [x0, y0]) * 16).astype(np.int32), 1, cv2.LINE_8, 4)
            seen = np.zeros_like(lane)
            cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
            if cx1 > cx0 and cy1 > cy0:
                seen[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0] = solid[cy0:cy1, cx0:cx1]
            total = int(lane.sum())
            shares.append(float((lane & seen).sum()) / total if total else 0.0)
        out.append((shares[0], shares[1]))
    return out


def covered_rods(cover: list[tuple[float, float]]) -> list[int]:
    return [i for i, (heaven, earth) in enumerate(cover) if max(heaven, earth) > COVERED_SHARE]


# (edge the hand comes in from, its share, the finger's direction: mean and spread in degrees)
_EDGES = (
    ("bottom", 0.6, 0.0, 40.0),
    ("right", 0.18, -90.0, 35.0),
    ("left", 0.14, 90.0, 35.0),
    ("top", 0.08, 180.0, 30.0),
)


def random_pose(rng: np.random.Generator, tip, finger: float) -> HandPose:
    """A hand whose index fingertip is at `tip`, reaching in from a random edge."""
    k = int(rng.choice(len(_EDGES), p=[e[1] for e in _EDGES]))
    edge, _, mean, spread = _EDGES[k]
    left = edge == "left" or (edge in ("bottom", "top") and rng.random() < 0.3)
    tone = np.asarray(SKIN_TONES[int(rng.integers(len(SKIN_TONES)))], np.float64)
    skin = tuple(int(v) for v in np.clip(tone * rng.uniform(0.92, 1.08) + rng.normal(0, 4, 3), 0, 255))
    return HandPose(
        tip=(float(tip[0]), float(tip[1])),
        angle=float(mean + rng.uniform(-spread, spread)),
        finger=float(finger),
        left=bool(left),
        stretched=tuple(bool(v) for v in rng.random(3) < [0.55, 0.4, 0.3]),
        thumb_out=bool(rng.random() < 0.5),
        skin=skin,
    )


def place_hand(
    rng: np.random.Generator,
    shape: tuple[int, int],
    aims: np.ndarray,
    tracks: list[tuple[np.ndarray, np.ndarray]],
    finger: float,
    want: tuple[int, int] = (1, 4),
    tries: int = 12,
) -> tuple[HandPose, list[tuple[float, float]], list[int]]:
    """A pose covering want[0]-want[1] rods: the fingertip on one of `aims` ([rods, k, 2], points
    per rod), tried up to `tries` times (the last try is kept if none fits)."""
    for _ in range(tries):
        rod = int(rng.integers(aims.shape[0]))
        tip = aims[rod, int(rng.integers(aims.shape[1]))]
        pose = random_pose(rng, tip, finger * rng.uniform(0.9, 1.1))
        cover = track_cover(hand_alpha(shape, pose), tracks)
        rods = covered_rods(cover)
        if want[0] <= len(rods) <= want[1]:
            break
    return pose, cover, rods
