"""Pixel work for putting a flat drawing into a scene: pasting on pixel boundaries, and warping and
blending only the part of the image a drawing covers."""

from __future__ import annotations

import cv2
import numpy as np


def paste(img: np.ndarray, quad: np.ndarray, patch) -> None:
    """Fill the pixels of an axis-aligned quad whose edges lie on pixel boundaries."""
    x0, y0 = np.round(quad[0] + 0.5).astype(int)
    x1, y1 = np.round(quad[2] + 0.5).astype(int)
    img[y0:y1, x0:x1] = patch


def roi(box: np.ndarray, grow: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The pixel rectangle x0, y0, x1, y1 around a float box, grown, within the image."""
    (x0, y0), (x1, y1) = box
    w, h = size
    return (
        max(0, int(np.floor(x0 - grow))),
        max(0, int(np.floor(y0 - grow))),
        min(w, int(np.ceil(x1 + grow)) + 1),
        min(h, int(np.ceil(y1 + grow)) + 1),
    )


def warp_roi(src: np.ndarray, hom: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
    """The part `region` of warpPerspective(src, hom): the rest would be masked out anyway."""
    x0, y0, x1, y1 = region
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]]) @ hom
    return cv2.warpPerspective(src, shift, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)


def composite_roi(back: np.ndarray, front: np.ndarray, alpha_u8: np.ndarray, region) -> None:
    """back[region] = front over back[region], with alpha 0-255; in place."""
    x0, y0, x1, y1 = region
    a = alpha_u8.astype(np.float32) * np.float32(1 / 255)
    back[y0:y1, x0:x1] = cv2.blendLinear(front, back[y0:y1, x0:x1], a, 1 - a)
