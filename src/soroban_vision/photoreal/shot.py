"""Project side: how the photo is taken, as plain data. The camera (a phone held over the table:
tilted up to 30°, turned, rolled, framing the soroban at 35-90% of the image width somewhere in
the picture, sometimes with a shallow depth of field), the lamps, the room light, the table and
what lies on it.

The camera is solved here with the same pinhole Blender uses (a 36 mm wide sensor, square
pixels), so the soroban and its markers are sure to be inside the picture; the labels are still
measured by Blender on the scene it renders.
"""

from __future__ import annotations

import numpy as np

from soroban_vision.photoreal.design import pick
from soroban_vision.render.conditions import luma

SENSOR_MM = 36.0
MARGIN_PX = 4.0  # everything of the soroban at least this far inside the picture
TILT_DEG = (0.0, 30.0)
ROLL_DEG = 8.0
WIDTH_FRACTION = (0.35, 0.9)
LIGHTS = {"normal": 0.55, "glare": 0.15, "low": 0.15, "coloured": 0.15}
TINTS = [(255, 168, 92), (120, 160, 255), (160, 255, 150), (255, 130, 220)]
TABLES = {
    "wood": [(150, 105, 65), (200, 170, 130), (90, 60, 40), (230, 215, 190)],
    "cloth": [(40, 70, 60), (120, 30, 40), (200, 200, 205), (60, 60, 70), (30, 50, 110)],
    "paper": [(245, 245, 240), (235, 225, 200), (180, 190, 200)],
}


def _unit(v) -> np.ndarray:
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v)


def camera_axes(tilt: float, azimuth: float, roll: float) -> np.ndarray:
    """Columns: the camera's right, up and backward axes in the world (radians in). Tilt 0 looks
    straight down with the soroban upright in the picture; azimuth turns where the tilt leans."""
    back = np.array([np.sin(tilt) * np.sin(azimuth), -np.sin(tilt) * np.cos(azimuth), np.cos(tilt)])
    right = _unit(np.cross(-back, [0.0, 1.0, 0.0]))
    up = np.cross(back, right)
    c, s = np.cos(roll), np.sin(roll)
    right, up = c * right + s * up, -s * right + c * up
    return np.stack([right, up, back], axis=1)


def project(points: np.ndarray, at: np.ndarray, axes: np.ndarray, focal_mm: float, size) -> np.ndarray:
    """World points [N,3] -> image pixels [N,2] (OpenCV's pixel centres), as Blender projects them."""
    w, h = size
    f = focal_mm / SENSOR_MM * w
    local = (np.asarray(points) - at) @ axes  # right, up, backward
    depth = -local[:, 2]
    return np.stack([f * local[:, 0] / depth + w / 2 - 0.5, -f * local[:, 1] / depth + h / 2 - 0.5], axis=1)


def _outline(s: dict, markers: dict | None) -> np.ndarray:
    """What must be in the picture: the frame's top corners, its feet, and the marker cards."""
    w, h = s["width"] / 2, s["height"] / 2
    reach = (markers["side"] + markers["quiet_out"]) * 1.05 if markers else 0.0
    pts = []
    for sx, sy in ((-1, 1), (1, 1), (1, -1), (-1, -1)):
        pts += [(sx * (w + reach), sy * (h + reach), s["z_top"]), (sx * w, sy * h, 0.0)]
    return np.array(pts)


