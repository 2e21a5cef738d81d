"""Painting a hand (`hands.parts`) with light: cylinder and slab shading, skin colour that deepens
towards the rim, nails, knuckle creases, contact shade between parts, a cast shadow and, for a
moving hand, motion blur of the hand alone."""

from __future__ import annotations

import cv2
import numpy as np

from soroban_vision.render.hands import HandPose, _capsule, _slab, parts


def _roi(pts: np.ndarray, grow: float, shape) -> tuple[int, int, int, int]:
    h, w = shape
    x0, y0 = np.floor(pts.min(axis=0) - grow).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0) + grow).astype(int)
    return max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)


def _part_roi(part, shape):
    if part[0] == "slab":
        return _roi(part[1], 2, shape)
    _, p0, p1, r0, r1, _ = part
    return _roi(np.array([p0, p1]), max(r0, r1) + 2, shape)


def _shade(normal: np.ndarray, light: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """Skin lit by `light` (a unit 3-vector): diffuse, a soft sheen, redder in the shade."""
    diffuse = np.clip(normal @ light, 0, 1)[..., None]
    half = light + np.array([0, 0, 1.0])
    half /= np.linalg.norm(half)
    sheen = np.clip(normal @ half, 0, 1)[..., None] ** 24
    lit = 0.42 + 0.68 * diffuse
    # light scattered under the skin: red falls off slowest
    colour = skin * lit ** np.array([0.85, 1.1, 1.25])
    return colour + 38.0 * sheen


# Painting every part of a hand reads best as one sequence; split, it would pass a dozen arrays around.
def paint_hand(
    img: np.ndarray, pose: HandPose, rng: np.random.Generator, moving: bool
) -> tuple[np.ndarray, dict]:
    """Draw the hand onto float32 RGB `img` in place; returns its alpha [H,W] and how it was drawn."""
    h, w = img.shape[:2]
    f = pose.finger
    az = rng.uniform(0, 2 * np.pi)
    light = np.array([np.cos(az) * 0.55, np.sin(az) * 0.55, 0.83])
    light /= np.linalg.norm(light)
    skin = np.asarray(pose.skin, np.float32)
    layer = np.zeros((h, w, 3), np.float32)
    alpha = np.zeros((h, w), np.float32)
    nail = np.clip(skin * 1.06 + [22, 6, 12], 0, 255)
    for part in parts(pose, 2.5 * max(h, w)):
        x0, y0, x1, y1 = _part_roi(part, (h, w))
        if x1 <= x0 or y1 <= y0:
            continue
        shape = (y1 - y0, x1 - x0)
        if part[0] == "slab":
            cover, normal = _slab(shape, part[1] - [x0, y0], f)
            colour = _shade(normal, light, skin)
        else:
            _, p0, p1, r0, r1, finger = part
            cover, normal, t = _capsule(shape, p0 - [x0, y0], p1 - [x0, y0], r0, r1)
            colour = _shade(normal, light, skin)
            if finger:
                length = np.linalg.norm(p1 - p0)
                for at in (0.42, 0.68):  # knuckle creases, seen across the finger
                    crease = np.exp(-(((t - at) * length / (0.06 * f + 0.3)) ** 2))
                    colour *= (1 - 0.16 * crease)[..., None]
                if r1 < r0 and length > 2.2 * f:  # a stretched finger shows its nail
                    tip_end = np.clip((t * length - (length - 0.75 * f)) / (0.6 * f), 0, 1)
                    across = np.abs(normal[..., 0] * (p1 - p0)[1] - normal[..., 1] * (p1 - p0)[0]) / length
                    on_nail = (tip_end > 0) & (across < 0.62) & (t < 0.985)
                    colour = np.where(on_nail[..., None], _shade(normal, light, nail), colour)
        a = alpha[y0:y1, x0:x1]
        # contact shade: what lies under a part darkens along the part's rim
        rim = cv2.GaussianBlur(cover, (0, 0), max(0.6, 0.12 * f))
        layer[y0:y1, x0:x1] *= (1 - 0.35 * rim * (1 - cover))[..., None]
        layer[y0:y1, x0:x1] = layer[y0:y1, x0:x1] * (1 - cover[..., None]) + colour * cover[..., None]
        alpha[y0:y1, x0:x1] = a + cover * (1 - a)

    # the cast shadow lands away from the light, softer the higher the hand is
    height = rng.uniform(0.5, 1.6) * f
    offset = -light[:2] / light[2] * height
    depth = rng.uniform(0.3, 0.55)
    shadow = cv2.warpAffine(alpha, np.float32([[1, 0, offset[0]], [0, 1, offset[1]]]), (w, h))
    shadow = cv2.GaussianBlur(shadow, (0, 0), max(0.7, rng.uniform(0.3, 0.7) * f))
    img *= (1 - depth * shadow)[..., None]
    how = {"light_azimuth_deg": round(float(np.rad2deg(az)), 2), "shadow_depth": round(float(depth), 4)}
    if moving:
        length = max(3, int(rng.uniform(0.4, 1.2) * f) | 1)
        angle = rng.uniform(0, 180)
        k = np.zeros((length, length), np.float32)
        k[length // 2, :] = 1.0
        k = cv2.warpAffine(
            k, cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0), k.shape
        )
        k /= max(float(k.sum()), 1e-6)
        layer = cv2.filter2D(layer * alpha[..., None], -1, k)
        alpha = cv2.filter2D(alpha, -1, k)
        layer = layer / np.maximum(alpha, 1e-6)[..., None]
        how["motion"] = {"length": length, "angle_deg": round(float(angle), 2)}
    a3 = alpha[..., None]
    img[:] = img * (1 - a3) + layer * a3
    return alpha, how
