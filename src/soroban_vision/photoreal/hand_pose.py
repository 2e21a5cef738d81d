"""Project side: a hand over the soroban, as capsules and ellipsoids (`hands.py` builds them).

A student's hand comes in from the near side (below the bottom rail) or from the right. Its
index fingertip rests on the beads of one rod, the finger rises over the rail to the knuckles,
the palm and the wrist leave the picture. Poses: "point" (the index out, the other fingers curled
under), "two" (index and middle finger out: they cover more rods), "pinch" (thumb and index
together on the beads, as when moving a bead). Sizes from a child's hand to an adult's.
"""

from __future__ import annotations

import numpy as np

SPACING = 0.019  # between neighbouring knuckles, metres, for an adult hand
FINGER_R = (0.0078, 0.0088, 0.0095)  # tip, middle and base segment radii
INDEX = (0.022, 0.025, 0.042)  # segment lengths from the tip
LENGTH = (1.0, 1.08, 1.0, 0.82)  # each finger's length against the index
POSES = ("point", "two", "pinch")
SKIN = [(241, 194, 167), (224, 172, 138), (198, 134, 100), (160, 102, 70), (112, 72, 50), (236, 188, 150)]


def _capsule(a, b, r: float) -> dict:
    return {"kind": "capsule", "a": [float(v) for v in a], "b": [float(v) for v in b], "r": float(r)}


def _chain(tip: np.ndarray, back: np.ndarray, rise: float, scale: float, length: float, bend: float):
    """The three segments of a straight-ish finger from its tip back to its knuckle: each joint
    bends a little more upward. Returns (capsules, knuckle)."""
    parts, at = [], tip
    for k, seg in enumerate(INDEX):
        angle = rise + k * bend
        step = (back * np.cos(angle) + np.array([0, 0, np.sin(angle)])) * seg * scale * length
        parts.append(_capsule(at, at + step, FINGER_R[k] * scale))
        at = at + step
    return parts, at


def _curled(knuckle: np.ndarray, back: np.ndarray, scale: float) -> list[dict]:
    """A finger folded under the palm: down and forward from its knuckle, then back."""
    down = np.array([0.0, 0.0, -1.0])
    mid = knuckle - back * 0.017 * scale + down * 0.013 * scale
    end = mid + back * 0.012 * scale + down * 0.006 * scale
    return [_capsule(knuckle, mid, FINGER_R[2] * scale), _capsule(mid, end, FINGER_R[1] * scale)]


def _frame_axes(back: np.ndarray, rise: float) -> list[list[float]]:
    """An ellipsoid's axes (rows): along the hand (rising), across it, and its normal."""
    x = back * np.cos(rise) + np.array([0, 0, np.sin(rise)])
    y = np.array([-back[1], back[0], 0.0])
    return [x.tolist(), y.tolist(), np.cross(x, y).tolist()]


def _tip(rng, s: dict, rod: int) -> np.ndarray:
    """A fingertip resting on rod `rod`'s beads, in its earth lane (mostly) or its heaven lane."""
    p = s["pitch"]
    x = s["side"] + (rod + rng.uniform(0.2, 0.8)) * p - s["width"] / 2
    bar_top = s["rail"] + s["heaven_zone"]
    if rng.random() < 0.7:
        yf = rng.uniform(bar_top + s["bar"] + 0.5 * s["bead_h"], s["height"] - s["rail"] - 0.5 * s["bead_h"])
    else:
        yf = rng.uniform(s["rail"] + 0.4 * s["bead_h"], bar_top - 0.4 * s["bead_h"])
    return np.array([x, s["height"] / 2 - yf, s["z_rod"] + s["bead_w"] / 2 + FINGER_R[0] * 0.9])


def hand_design(rng: np.random.Generator, s: dict) -> dict:
    """A random hand over soroban `s`, and its pose's name."""
    from_right = rng.random() < 0.3
    rods = s["rods"]
    rod = int(rng.integers(max(0, rods - 3), rods)) if from_right else int(rng.integers(0, rods))
    tip = _tip(rng, s, rod)
    turn = np.radians(rng.uniform(-30, 10) if from_right else rng.uniform(-25, 25))
    back = (
        np.array([np.cos(turn), np.sin(turn), 0.0])
        if from_right
        else np.array([np.sin(turn), -np.cos(turn), 0.0])
    )
    scale = rng.uniform(0.75, 1.1)
    handed = 1.0 if rng.random() < 0.85 else -1.0  # right hands mostly: the other fingers to the right
    across = handed * np.array([-back[1], back[0], 0.0])  # from the index towards the little finger
    if from_right:
        across = -across if across[1] > 0 else across  # the other fingers lie nearer the student
    pose = POSES[int(rng.integers(len(POSES)))]
    # steep enough that the finger clears the rail it passes over
    clear = s["z_top"] + FINGER_R[2] * scale - tip[2]
    rise = max(np.radians(rng.uniform(8, 22)), np.arctan2(clear, 0.05 * scale) + 0.05)
    bend = np.radians(rng.uniform(3, 12))
    families, knuckles = [], []
    for j in range(4):
        out = j == 0 or (j == 1 and pose == "two")
        offset = across * SPACING * scale * j - back * 0.006 * scale * (LENGTH[j] - 1) * 10
        if out:
            parts, knuckle = _chain(tip + offset, back, rise, scale, LENGTH[j], bend)
        else:
            _, knuckle = _chain(tip + offset, back, rise, scale, LENGTH[j], bend)
            parts = _curled(knuckle, back, scale)
        knuckles.append(knuckle)
        families.append({"name": ("index", "middle", "ring", "little")[j], "parts": parts})
    palm_rise = rise + 2 * bend
    centre = np.mean(knuckles, axis=0) + back * 0.045 * scale + np.array([0, 0, 0.006 * scale])
    palm = [
        {
            "kind": "ellipsoid",
            "at": centre.tolist(),
            "radii": [0.05 * scale, 0.042 * scale, 0.016 * scale],
            "axes": _frame_axes(back, palm_rise),
        },
        _capsule(centre + back * 0.04 * scale, centre + back * 0.26 + np.array([0, 0, 0.07]), 0.027 * scale),
    ]
    thumb_base = centre - across * 0.035 * scale + back * 0.01 * scale
    if pose == "pinch":
        thumb_tip = tip - across * 0.016 * scale + back * 0.012 * scale
    else:
        thumb_tip = (
            knuckles[0] - across * 0.022 * scale - back * 0.015 * scale - np.array([0, 0, 0.008 * scale])
        )
    thumb_mid = (thumb_base + thumb_tip) / 2 - across * 0.012 * scale + np.array([0, 0, 0.006 * scale])
    palm += [_capsule(thumb_base, thumb_mid, 0.0105 * scale), _capsule(thumb_mid, thumb_tip, 0.0092 * scale)]
    families.append({"name": "palm", "parts": palm})
    skin = SKIN[int(rng.integers(len(SKIN)))]
    skin = [int(v) for v in np.clip(np.asarray(skin) * rng.uniform(0.92, 1.06), 0, 255)]
    look = {"kind": "skin", "colour": skin, "roughness": float(rng.uniform(0.4, 0.6))}
    return {"skin": look, "families": families, "pose": pose, "from": "right" if from_right else "near"}
