"""The camera's view of a flat soroban: a random pose and the homography flat -> image pixels.

The soroban plane is tilted up to 25° (rotations about the x and y axes) and turned up to 10°
in the image plane, seen by a pinhole camera, then scaled and shifted so the frame fills
roughly 45-90% of the image width (less when a tall, narrow soroban would not fit) and
everything that must be seen stays wholly inside the image.
"""

from __future__ import annotations

import dataclasses

import numpy as np

MAX_TILT_DEG = 25.0
MAX_ROLL_DEG = 10.0
FRAME_WIDTH_FRACTION = (0.45, 0.9)


def r4(x) -> float:
    """A parameter as the truth dict records it."""
    return round(float(x), 4)


def apply_homography(h: np.ndarray, points) -> np.ndarray:
    """Points [N,2] mapped by the 3x3 homography `h`."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    q = np.concatenate([p, np.ones((len(p), 1))], axis=1) @ h.T
    return q[:, :2] / q[:, 2:3]


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
            "tilt_x_deg": r4(np.rad2deg(self.tilt_x)),
            "tilt_y_deg": r4(np.rad2deg(self.tilt_y)),
            "tilt_deg": r4(np.rad2deg(np.arccos(np.cos(self.tilt_x) * np.cos(self.tilt_y)))),
            "roll_deg": r4(np.rad2deg(self.roll)),
            "distance": r4(self.distance),
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
    f, c = apply_homography(m, frame), apply_homography(m, content)
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
