"""Camera feeds for tests: rendered scenes over time, a hand passing over the soroban, written
as a .y4m file that Chromium's fake camera plays (--use-file-for-fake-video-capture=FILE).

A feed is a list of segments, each one scene (`render_scene`) held for some frames; the number
changes from one segment to the next, and a hand crosses the soroban at each change, as when
a person moves beads. Every frame gets its own sensor noise, and a frame stamp: its index as
a row of black and white blocks along the image's top edge, so a reader of the video knows
which frame it saw (`frame_stamp`).

.y4m: a header line, then "FRAME\\n" and the Y, Cb, Cr planes of each frame, 4:2:0 (chroma
averaged over 2x2 pixels) in BT.601 full range, as JPEG codes colour ("C420jpeg").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from soroban_vision.render.scene import render_scene

FPS = 10
STAMP_BITS = 12  # frame index bits: 409 s at 10 fps
STAMP_BLOCK = 8  # pixels per bit, square
# JFIF's RGB -> YCbCr (BT.601, full range): rows Y, Cb, Cr
_TO_YCC = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], np.float64
)
_TO_RGB = np.linalg.inv(_TO_YCC)
# video range: Y 16-235, Cb and Cr 16-240 about 128 (measured: Chromium's fake camera decodes a
# .y4m so, whatever its C tag says; full-range planes come out brighter and clipped)
_SWING = np.array([219, 224, 224], np.float64) / 255
_OFFSET = np.array([16, 128, 128], np.float64)
REST = (1 / 3, 2 / 3)  # of the hand's time over the soroban: it rests halfway between these
SKIN = np.array([224, 172, 140], np.float64)  # a light skin tone, RGB; shaded darker at the edges


@dataclass(frozen=True)
class Segment:
    """One scene held for `frames` frames; a hand crosses it during the first `hand` frames
    (with `rest`, resting halfway for the middle third of them, as when moving beads)."""

    number: int
    frames: int
    hand: int = 0
    rest: bool = False


# ----------------------------------------------------------------------------- colour and files


def to_ycbcr420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB uint8 [H,W,3] (H, W even) -> the Y [H,W], Cb and Cr [H/2,W/2] planes, uint8, in
    video range (Y 16-235, chroma 16-240): what a camera sends and how Chromium takes a .y4m."""
    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"4:2:0 needs an even width and height, got {w}x{h}")
    ycc = rgb.astype(np.float64) @ _TO_YCC.T * _SWING + _OFFSET
    y = np.clip(np.rint(ycc[..., 0]), 0, 255).astype(np.uint8)
    chroma = ycc[..., 1:].reshape(h // 2, 2, w // 2, 2, 2).mean(axis=(1, 3))
    cb, cr = (np.clip(np.rint(chroma[..., k]), 0, 255).astype(np.uint8) for k in (0, 1))
    return y, cb, cr


def from_ycbcr420(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """The planes back to RGB uint8, each chroma sample spread over its 2x2 pixels."""
    up = [np.repeat(np.repeat(c, 2, axis=0), 2, axis=1) for c in (cb, cr)]
    ycc = (np.stack([y, *up], axis=-1).astype(np.float64) - _OFFSET) / _SWING
    return np.clip(np.rint(ycc @ _TO_RGB.T), 0, 255).astype(np.uint8)


def write_y4m(path: str | Path, frames, fps: int = FPS) -> Path:
    """RGB uint8 frames (all one size) -> a .y4m file, 4:2:0 full range."""
    path = Path(path)
    with path.open("wb") as f:
        for i, rgb in enumerate(frames):
            if i == 0:
                h, w = rgb.shape[:2]
                f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
            f.write(b"FRAME\n")
            for plane in to_ycbcr420(rgb):
                f.write(plane.tobytes())
    return path


def read_y4m(path: str | Path) -> tuple[list[np.ndarray], int]:
    """A .y4m file written by `write_y4m` -> (its frames as RGB uint8, frames per second)."""
    data = Path(path).read_bytes()
    header, _, body = data.partition(b"\n")
    fields = {t[:1]: t[1:] for t in header.split()[1:]}
    if not header.startswith(b"YUV4MPEG2") or fields.get(b"C", b"420jpeg") != b"420jpeg":
        raise ValueError(f"{path}: not a 4:2:0 .y4m file")
    w, h = int(fields[b"W"]), int(fields[b"H"])
    num, den = (int(v) for v in fields[b"F"].split(b":"))
    size = w * h + 2 * (w // 2) * (h // 2)
    frames, at = [], 0
    while at < len(body):
        if body[at : at + 6] != b"FRAME\n":
            raise ValueError(f"{path}: frame {len(frames)} does not start with FRAME")
        raw = np.frombuffer(body, np.uint8, size, at + 6)
        quarter = (w // 2) * (h // 2)
        y = raw[: w * h].reshape(h, w)
        cb = raw[w * h : w * h + quarter].reshape(h // 2, w // 2)
        cr = raw[w * h + quarter :].reshape(h // 2, w // 2)
        frames.append(from_ycbcr420(y, cb, cr))
        at += 6 + size
    return frames, round(num / den)


# ----------------------------------------------------------------------------- the frame stamp


def stamp(rgb: np.ndarray, index: int) -> None:
    """Write `index` along the top edge, most significant bit first: white blocks for ones."""
    for bit in range(STAMP_BITS):
        on = (index >> (STAMP_BITS - 1 - bit)) & 1
        x = bit * STAMP_BLOCK
        rgb[:STAMP_BLOCK, x : x + STAMP_BLOCK] = 255 if on else 0


def frame_stamp(rgb: np.ndarray) -> int:
    """The index `stamp` wrote, read from each block's middle (compression blurs its rim)."""
    mid = STAMP_BLOCK // 2
    index = 0
    for bit in range(STAMP_BITS):
        x = bit * STAMP_BLOCK + mid
        index = (index << 1) | int(rgb[mid - 2 : mid + 2, x - 2 : x + 2].mean() > 127)
    return index


# ----------------------------------------------------------------------------- the hand


def draw_hand(rgb: np.ndarray, tip: tuple[float, float], size: float, angle: float = 0.0) -> None:
    """A flat skin-coloured hand, drawn in place: the index finger pointing up to `tip`, the
    other fingers curled below it, the palm and the wrist leaving the image at the bottom.
    `size`: the finger's width in pixels; `angle`: degrees the hand leans to the right.
    Shaded from the middle out and casting a soft shadow, as under a room light."""
    h, w = rgb.shape[:2]
    s = size
    # the shape in hand coordinates (x right, y down, the fingertip at the origin)
    parts = [
        ("ellipse", (0.0, 1.6 * s), (0.55 * s, 1.8 * s)),  # index finger
        ("ellipse", (1.0 * s, 3.3 * s), (0.6 * s, 1.0 * s)),  # curled fingers
        ("ellipse", (2.0 * s, 3.5 * s), (0.6 * s, 0.95 * s)),
        ("ellipse", (2.9 * s, 3.8 * s), (0.55 * s, 0.85 * s)),
        ("ellipse", (-0.9 * s, 4.4 * s), (0.5 * s, 1.3 * s)),  # thumb
        ("ellipse", (1.2 * s, 5.2 * s), (2.3 * s, 2.0 * s)),  # palm
        ("box", (1.0 * s, 8.0 * s), (1.9 * s, 4.0 * s)),  # wrist, off the image
    ]
    turn = np.deg2rad(angle)
    rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    mask = np.zeros((h, w), np.uint8)
    for kind, centre, (a, b) in parts:
        c = rot @ np.asarray(centre) + tip
        if kind == "ellipse":
            cv2.ellipse(
                mask, (round(c[0]), round(c[1])), (round(a), round(b)), angle, 0, 360, 255, -1, cv2.LINE_AA
            )
        else:
            corners = np.array([[-a, -b], [a, -b], [a, b], [-a, b]]) @ rot.T + c
            cv2.fillConvexPoly(mask, np.rint(corners).astype(np.int32), 255, cv2.LINE_AA)
    alpha = cv2.GaussianBlur(mask.astype(np.float64) / 255, (0, 0), 0.8)
    # shading: how deep inside the hand each pixel is, 1 in the middle, darker towards the rim
    depth = cv2.distanceTransform((mask > 127).astype(np.uint8), cv2.DIST_L2, 5)
    shade = 0.62 + 0.38 * np.clip(depth / (0.45 * s), 0, 1) ** 0.7
    shadow = cv2.GaussianBlur(np.roll(alpha, (round(0.5 * s), round(0.35 * s)), (0, 1)), (0, 0), 0.6 * s)
    img = rgb.astype(np.float64) * (1 - 0.35 * shadow[..., None])
    skin = SKIN * shade[..., None]
    rgb[:] = np.clip(np.rint(img * (1 - alpha[..., None]) + skin * alpha[..., None]), 0, 255)


# ----------------------------------------------------------------------------- a feed


def feed_frames(segments: list[Segment], columns: int, seed: int, markers: bool = True):
    """The frames of a feed, RGB uint8, and per frame the truth: (frames, [(number, hand) ...])."""
    rng = np.random.default_rng([seed, len(segments)])
    frames, truth = [], []
    for k, seg in enumerate(segments):
        scene, info = render_scene(seg.number, columns, seed + k, markers=markers)
        corners = np.asarray(info["corners"])
        width = np.linalg.norm(corners[1] - corners[0])
        finger = 0.7 * width / columns
        # the hand crosses the soroban from its left end to its right, leaning as it goes
        start, end = corners[3] + [0.1 * width, 0], corners[2] - [0.1 * width, 0]
        for i in range(seg.frames):
            rgb = scene.copy()
            on_hand = i < seg.hand
            if on_hand:
                t = _hand_path(i / max(seg.hand - 1, 1), seg.rest)
                tip = start + t * (end - start) - [0, 0.55 * np.linalg.norm(corners[3] - corners[0])]
                draw_hand(rgb, (float(tip[0]), float(tip[1])), finger, angle=-15 + 30 * t)
            grain = rng.normal(0, 1.5, rgb.shape)  # every frame its own sensor noise
            rgb = np.clip(np.rint(rgb + grain), 0, 255).astype(np.uint8)
            stamp(rgb, len(frames))
            frames.append(rgb)
            truth.append((seg.number, on_hand))
    return frames, truth


def _hand_path(u: float, rest: bool) -> float:
    """How far across the hand is (0..1) at `u` of its time: steadily, or with `rest`, halfway
    by a third, resting there for the middle third, then on."""
    if not rest:
        return u
    return 0.5 * min(u / REST[0], 1.0) + 0.5 * max((u - REST[1]) / (1 - REST[1]), 0.0)
