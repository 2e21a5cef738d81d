"""Find a soroban's frame in a photo: its four outer corners, clockwise from the top-left.

With markers: four ArUco markers (DICT_4X4_50, ids 0-3 clockwise from the top-left) sit
diagonally outside the frame corners; the corner of each marker's black square nearest the
frame is the frame's corner (see render/scene.py). Without markers: convex quadrilaterals
from edges and contours; the reader then keeps the candidate that looks most like a soroban.
"""

from __future__ import annotations

import cv2
import numpy as np

from soroban_vision.errors import SorobanError

ARUCO = cv2.aruco.DICT_4X4_50


class FrameNotFound(SorobanError):
    code = 1


def find_markers(gray: np.ndarray) -> tuple[np.ndarray | None, str, list[str]]:
    """Frame corners from ArUco markers: the marker corner nearest the frame is (id + 2) % 4."""
    u8 = np.clip(np.rint(gray), 0, 255).astype(np.uint8)
    detector = cv2.aruco.ArucoDetector(
        cv2.aruco.getPredefinedDictionary(ARUCO), cv2.aruco.DetectorParameters()
    )
    corners, ids, _ = detector.detectMarkers(u8)
    warnings: list[str] = []
    if ids is None:
        return None, "", warnings
    ids = ids.reshape(-1)
    seen = [int(i) for i in ids if 0 <= i <= 3]
    if len(seen) != len(set(seen)):
        raise FrameNotFound(
            "more than one soroban in the image (a frame marker id appears twice); show one soroban at a time"
        )
    found = {
        int(i): c.reshape(4, 2)[(int(i) + 2) % 4] for i, c in zip(ids, corners, strict=True) if 0 <= i <= 3
    }
    if len(found) == 4:
        return np.array([found[i] for i in range(4)], np.float64), "markers", warnings
    if len(found) == 3:  # complete the parallelogram; good enough under mild perspective
        missing = ({0, 1, 2, 3} - set(found)).pop()
        a, b, c = (found[(missing + k) % 4] for k in (1, 2, 3))
        found[missing] = a + c - b
        warnings.append(f"marker {missing} not found; its corner was estimated from the other three")
        return np.array([found[i] for i in range(4)], np.float64), "markers-3", warnings
    return None, "", warnings


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Four points clockwise from the top-left (for a soroban wider than tall)."""
    pts = np.asarray(pts, np.float64).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # clockwise in image coordinates (y down), from the left-ish
    # start at the top-left: the point with the smallest x + y
    start = int(np.argmin(pts.sum(axis=1)))
    pts = np.roll(pts, -start, axis=0)
    # a soroban is wider than tall: the first side (top) must be a long one
    if np.linalg.norm(pts[1] - pts[0]) < np.linalg.norm(pts[3] - pts[0]):
        pts = np.roll(pts, -1, axis=0) if pts[1, 1] < pts[3, 1] else np.roll(pts, 1, axis=0)
    return pts


def quad_candidates(gray: np.ndarray, limit: int = 12) -> list[np.ndarray]:
    """Convex quadrilaterals from edges and contours, largest first."""
    u8 = np.clip(np.rint(gray), 0, 255).astype(np.uint8)
    h, w = u8.shape
    blurred = cv2.GaussianBlur(u8, (5, 5), 0)
    quads = []
    for lo, hi in ((30, 90), (60, 160)):
        edges = cv2.Canny(blurred, lo, hi)
        edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
        contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        for c in contours:
            area = cv2.contourArea(c)
            if area < 0.02 * h * w:
                continue
            hull = cv2.convexHull(c)
            peri = cv2.arcLength(hull, True)
            for eps in (0.01, 0.02, 0.04):
                approx = cv2.approxPolyDP(hull, eps * peri, True)
                if len(approx) == 4 and cv2.isContourConvex(approx):
                    quads.append(refine_quad(order_corners(approx.reshape(4, 2)), hull.reshape(-1, 2)))
                    break
    quads.sort(key=lambda q: -cv2.contourArea(q.astype(np.float32)))
    unique: list[np.ndarray] = []
    for q in quads:
        if all(np.abs(q - u).max() > 6 for u in unique):
            unique.append(q)
    return unique[:limit]


def refine_quad(quad: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Fit a line to the contour points along each side and intersect neighbouring lines."""
    lines = []
    for k in range(4):
        a, b = quad[k], quad[(k + 1) % 4]
        d = b - a
        length = np.linalg.norm(d)
        if length < 1:
            return quad
        n = np.array([-d[1], d[0]]) / length
        t = (points - a) @ d / length**2
        dist = np.abs((points - a) @ n)
        near = points[(dist < max(3.0, 0.02 * length)) & (t > 0.1) & (t < 0.9)]
        if len(near) < 2:
            return quad
        vx, vy, x0, y0 = cv2.fitLine(near.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).reshape(-1)
        lines.append((np.array([x0, y0], np.float64), np.array([vx, vy], np.float64)))
    out = []
    for k in range(4):
        (p1, d1), (p2, d2) = lines[k - 1], lines[k]
        m = np.array([d1, -d2]).T
        if abs(np.linalg.det(m)) < 1e-9:
            return quad
        t = np.linalg.solve(m, p2 - p1)
        out.append(p1 + t[0] * d1)
    refined = np.array(out)
    return refined if np.abs(refined - quad).max() < 0.05 * np.linalg.norm(quad[1] - quad[0]) else quad
