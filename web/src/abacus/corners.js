// A frame's four corners (abacus/corners.py): their order, the checks a frame's corners pass,
// and the small geometry of quads the frame search shares.

import { RECTIFY } from "./spec.js";

const dist = (p, q) => Math.hypot(p[0] - q[0], p[1] - q[1]);

/**
 * Four points clockwise from the top-left (for a soroban wider than tall): the top side is the
 * higher of the two longer sides, whatever the rotation.
 */
export function orderCorners(points) {
  const cx = (points[0][0] + points[1][0] + points[2][0] + points[3][0]) / 4;
  const cy = (points[0][1] + points[1][1] + points[2][1] + points[3][1]) / 4;
  const pts = points
    .map((p) => ({ p: [p[0], p[1]], angle: Math.atan2(p[1] - cy, p[0] - cx) }))
    .sort((a, b) => a.angle - b.angle) // clockwise in image coordinates (y down)
    .map((o) => o.p);
  const lengths = pts.map((p, k) => dist(p, pts[(k + 1) % 4]));
  const longPair = lengths[0] + lengths[2] >= lengths[1] + lengths[3] ? 0 : 1;
  const midY = [longPair, longPair + 2].map((k) => pts[k][1] + pts[(k + 1) % 4][1]);
  const top = midY[0] <= midY[1] ? longPair : longPair + 2;
  return [0, 1, 2, 3].map((k) => pts[(k + top) % 4]);
}

/** The mean of a quad's left and right sides (clockwise from the top-left). */
export function quadHeight(quad) {
  return 0.5 * (dist(quad[3], quad[0]) + dist(quad[2], quad[1]));
}

/**
 * Are the corners no frame's: the top or left side shorter than the spec's min_side_px, or
 * three corners on a line (twice their triangle's area under its min_corner_cross_px2)?
 */
export function degenerate(corners) {
  const top = dist(corners[1], corners[0]), left = dist(corners[3], corners[0]);
  if (!(top >= RECTIFY.min_side_px && left >= RECTIFY.min_side_px)) return true;
  for (let k = 0; k < 4; k++) {
    const [a, b, c] = [0, 1, 2].map((j) => corners[(k + j) % 4]);
    const cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
    if (!(Math.abs(cross) >= RECTIFY.min_corner_cross_px2)) return true;
  }
  return false;
}

/** Is the quad inside a w x h image, give or take `margin` pixels? */
export function within(quad, w, h, margin) {
  return quad.every(([x, y]) => x >= -margin && y >= -margin && x <= w - 1 + margin && y <= h - 1 + margin);
}

/** The area two convex quads share, of the smaller one's area (OpenCV's, as Python's). */
export function overlap(cv, a, b) {
  const ma = cv.matFromArray(4, 1, cv.CV_32FC2, a.flat()), mb = cv.matFromArray(4, 1, cv.CV_32FC2, b.flat());
  const shared = new cv.Mat();
  try {
    const area = cv.intersectConvexConvex(ma, mb, shared, true);
    return area / Math.max(Math.min(cv.contourArea(ma), cv.contourArea(mb)), 1e-9);
  } finally {
    for (const m of [ma, mb, shared]) m.delete();
  }
}

/** cv2.isContourConvex of a quad's float32 corners. */
export function convex(cv, quad) {
  const m = cv.matFromArray(4, 1, cv.CV_32FC2, quad.flat());
  try {
    return cv.isContourConvex(m);
  } finally {
    m.delete();
  }
}

/** The quads, less any within `tol` pixels (every corner) of one before it. */
export function dedupe(quads, tol) {
  const unique = [];
  for (const q of quads) {
    if (unique.every((u) => q.some((p, k) => Math.abs(p[0] - u[k][0]) > tol || Math.abs(p[1] - u[k][1]) > tol))) unique.push(q);
  }
  return unique;
}