def solve_camera(rng: np.random.Generator, s: dict, markers: dict | None, size) -> dict:
    """A camera pose that frames the soroban at a random width fraction and place."""
    tilt = np.radians(rng.uniform(*TILT_DEG))
    axes = camera_axes(tilt, np.radians(rng.uniform(-35, 35)), np.radians(rng.uniform(-ROLL_DEG, ROLL_DEG)))
    focal = float(rng.uniform(24, 52))
    outline = _outline(s, markers)
    top = np.array([[-s["width"] / 2, 0, s["z_top"]], [s["width"] / 2, 0, s["z_top"]]])
    fraction = rng.uniform(*WIDTH_FRACTION)
    aim = np.array([0.0, 0.0, s["z_top"]])
    for _ in range(40):  # shrink the wished-for width until the whole outline fits
        distance = 0.5
        for _ in range(4):  # the frame's width in the picture goes about as 1 / distance
            at = aim + axes[:, 2] * distance
            seen = np.ptp(project(top, at, axes, focal, size)[:, 0])
            distance *= seen / (fraction * size[0])
        at = aim + axes[:, 2] * distance
        px = project(outline, at, axes, focal, size)
        lo, hi = px.min(axis=0), px.max(axis=0)
        room_lo, room_hi = lo - MARGIN_PX, np.array(size) - 1 - MARGIN_PX - hi
        if (room_lo >= 0).all() and (room_hi >= 0).all():
            break
        fraction *= 0.96
    # slide the camera sideways so the soroban is not always in the middle (by under the room left)
    shift_px = rng.uniform(-room_lo, room_hi) * 0.85
    f_px = focal / SENSOR_MM * size[0]
    at = at + (axes[:, 1] * shift_px[1] - axes[:, 0] * shift_px[0]) * distance / f_px
    px = project(outline, at, axes, focal, size)
    if (px.min(axis=0) < MARGIN_PX / 2).any() or (px.max(axis=0) > np.array(size) - 1 - MARGIN_PX / 2).any():
        at = aim + axes[:, 2] * distance  # the slide went too far under perspective: centred
    return {"at": at.tolist(), "axes": axes.tolist(), "focal_mm": focal, "tilt_deg": float(np.degrees(tilt))}


def depth_of_field(rng: np.random.Generator, camera: dict, s: dict) -> str:
    """Sometimes a wide aperture, focused somewhere on the frame: the far side goes soft."""
    if rng.random() >= 0.3:
        return "plain"
    spot = np.array([rng.uniform(-0.3, 0.3) * s["width"], rng.uniform(-0.5, 0.5) * s["height"], s["z_top"]])
    axes = np.array(camera["axes"])
    camera["fstop"] = float(rng.uniform(1.2, 3.5))
    camera["focus_m"] = float(-(spot - np.array(camera["at"])) @ axes[:, 2])
    return "focus_falloff"


def _around(rng: np.random.Generator, distance, elevation_deg, azimuth_deg=None) -> np.ndarray:
    az = np.radians(rng.uniform(0, 360) if azimuth_deg is None else azimuth_deg)
    el = np.radians(elevation_deg)
    return distance * np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])


def _lamp(kind: str, at, target, power: float, size: float, colour) -> dict:
    colour = [int(c) for c in colour]
    return {
        "kind": kind,
        "at": [float(v) for v in at],
        "target": [float(v) for v in target],
        "power": float(power),
        "size": float(size),
        "colour": colour,
    }


def lighting(rng: np.random.Generator, s: dict, camera: dict, looks: dict) -> dict:
    """The lamps, the room light, the exposure and the sensor noise of one photo, and the name of
    its light condition. Glare makes the surfaces glossier and puts a small bright lamp where the
    table mirrors it into the camera."""
    name = pick(rng, LIGHTS)
    centre = np.array([0.0, 0.0, s["z_top"]])
    warm = (255, rng.uniform(228, 255), rng.uniform(205, 250))
    key_colour = TINTS[rng.integers(len(TINTS))] if name == "coloured" else warm
    distance = rng.uniform(0.5, 1.5)
    key_at = centre + _around(rng, distance, rng.uniform(35, 80))
    lamps = [
        _lamp("AREA", key_at, centre, rng.uniform(6, 16) * distance**2, rng.uniform(0.15, 1.0), key_colour)
    ]
    if rng.random() < 0.5:
        d = rng.uniform(0.4, 1.0)
        lamps.append(
            _lamp(
                "POINT",
                centre + _around(rng, d, rng.uniform(30, 75)),
                centre,
                rng.uniform(8, 30) * d**2,
                rng.uniform(0.01, 0.06),
                warm,
            )
        )
    if name == "glare":
        spot = np.array(
            [rng.uniform(-0.35, 0.35) * s["width"], rng.uniform(-0.4, 0.4) * s["height"], s["z_top"]]
        )
        eye = np.array(camera["at"])
        mirror = np.array([2 * spot[0] - eye[0], 2 * spot[1] - eye[1], eye[2]]) * rng.uniform(1.0, 1.6)
        mirror[2] = max(mirror[2], 0.15)
        lamps.append(
            _lamp(
                "AREA",
                mirror,
                spot,
                rng.uniform(15, 50) * float(mirror @ mirror),
                rng.uniform(0.03, 0.12),
                warm,
            )
        )
        for part in ("frame", "bar", "bead", "paper"):
            looks[part]["roughness"] = float(looks[part].get("roughness", 0.5) * rng.uniform(0.2, 0.5))
    grey = rng.uniform(200, 255)
    room = (np.asarray(TINTS[rng.integers(len(TINTS))]) + grey) / 2 if name == "coloured" else (grey,) * 3
    exposure = rng.uniform(-2.4, -1.3) if name == "low" else rng.uniform(-0.35, 0.35)
    return {
        "lights": lamps,
        "world": {"colour": [int(c) for c in room], "strength": float(rng.uniform(0.1, 0.35))},
        "exposure": float(exposure),
        "sensor": {
            "noise": float(rng.uniform(3.5, 7.0) if name == "low" else rng.uniform(0.8, 2.5)),
            "vignette": float(rng.uniform(0.0, 0.3)),
            "jpeg": int(rng.integers(75, 96)),
        },
        "name": name,
    }


