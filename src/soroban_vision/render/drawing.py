"""Draw a flat, front-on soroban: frame, rods, reckoning bar and bicone beads.

Everything is drawn in "flat" pixel coordinates; the column and scene renderers then
view that drawing through a camera (a homography). The layout is the one home of the
soroban's geometry: where the frame, the bar and each rod are.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from soroban_vision.beads import EARTH_BEADS, to_beads

# Colours are RGB, 0-255.
BEAD_COLOURS = {
    "dark_wood": (92, 56, 32),
    "light_wood": (206, 164, 112),
    "black": (30, 28, 28),
    "red": (168, 36, 32),
    "white": (232, 230, 222),
}
FRAME_COLOURS = {
    "dark_wood": (78, 48, 28),
    "light_wood": (196, 150, 98),
    "black": (26, 24, 24),
}
ROD_COLOURS = [(200, 200, 196), (150, 120, 80), (120, 120, 120), (60, 50, 40)]


@dataclass(frozen=True)
class Layout:
    """Geometry of a flat soroban, in pixels. x grows right, y grows down; origin at the
    frame's outer top-left corner."""

    rods: int
    pitch: float  # distance between neighbouring rods
    side: float  # width of the left and right frame rails
    rail: float  # thickness of the top and bottom rails
    heaven_zone: float  # free height between the top rail and the bar
    bar: float  # thickness of the reckoning bar
    earth_zone: float  # free height between the bar and the bottom rail
    bead_w: float
    bead_h: float
    bead_round: float  # edge exponent: 1 is a diamond, larger is rounder

    @property
    def width(self) -> float:
        return 2 * self.side + self.rods * self.pitch

    @property
    def height(self) -> float:
        return 2 * self.rail + self.heaven_zone + self.bar + self.earth_zone

    @property
    def bar_top(self) -> float:
        return self.rail + self.heaven_zone

    @property
    def bar_bottom(self) -> float:
        return self.bar_top + self.bar

    def rod_x(self, i: int) -> float:
        return self.side + (i + 0.5) * self.pitch

    def corners(self) -> np.ndarray:
        """Outer frame corners, clockwise from top-left, float [4,2]."""
        w, h = self.width, self.height
        return np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)

    def column_quad(self, i: int, width_pitches: float) -> np.ndarray:
        """The crop of rod i: centred on the rod, `width_pitches` wide, full frame height."""
        half = 0.5 * width_pitches * self.pitch
        x = self.rod_x(i)
        return np.array(
            [[x - half, 0], [x + half, 0], [x + half, self.height], [x - half, self.height]],
            dtype=np.float64,
        )


def random_layout(rng: np.random.Generator, rods: int, pitch: float) -> Layout:
    bead_w = pitch * rng.uniform(0.78, 0.94)
    bead_h = bead_w / rng.uniform(1.5, 2.3)
    return Layout(
        rods=rods,
        pitch=pitch,
        side=pitch * rng.uniform(0.45, 0.8),
        rail=pitch * rng.uniform(0.22, 0.42),
        heaven_zone=bead_h * rng.uniform(1.55, 2.1),
        bar=pitch * rng.uniform(0.1, 0.22),
        earth_zone=bead_h * (EARTH_BEADS + rng.uniform(0.9, 1.5)),
        bead_w=bead_w,
        bead_h=bead_h,
        bead_round=rng.uniform(1.2, 3.0),
    )


@dataclass(frozen=True)
class Style:
    bead: tuple[int, int, int]
    frame: tuple[int, int, int]
    bar: tuple[int, int, int]
    rod: tuple[int, int, int]
    background: tuple[int, int, int]
    glossy: bool  # plastic beads have a sharp highlight, wood a soft one
    grain: float  # strength of the wood grain texture on the frame, 0 for plain
    background_texture: float  # 0 for a plain background
    unit_dots: bool


def _jitter(rng: np.random.Generator, colour, amount: float) -> tuple[int, int, int]:
    c = np.asarray(colour, dtype=np.float64) * rng.uniform(1 - amount, 1 + amount)
    c += rng.normal(0, 6, 3)
    return tuple(int(v) for v in np.clip(c, 0, 255))


MIN_BEAD_CONTRAST = 70  # luma levels between bead and background


