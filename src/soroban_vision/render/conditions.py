"""The conditions a rendered image was made under: a small fixed set of names, recorded with every
scene (and column crop) so that evaluation can break its metrics down by them.

Two varieties draw images. `classic` is the distribution every published figure before issue 12
was measured on, kept byte for byte. `wide` adds hands, more bead and frame looks, smaller
sorobans, harder light and camera effects.

A scene item's `conditions` (the Blender renderer writes the same keys):

- hand: "none" | "resting" | "moving" (a moving hand is motion-blurred on its own);
- hand_rods: the covered rods, 0-based left to right (an index into digits and column_quads),
  sorted; [] without a hand. A rod is covered when the hand's opaque part (alpha > 0.5) hides more
  than 40% (COVERED_SHARE) of its heaven track or of its earth track; a track is the rod's bead
  lane, one bead wide, from the top rail to the bar (heaven) or from the bar to the bottom rail
  (earth). A finger over the empty part of a lane covers the rod too: where its bead is is hidden;
- scale: "tiny" | "small" | "medium" | "large": pitch_px below 14, 22, 36, or above (SCALES);
- pitch_px: the rod pitch in image pixels at the frame's centre;
- marker_px: the mean side of the four markers' black squares in image pixels; None without;
- style: "dark" | "normal": dark when both the beads and the frame are darker than luma 90;
- frame: "light_wood" | "dark_wood" | "black_wood" | "plastic";
- back: "open" (the table shows between the rods) | "panel" (a back board);
- beads: "black" | "brown" | "light_wood" | "red" | "blue" | "white" | "translucent";
- bead_shape: "bicone" | "rounded";
- light: "normal" | "glare" | "low" | "coloured";
- camera: "plain" | "motion_blur" | "focus_falloff" | "lens_distortion".

`light` and `camera` name the one extra effect the wide variety adds on top of the baseline camera
that every image gets (a light gradient, exposure, mild blur, noise, JPEG): "normal" and "plain"
mean none. Classic images are always hand "none", light "normal", camera "plain", back "open";
their frame, beads and shape are named from the classic style (CLASSIC_FRAMES, CLASSIC_BEADS, a
bead_round under 2 is a bicone).

A column crop's conditions are the same minus hand_rods, scale, pitch_px and marker_px, plus
occluded (True for the crops of the `occluded/` class).
"""

from __future__ import annotations

import numpy as np

VARIETIES = ("classic", "wide")
HANDS = ("none", "resting", "moving")
SCALES = (("tiny", 14.0), ("small", 22.0), ("medium", 36.0), ("large", float("inf")))
STYLES = ("dark", "normal")
FRAMES = ("light_wood", "dark_wood", "black_wood", "plastic")
BACKS = ("open", "panel")
BEADS = ("black", "brown", "light_wood", "red", "blue", "white", "translucent")
BEAD_SHAPES = ("bicone", "rounded")
LIGHTS = ("normal", "glare", "low", "coloured")
CAMERAS = ("plain", "motion_blur", "focus_falloff", "lens_distortion")
COVERED_SHARE = 0.4  # of a heaven or earth track hidden: the rod's digit can no longer be read
DARK_LUMA = 90.0

# the classic style's colour names, as condition names
CLASSIC_FRAMES = {"dark_wood": "dark_wood", "light_wood": "light_wood", "black": "black_wood"}
CLASSIC_BEADS = {
    "dark_wood": "brown",
    "light_wood": "light_wood",
    "black": "black",
    "red": "red",
    "white": "white",
}


def luma(rgb) -> float:
    r, g, b = (float(v) for v in rgb[:3])
    return 0.299 * r + 0.587 * g + 0.114 * b


def scale_bucket(pitch_px: float) -> str:
    return next(name for name, below in SCALES if pitch_px < below)


def style_bucket(bead_rgb, frame_rgb) -> str:
    return "dark" if luma(bead_rgb) < DARK_LUMA and luma(frame_rgb) < DARK_LUMA else "normal"


def check_variety(variety: str) -> str:
    """The variety's name, or a ValueError naming the choices."""
    if variety not in VARIETIES:
        raise ValueError(f"variety must be one of {', '.join(VARIETIES)}, got {variety!r}")
    return variety


def nearest_name(rgb, palette: dict) -> str:
    """The palette entry (name -> RGB) closest to `rgb`: the name of a jittered classic colour."""
    names = list(palette)
    d = [np.linalg.norm(np.subtract(rgb, palette[n], dtype=np.float64)) for n in names]
    return names[int(np.argmin(d))]


def pitch_conditions(pitch_px: float, marker_px: float | None) -> dict:
    return {
        "scale": scale_bucket(pitch_px),
        "pitch_px": round(float(pitch_px), 2),
        "marker_px": None if marker_px is None else round(float(marker_px), 2),
    }


def classic_looks(style, layout) -> dict:
    """frame, back, beads and bead_shape of a classic `drawing.Style` and `drawing.Layout` (no rng
    drawn: classic images stay byte for byte what they were)."""
    from soroban_vision.render.drawing import BEAD_COLOURS, FRAME_COLOURS

    return {
        "style": style_bucket(style.bead, style.frame),
        "frame": CLASSIC_FRAMES[nearest_name(style.frame, FRAME_COLOURS)],
        "back": "open",
        "beads": CLASSIC_BEADS[nearest_name(style.bead, BEAD_COLOURS)],
        "bead_shape": "bicone" if layout.bead_round < 2 else "rounded",
    }


def classic_conditions(style, layout, pitch_px: float, marker_px: float | None) -> dict:
    """The conditions of a classic scene."""
    return {
        "hand": "none",
        "hand_rods": [],
        **pitch_conditions(pitch_px, marker_px),
        **classic_looks(style, layout),
        "light": "normal",
        "camera": "plain",
    }