def table(rng: np.random.Generator, bead_rgb) -> dict:
    """The table: wood, cloth or paper, never nearly the beads' brightness (it shows behind them)."""
    for _ in range(50):
        kind = ("wood", "cloth", "paper")[rng.integers(3)]
        palette = TABLES[kind]
        colour = [
            int(v)
            for v in np.clip(
                np.asarray(palette[rng.integers(len(palette))]) * rng.uniform(0.85, 1.15), 0, 255
            )
        ]
        if abs(luma(colour) - luma(bead_rgb)) >= 50:
            break
    look = {"kind": kind, "colour": colour, "roughness": float(rng.uniform(0.6, 0.95))}
    if kind == "wood":
        look |= {
            "grain": float(rng.uniform(0.1, 0.35)),
            "rings": float(rng.uniform(0.02, 0.06)),
            "varnish": 0.1,
        }
    else:
        look["speckle"] = float(rng.uniform(0.04, 0.15))
    return {"size": 3.0, "turn": float(rng.uniform(0, np.pi)), "look": look}


CLUTTER = {  # (length, width, height) ranges in metres
    "book": ((0.15, 0.25), (0.2, 0.3), (0.01, 0.03)),
    "pen": ((0.12, 0.15), (0.007, 0.01), (0.007, 0.01)),
    "phone": ((0.13, 0.16), (0.065, 0.078), (0.007, 0.009)),
    "eraser": ((0.04, 0.06), (0.018, 0.025), (0.01, 0.013)),
}


def clutter(rng: np.random.Generator, s: dict, markers: dict | None) -> list[dict]:
    """0-4 things on the table, none touching the soroban or its cards."""
    reach = (markers["side"] + markers["quiet_out"]) if markers else 0.0
    half = np.array([s["width"] / 2 + reach, s["height"] / 2 + reach])
    things = []
    for _ in range(int(rng.integers(0, 5))):
        kind = list(CLUTTER)[rng.integers(len(CLUTTER))]
        size = [float(rng.uniform(*r)) for r in CLUTTER[kind]]
        for _ in range(20):
            at = rng.uniform(-1, 1, 2) * (half + 0.12)  # near enough to be in the picture, often
            if (np.abs(at) > half + np.hypot(size[0], size[1]) / 2 + 0.005).any():
                break
        else:
            continue
        colour = [int(v) for v in rng.integers(20, 240, 3)]
        look = {
            "kind": "plastic" if kind != "book" else "cloth",
            "colour": colour,
            "roughness": float(rng.uniform(0.3, 0.8)),
        }
        things.append(
            {
                "kind": kind,
                "at": at.tolist(),
                "size": size,
                "turn": float(rng.uniform(0, np.pi)),
                "look": look,
            }
        )
    return things
