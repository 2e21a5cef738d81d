"""Project side: a 3D soroban drawn at random as plain data (lengths in metres, colours in sRGB
0-255), for the Blender side to build. Its own distributions, not the 2D renderer's: the point
of a second renderer is that it was not made by the same hand.

The looks are real sorobans': wooden frames (light, dark, black lacquer) or plastic ones; beads
of wood, black or coloured plastic, or translucent acrylic, bicone or rounded; metal or bamboo
rods; an open back (the table shows between the rods) or a back board.
"""

from __future__ import annotations

import numpy as np

from soroban_vision.beads import EARTH_BEADS, to_beads
from soroban_vision.render.conditions import luma, style_bucket
from soroban_vision.render.marker_cards import (
    MARKER_CARD_OFFSET,
    MARKER_QUIET_FRACTION,
    MARKER_SIDE_PITCHES,
    marker_bits,
)

WOOD = {"light_wood": (196, 150, 98), "dark_wood": (88, 52, 30), "black_wood": (28, 25, 24)}
PLASTIC_FRAMES = [(20, 20, 22), (28, 38, 85), (208, 206, 198), (140, 30, 28), (62, 62, 66)]
BEADS = {
    "black": ("plastic", (24, 22, 22)),
    "brown": ("wood", (92, 56, 32)),
    "light_wood": ("wood", (206, 164, 112)),
    "red": ("plastic", (168, 36, 32)),
    "blue": ("plastic", (32, 56, 138)),
    "white": ("plastic", (232, 230, 222)),
}
TRANSLUCENT = [(220, 140, 40), (80, 140, 220), (120, 200, 120), (236, 236, 236), (200, 60, 60)]


def _jitter(rng: np.random.Generator, rgb, amount: float = 0.1) -> list[int]:
    c = np.asarray(rgb, np.float64) * rng.uniform(1 - amount, 1 + amount) + rng.normal(0, 4, 3)
    return [int(v) for v in np.clip(c, 0, 255)]


def pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    p = np.array([weights[n] for n in names], np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _layout(rng: np.random.Generator, rods: int) -> dict:
    """Lengths along the frame (as the 2D renderer's Layout names them) and heights above the table."""
    p = rng.uniform(0.013, 0.02)
    bead_w = p * rng.uniform(0.8, 0.93)
    bead_h = bead_w / rng.uniform(1.55, 2.2)
    s = {
        "rods": rods,
        "pitch": p,
        "side": p * rng.uniform(0.5, 0.9),
        "rail": p * rng.uniform(0.34, 0.55),
        "heaven_zone": bead_h * rng.uniform(1.5, 2.0),
        "bar": p * rng.uniform(0.14, 0.26),
        "earth_zone": bead_h * (EARTH_BEADS + rng.uniform(0.9, 1.5)),
        "bead_w": bead_w,
        "bead_h": bead_h,
        "rod_r": p * rng.uniform(0.028, 0.045),
        "bevel": p * rng.uniform(0.02, 0.06),
    }
    s["width"] = 2 * s["side"] + rods * p
    s["height"] = 2 * s["rail"] + s["heaven_zone"] + s["bar"] + s["earth_zone"]
    s["z_rod"] = bead_w / 2 + p * rng.uniform(0.06, 0.2)  # the beads clear the table
    s["z_top"] = s["z_rod"] + bead_w / 2 + p * rng.uniform(0.04, 0.2)  # and sit below the top face
    s["bar_z"] = [s["z_rod"] - bead_w * rng.uniform(0.25, 0.4), s["z_top"] - p * rng.uniform(0.0, 0.12)]
    return s


def bead_positions(s: dict, digit: int, rng: np.random.Generator) -> list[float]:
    """Flat y of the heaven bead, then the four earth beads, for a rod showing `digit`: a bead
    pushed to the bar touches it (or nearly), the others rest on their rail."""
    heaven, earth = to_beads(digit)
    h = s["bead_h"]

    def gap() -> float:  # a group of beads sits a hair off where it was pushed
        return rng.uniform(0.0, 0.08) * h

    bar_top = s["rail"] + s["heaven_zone"]
    ys = [bar_top - h / 2 - gap()] if heaven else [s["rail"] + h / 2 + gap()]
    up, down = gap(), gap()
    bottom = s["height"] - s["rail"]
    for k in range(EARTH_BEADS):
        if k < earth:
            ys.append(bar_top + s["bar"] + h / 2 + k * h + up)
        else:
            ys.append(bottom - h / 2 - (EARTH_BEADS - 1 - k) * h - down)
    return ys


def _frame_look(rng: np.random.Generator) -> tuple[str, dict]:
    name = pick(rng, {"light_wood": 0.25, "dark_wood": 0.25, "black_wood": 0.2, "plastic": 0.3})
    if name == "plastic":
        colour = PLASTIC_FRAMES[rng.integers(len(PLASTIC_FRAMES))]
        return name, {
            "kind": "plastic",
            "colour": _jitter(rng, colour, 0.08),
            "roughness": rng.uniform(0.25, 0.5),
        }
    look = {
        "kind": "wood",
        "colour": _jitter(rng, WOOD[name]),
        "roughness": rng.uniform(0.3, 0.65),
        "grain": rng.uniform(0.15, 0.45) if name != "black_wood" else rng.uniform(0.0, 0.3),
        "rings": rng.uniform(0.6, 1.6),
        "varnish": rng.uniform(0.0, 0.7),
    }
    return name, look


def _bead_look(rng: np.random.Generator) -> tuple[str, dict]:
    name = pick(rng, {n: 1.0 for n in BEADS} | {"translucent": 0.8})
    if name == "translucent":
        colour = TRANSLUCENT[rng.integers(len(TRANSLUCENT))]
        return name, {
            "kind": "translucent",
            "colour": _jitter(rng, colour, 0.08),
            "roughness": rng.uniform(0.05, 0.2),
        }
    kind, colour = BEADS[name]
    look = {"kind": kind, "colour": _jitter(rng, colour), "roughness": rng.uniform(0.15, 0.45)}
    if kind == "wood":
        look |= {
            "grain": rng.uniform(0.1, 0.3),
            "rings": rng.uniform(1.5, 3.0),
            "varnish": rng.uniform(0.2, 0.8),
        }
    return name, look


def soroban_design(rng: np.random.Generator, digits: list[int], markers: bool) -> dict:
    """The soroban, its looks, its markers (or None) and the condition names they make."""
    s = _layout(rng, len(digits))
    s["beads"] = [bead_positions(s, d, rng) for d in digits]
    s["spin"] = rng.uniform(0, 2 * np.pi, (len(digits), 1 + EARTH_BEADS)).tolist()
    shape = "bicone" if rng.random() < 0.6 else "rounded"
    s["bead_round"] = rng.uniform(1.0, 1.35) if shape == "bicone" else rng.uniform(1.9, 2.6)
    s["dots"] = bool(rng.random() < 0.7)
    s["back"] = "panel" if rng.random() < 0.25 else "open"
    frame_name, frame = _frame_look(rng)
    bead_name, bead = _bead_look(rng)
    bar = dict(frame, colour=_jitter(rng, frame["colour"], 0.06))
    dot = (230, 228, 220) if luma(bar["colour"]) < 110 else (25, 25, 25)
    if rng.random() < 0.6:
        rod = {
            "kind": "metal",
            "colour": _jitter(rng, (186, 186, 190), 0.05),
            "roughness": rng.uniform(0.2, 0.45),
        }
    else:
        rod = {"kind": "wood", "colour": _jitter(rng, (190, 160, 110)), "roughness": 0.5, "grain": 0.15}
    looks = {
        "frame": frame,
        "bar": bar,
        "bead": bead,
        "rod": rod,
        "dot": {"kind": "plastic", "colour": list(dot), "roughness": 0.4},
        "back": dict(frame, colour=_jitter(rng, frame["colour"], 0.15)),
        "paper": {
            "kind": "paper",
            "colour": _jitter(rng, (244, 243, 238), 0.03),
            "roughness": 0.85,  # matte paper: glare on a card comes with the glare light only
            "speckle": 0.02,
        },
        "ink": {"kind": "paper", "colour": [int(rng.integers(10, 45))] * 3},
    }
    names = {
        "style": style_bucket(bead["colour"], frame["colour"]),
        "frame": frame_name,
        "back": s["back"],
        "beads": bead_name,
        "bead_shape": shape,
    }
    return {"soroban": s, "looks": looks, "markers": _markers(rng, s) if markers else None, "names": names}


def _markers(rng: np.random.Generator, s: dict) -> dict:
    """The four markers' squares and cards, by the convention of render/marker_cards.py: the side
    in rod pitches, the card's narrow quiet zone towards the frame, the wide one away from it."""
    side = s["pitch"] * rng.uniform(*MARKER_SIDE_PITCHES)
    quiet_in = min(rng.uniform(*MARKER_QUIET_FRACTION) * side, 0.9 * min(s["side"], s["rail"]))
    quiet_out = side * np.sqrt(MARKER_CARD_OFFSET**2 - (quiet_in / side) ** 2) * rng.uniform(1.0, 1.25)
    bits = [(marker_bits(i) > 0).astype(int).tolist() for i in range(4)]
    return {"side": side, "quiet_in": quiet_in, "quiet_out": quiet_out, "bits": bits}