def _luma(rgb) -> float:
    r, g, b = rgb
    return 0.299 * r + 0.587 * g + 0.114 * b


def random_style(rng: np.random.Generator) -> Style:
    bead = _jitter(rng, list(BEAD_COLOURS.values())[rng.integers(len(BEAD_COLOURS))], 0.12)
    frame = list(FRAME_COLOURS.values())[rng.integers(len(FRAME_COLOURS))]
    # Whatever the colours, beads must stand out from what is seen behind them, or no
    # person (and no model) could read the column.
    for _ in range(100):
        background = tuple(int(v) for v in rng.integers(0, 256, 3))
        if abs(_luma(background) - _luma(bead)) >= MIN_BEAD_CONTRAST:
            break
    return Style(
        bead=bead,
        frame=_jitter(rng, frame, 0.12),
        bar=_jitter(rng, frame, 0.2),
        rod=_jitter(rng, ROD_COLOURS[rng.integers(len(ROD_COLOURS))], 0.1),
        background=background,
        glossy=bool(rng.random() < 0.5),
        grain=float(rng.uniform(0.0, 0.25)) if rng.random() < 0.7 else 0.0,
        background_texture=float(rng.uniform(0.05, 0.35)) if rng.random() < 0.5 else 0.0,
        unit_dots=bool(rng.random() < 0.6),
    )


def _shade(colour, factor: float) -> tuple[int, int, int]:
    return tuple(int(min(255, max(0, c * factor))) for c in colour)


def _bead_outline(layout: Layout, n: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower halves of a bicone bead's outline, centred at the origin."""
    half_w, half_h = layout.bead_w / 2, layout.bead_h / 2
    xs = np.linspace(-half_w, half_w, n)
    ys = half_h * (1 - np.abs(xs / half_w) ** layout.bead_round)
    upper = np.stack([xs, -ys], axis=1)
    lower = np.stack([xs[::-1], ys[::-1]], axis=1)
    return upper, lower


_SHIFT = 4  # cv2 fixed-point bits for sub-pixel drawing
_ONE = 1 << _SHIFT


def _poly(img: np.ndarray, pts: np.ndarray, colour) -> None:
    cv2.fillPoly(img, [np.round(pts * _ONE).astype(np.int32)], colour, cv2.LINE_AA, _SHIFT)


def _rect(img: np.ndarray, x0: float, y0: float, x1: float, y1: float, colour) -> None:
    _poly(img, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), colour)


class BeadPainter:
    """Draws one soroban's beads: the outline and colours are worked out once, not per bead."""

    def __init__(self, layout: Layout, style: Style, light: tuple[float, float]):
        upper, lower = _bead_outline(layout)
        self.whole = np.round(np.concatenate([upper, lower]) * _ONE).astype(np.int32)
        self.top = np.round(np.concatenate([upper, upper[::-1] * [1, 0.15]]) * _ONE).astype(np.int32)
        top_factor, bottom_factor = light
        self.lit, self.dark = _shade(style.bead, top_factor), _shade(style.bead, bottom_factor)
        gloss = 1.9 if style.glossy else 1.3
        self.gloss = _shade(style.bead, gloss * top_factor + 0.2)
        self.h_off = np.array([-layout.bead_w * 0.12, -layout.bead_h * 0.22]) * _ONE
        self.h_axes = (max(1, int(layout.bead_w * 0.16 * _ONE)), max(1, int(layout.bead_h * 0.09 * _ONE)))

    def draw(self, img: np.ndarray, cx: float, cy: float) -> None:
        c = np.array([round(cx * _ONE), round(cy * _ONE)], np.int32)
        cv2.fillPoly(img, [self.whole + c], self.dark, cv2.LINE_AA, _SHIFT)
        cv2.fillPoly(img, [self.top + c], self.lit, cv2.LINE_AA, _SHIFT)
        h = (int(c[0] + self.h_off[0]), int(c[1] + self.h_off[1]))
        cv2.ellipse(img, h, self.h_axes, -8, 0, 360, self.gloss, -1, cv2.LINE_AA, _SHIFT)


