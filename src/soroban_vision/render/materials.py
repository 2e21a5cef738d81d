"""What a soroban of the wide variety is made of: its frame (light, dark or black wood, or plastic),
an open back or a back panel, and its beads (bicone or rounded; black, brown, light wood, red,
blue, white or translucent), all named as in `conditions`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soroban_vision.render.conditions import luma

BEAD_LOOKS = {
    "black": [(30, 28, 28)],
    "brown": [(96, 58, 34), (120, 72, 40), (70, 42, 26)],
    "light_wood": [(206, 164, 112), (222, 186, 130)],
    "red": [(170, 34, 30), (140, 24, 28)],
    "blue": [(36, 62, 150), (24, 40, 96)],
    "white": [(232, 230, 222), (214, 214, 206)],
    "translucent": [(150, 200, 230), (240, 180, 90), (170, 230, 180), (230, 230, 236)],
}
BEAD_SHARES = {
    "black": 0.2,
    "brown": 0.2,
    "light_wood": 0.1,
    "red": 0.1,
    "blue": 0.15,
    "white": 0.1,
    "translucent": 0.15,
}
FRAME_LOOKS = {
    "light_wood": [(196, 150, 98), (214, 176, 120)],
    "dark_wood": [(78, 48, 28), (100, 60, 34)],
    "black_wood": [(26, 24, 24), (36, 30, 28)],
    "plastic": [(40, 40, 44), (214, 212, 204), (36, 84, 168), (30, 120, 70), (190, 36, 36)],
}
ROD_LOOKS = [(200, 200, 196), (150, 120, 80), (120, 120, 120), (60, 50, 40), (210, 190, 150)]
# tables and desks people put a soroban on; a random colour now and then keeps the variety wide
TABLES = [
    (196, 160, 118),
    (120, 80, 50),
    (230, 230, 226),
    (150, 150, 150),
    (40, 40, 42),
    (40, 96, 60),
    (70, 90, 130),
]
MIN_CONTRAST = 45  # luma between a bead and what is behind it: lower than classic's 70, still readable


@dataclass(frozen=True)
class Material:
    frame_name: str
    frame: tuple[int, int, int]
    bar: tuple[int, int, int]
    rod: tuple[int, int, int]
    back: str  # "open" or "panel"
    panel: tuple[int, int, int]
    beads: str
    bead: tuple[int, int, int]
    bead_opacity: float  # 1 for solid beads, lower for translucent ones
    shape: str  # "bicone" or "rounded"
    gloss: float  # 0 matt wood to 1 lacquer
    grain: float  # wood grain on the frame, 0 for plastic
    background: tuple[int, int, int]
    background_texture: float
    unit_dots: bool

    def params(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(self).items()}


def _pick(rng: np.random.Generator, looks: list) -> tuple[int, int, int]:
    base = np.asarray(looks[int(rng.integers(len(looks)))], np.float64)
    return tuple(int(v) for v in np.clip(base * rng.uniform(0.9, 1.1) + rng.normal(0, 5, 3), 0, 255))


def random_material(rng: np.random.Generator) -> Material:
    names = list(BEAD_SHARES)
    beads = names[int(rng.choice(len(names), p=list(BEAD_SHARES.values())))]
    frame_name = list(FRAME_LOOKS)[int(rng.integers(len(FRAME_LOOKS)))]
    frame = _pick(rng, FRAME_LOOKS[frame_name])
    bead = _pick(rng, BEAD_LOOKS[beads])
    back = "panel" if rng.random() < 0.25 else "open"
    panel = _pick(rng, FRAME_LOOKS[frame_name] + [(180, 170, 150), (60, 60, 60)])
    behind_is_panel = back == "panel"
    # the beads stand out from what is seen behind them, whatever else is dark
    for _ in range(100):
        if rng.random() < 0.7:
            background = _pick(rng, TABLES)
        else:
            background = tuple(int(v) for v in rng.integers(0, 256, 3))
        behind = panel if behind_is_panel else background
        if abs(luma(behind) - luma(bead)) >= MIN_CONTRAST:
            break
        if behind_is_panel:
            panel = tuple(int(v) for v in rng.integers(0, 256, 3))
    wood = frame_name != "plastic"
    return Material(
        frame_name=frame_name,
        frame=frame,
        bar=tuple(int(v) for v in np.clip(np.asarray(frame) * rng.uniform(0.8, 1.2), 0, 255)),
        rod=_pick(rng, ROD_LOOKS),
        back=back,
        panel=panel,
        beads=beads,
        bead=bead,
        bead_opacity=float(rng.uniform(0.45, 0.7)) if beads == "translucent" else 1.0,
        shape="rounded" if rng.random() < 0.4 else "bicone",
        gloss=float(
            rng.uniform(0.5, 1.0)
            if beads in ("translucent", "red", "blue", "white")
            else rng.uniform(0.1, 0.7)
        ),
        grain=float(rng.uniform(0.1, 0.4)) if wood else 0.0,
        background=background,
        background_texture=float(rng.uniform(0.05, 0.45)) if rng.random() < 0.6 else 0.0,
        unit_dots=bool(rng.random() < 0.6),
    )