def bead_centres(layout: Layout, digit: int, rng: np.random.Generator) -> list[float]:
    """y of the heaven bead then the four earth beads for a rod showing `digit`."""
    heaven, earth = to_beads(digit)
    h = layout.bead_h
    # A group of beads sits a hair off where it was pushed; beads in a group touch.
    up, down, top = (rng.uniform(0, 0.06) * h for _ in range(3))
    ys = [layout.bar_top - h / 2 - top] if heaven else [layout.rail + h / 2 + top]
    bottom = layout.height - layout.rail
    for k in range(EARTH_BEADS):
        if k < earth:  # pushed up to the bar
            ys.append(layout.bar_bottom + h / 2 + k * h + up)
        else:  # resting on the bottom rail
            ys.append(bottom - h / 2 - (EARTH_BEADS - 1 - k) * h - down)
    return ys


def draw_abacus(
    img: np.ndarray,
    layout: Layout,
    style: Style,
    digits: list[int],
    origin: tuple[float, float],
    rng: np.random.Generator,
) -> None:
    """Draw the soroban onto `img` (RGB uint8) with its frame's top-left corner at `origin`."""
    ox, oy = origin
    w, h = layout.width, layout.height
    light = (rng.uniform(1.05, 1.35), rng.uniform(0.55, 0.85))
    frame_in_top, frame_in_bottom = oy + layout.rail, oy + h - layout.rail
    # rods
    rod_half = max(0.6, layout.pitch * 0.035)
    for i in range(layout.rods):
        x = ox + layout.rod_x(i)
        _rect(img, x - rod_half, frame_in_top, x + rod_half, frame_in_bottom, style.rod)
    # frame rails
    for y0, y1 in ((oy, oy + layout.rail), (oy + h - layout.rail, oy + h)):
        _rect(img, ox, y0, ox + w, y1, style.frame)
        _rect(img, ox, y0, ox + w, y0 + max(1.0, layout.rail * 0.12), _shade(style.frame, 1.3))
    for x0 in (ox, ox + w - layout.side):
        _rect(img, x0, oy, x0 + layout.side, oy + h, style.frame)
    # reckoning bar
    bt, bb = oy + layout.bar_top, oy + layout.bar_bottom
    _rect(img, ox + layout.side, bt, ox + w - layout.side, bb, style.bar)
    _rect(
        img,
        ox + layout.side,
        bt,
        ox + w - layout.side,
        bt + max(1.0, layout.bar * 0.2),
        _shade(style.bar, 1.3),
    )
    if style.unit_dots:
        r = max(1, int(layout.bar * 0.28 * _ONE))
        for i in range(layout.rods):
            if (layout.rods - 1 - i) % 3 == 0 and i != layout.rods - 1:
                c = (int((ox + layout.rod_x(i)) * _ONE), int((bt + bb) / 2 * _ONE))
                cv2.circle(
                    img,
                    c,
                    r,
                    _shade(style.bar, 2.2) if sum(style.bar) < 300 else (20, 20, 20),
                    -1,
                    cv2.LINE_AA,
                    _SHIFT,
                )
    if style.grain > 0:
        _apply_grain(img, layout, (ox, oy), style.grain, rng)
    # beads
    painter = BeadPainter(layout, style, light)
    for i, digit in enumerate(digits):
        x = ox + layout.rod_x(i)
        for y in bead_centres(layout, digit, rng):
            painter.draw(img, x, oy + y)


def _apply_grain(img, layout: Layout, origin, strength: float, rng) -> None:
    """Wood grain: a few thin, slightly darker streaks along each rail."""
    ox, oy = origin
    for y0 in (oy, oy + layout.height - layout.rail):
        for _ in range(int(rng.integers(2, 6))):
            y = y0 + rng.uniform(0.1, 0.9) * layout.rail
            dy = rng.uniform(-0.08, 0.08) * layout.rail
            tone = _shade(
                img[int(min(max(y, 0), img.shape[0] - 1)), int(max(ox, 0))],
                1 - strength * rng.uniform(0.5, 1.5),
            )
            p0 = (int(ox * _ONE), int(y * _ONE))
            p1 = (int((ox + layout.width) * _ONE), int((y + dy) * _ONE))
            cv2.line(img, p0, p1, tone, 1, cv2.LINE_AA, _SHIFT)
