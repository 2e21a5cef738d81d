// Rough quads where a soroban's frame may be, in a single-channel uint8 image (abacus/rough.py):
// the outlines in three Canny edge maps, the blob the beads' dense gradients make, and pairs of
// long near-parallel straight edges from probabilistic Hough segments. The same OpenCV calls as
// Python's, with the same arguments, so the same quads.

import { percentile } from "../numeric/numpy.js";
import { orderCorners } from "./corners.js";
import { spec } from "./spec.js";

const OUTLINE = spec.frame_search.outline;
const BLOB = OUTLINE.blob, LINES = OUTLINE.lines;
const DEG = Math.PI / 180; // np.deg2rad's factor

/** Run `body` with fresh Mats, deleted after whatever it returns or throws. */
function withMats(cv, n, body) {
  const mats = Array.from({ length: n }, () => new cv.Mat());
  try {
    return body(...mats);
  } finally {
    for (const m of mats) m.delete();
  }
}

/** A Mat's points [[x, y]] (int32 or float32 pairs). */
function pointsOf(cv, mat) {
  const data = mat.type() === cv.CV_32FC2 || mat.type() === cv.CV_32FC1 ? mat.data32F : mat.data32S;
  return Array.from({ length: data.length / 2 }, (_, i) => [data[2 * i], data[2 * i + 1]]);
}

/** cv2.GaussianBlur(u8, (5, 5), 0) into `out`. */
function blur5(cv, u8, out) {
  cv.GaussianBlur(u8, out, new cv.Size(5, 5), 0, 0, cv.BORDER_DEFAULT);
}

/** Convex quadrilaterals from the outlines in several edge maps (`u8`: a CV_8UC1 Mat). */
export function contourQuads(cv, u8) {
  const quads = [];
  const kernel = cv.Mat.ones(3, 3, cv.CV_8U);
  try {
    withMats(cv, 3, (blurred, edges, hierarchy) => {
      blur5(cv, u8, blurred);
      for (const [lo, hi] of OUTLINE.contour_canny) {
        cv.Canny(blurred, edges, lo, hi, 3, false);
        cv.dilate(edges, edges, kernel, new cv.Point(-1, -1), 1, cv.BORDER_CONSTANT, cv.morphologyDefaultBorderValue());
        const contours = new cv.MatVector();
        try {
          cv.findContours(edges, contours, hierarchy, cv.RETR_LIST, cv.CHAIN_APPROX_SIMPLE);
          for (const { quad } of largeHullQuads(cv, contours, u8.rows * u8.cols, false)) if (quad !== null) quads.push(quad);
        } finally {
          contours.delete();
        }
      }
    });
  } finally {
    kernel.delete();
  }
  return quads;
}

/**
 * {quad: the quadrilateral of its convex hull or null, rect: with `rect`, the corners of its
 * least-area rectangle} for each contour that covers at least the spec's min_area of `area`.
 */
function largeHullQuads(cv, contours, area, rect) {
  const out = [];
  for (let i = 0; i < contours.size(); i++) {
    const c = contours.get(i);
    try {
      if (cv.contourArea(c, false) < OUTLINE.min_area * area) continue;
      const quad = withMats(cv, 1, (hull) => {
        cv.convexHull(c, hull, false, true);
        return hullQuad(cv, hull);
      });
      out.push({ quad, rect: rect ? boxCorners(cv.minAreaRect(c)) : null });
    } finally {
      c.delete();
    }
  }
  return out;
}

/**
 * cv2.boxPoints of a rotated rectangle (RotatedRect::points, whose OpenCV.js binding returns
 * nothing), in its float32 arithmetic, in order: within a few float32 ulps of Python's.
 */
function boxCorners({ center, size, angle }) {
  const f = Math.fround, rad = (angle * Math.PI) / 180;
  const b = f(f(Math.cos(rad)) * 0.5), a = f(f(Math.sin(rad)) * 0.5);
  const { x, y } = center, { width, height } = size;
  const p0 = [f(f(x - f(a * height)) - f(b * width)), f(f(y + f(b * height)) - f(a * width))];
  const p1 = [f(f(x + f(a * height)) - f(b * width)), f(f(y - f(b * height)) - f(a * width))];
  const p2 = [f(2 * x - p0[0]), f(2 * y - p0[1])], p3 = [f(2 * x - p1[0]), f(2 * y - p1[1])];
  return orderCorners([p0, p1, p2, p3]);
}

/** The hull as four corners (approxPolyDP at growing tolerances), or null. */
function hullQuad(cv, hull) {
  const peri = cv.arcLength(hull, true);
  for (const eps of OUTLINE.hull_epsilons) {
    const quad = withMats(cv, 1, (approx) => {
      cv.approxPolyDP(hull, approx, eps * peri, true);
      return approx.rows === 4 && cv.isContourConvex(approx) ? orderCorners(pointsOf(cv, approx)) : null;
    });
    if (quad !== null) return quad;
  }
  return null;
}

/**
 * The soroban as a blob: beads and rods make its inside dense with strong gradients, so closing
 * the strong-gradient mask fills it; the blob's hull and its rectangle are the frame roughly.
 */
export function blobQuads(cv, u8) {
  const fullRows = u8.rows, fullCols = u8.cols;
  return withMats(cv, 6, (half, g, gx, gy, mag, hierarchy) => {
    cv.resize(u8, half, new cv.Size(0, 0), 0.5, 0.5, cv.INTER_AREA); // a blob needs no detail
    const h = half.rows, w = half.cols;
    cv.GaussianBlur(half, g, new cv.Size(0, 0), BLOB.sigma, 0, cv.BORDER_DEFAULT);
    cv.Sobel(g, gx, cv.CV_32F, 1, 0, 3, 1, 0, cv.BORDER_DEFAULT);
    cv.Sobel(g, gy, cv.CV_32F, 0, 1, 3, 1, 0, cv.BORDER_DEFAULT);
    cv.magnitude(gx, gy, mag);
    const m = mag.data32F;
    const strong = Math.fround(Math.max(BLOB.min_gradient, percentile(m, BLOB.percentile))); // compared in float32, as numpy does
    const bits = new Uint8Array(m.length);
    for (let i = 0; i < m.length; i++) bits[i] = m[i] > strong ? 255 : 0;
    const mask = cv.matFromArray(h, w, cv.CV_8UC1, bits);
    try {
      for (const [op, frac] of [[cv.MORPH_CLOSE, BLOB.close], [cv.MORPH_OPEN, BLOB.open]]) {
        const k = Math.max(3, Math.trunc(frac * Math.max(h, w))) | 1;
        const element = cv.getStructuringElement(cv.MORPH_ELLIPSE, new cv.Size(k, k));
        try {
          cv.morphologyEx(mask, mask, op, element, new cv.Point(-1, -1), 1, cv.BORDER_CONSTANT, cv.morphologyDefaultBorderValue());
        } finally {
          element.delete();
        }
      }
      const contours = new cv.MatVector();
      const quads = [];
      try {
        cv.findContours(mask, contours, hierarchy, cv.RETR_EXTERNAL, cv.CHAIN_APPROX_SIMPLE);
        for (const { quad, rect } of largeHullQuads(cv, contours, h * w, true)) {
          if (quad !== null) quads.push(quad);
          quads.push(rect);
        }
      } finally {
        contours.delete();
      }
      const sy = fullRows / h, sx = fullCols / w;
      return quads.map((q) => q.map(([x, y]) => [(x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5]));
    } finally {
      mask.delete();
    }
  });
}

/**
 * Straight edges [[x1, y1, x2, y2]] from probabilistic Hough segments on a Canny edge map, each
 * pointed so that the brighter side is on its left (y down); `u8`: a CV_8UC1 Mat.
 */
export function segments(cv, u8, minLength) {
  return withMats(cv, 3, (blurred, edges, found) => {
    blur5(cv, u8, blurred);
    cv.Canny(blurred, edges, LINES.canny[0], LINES.canny[1], 3, false);
    const votes = Math.max(LINES.least_votes, Math.trunc(LINES.votes * minLength));
    cv.HoughLinesP(edges, found, LINES.rho_px, Math.PI / LINES.theta_steps, votes, LINES.shortest * minLength, LINES.gap_px);
    const px = blurred.data, w = u8.cols, h = u8.rows, look = LINES.side_look_px;
    const out = [];
    for (let i = 0; i < found.data32S.length / 4; i++) { // OpenCV.js gives 1 x n segments, Python n x 1
      const seg = Array.from(found.data32S.subarray(4 * i, 4 * i + 4));
      const dx = seg[2] - seg[0], dy = seg[3] - seg[1];
      // one pixel axis across the edge, on the side of its left normal (dy, -dx): whole pixels
      const ax = Math.abs(dy) > Math.abs(dx) ? [Math.sign(dy), 0] : [0, -Math.sign(dx)];
      let contrast = 0;
      for (const t of LINES.side_at) {
        const x = Math.floor(seg[0] + t * dx + 0.5), y = Math.floor(seg[1] + t * dy + 0.5);
        for (const sign of [1, -1]) {
          const u = x + sign * look * ax[0], v = y + sign * look * ax[1];
          if (u >= 0 && u < w && v >= 0 && v < h) contrast += sign * px[v * w + u];
        }
      }
      out.push(contrast < 0 ? [seg[2], seg[3], seg[0], seg[1]] : seg);
    }
    return out;
  });
}

const dot = (a, b) => a[0] * b[0] + a[1] * b[1];

/** The unit eigenvector of the larger eigenvalue of [[a, b], [b, c]] (its sign as it comes). */
function principal(a, b, c) {
  if (b === 0) return a > c ? [1, 0] : [0, 1];
  const l = 0.5 * (a + c) + Math.sqrt((0.5 * (a - c)) ** 2 + b * b);
  const u = [b, l - a], v = [l - c, b];
  const pick = dot(u, u) >= dot(v, v) ? u : v, n = Math.sqrt(dot(pick, pick));
  return [pick[0] / n, pick[1] / n];
}

/** Collinear segments merged into one line (rough.py _Line): a point, a unit direction, its extent. */
class Line {
  constructor(seg) {
    this.segs = [seg];
    this.fit();
  }

  fit() {
    const starts = this.segs.map((s) => [s[0], s[1]]), ends = this.segs.map((s) => [s[2], s[3]]);
    const pts = [...starts, ...ends];
    const lengths = this.segs.map((s) => Math.hypot(s[2] - s[0], s[3] - s[1]));
    const wts = [...lengths, ...lengths];
    const total = wts.reduce((x, y) => x + y, 0);
    const centre = [0, 1].map((k) => pts.reduce((acc, p, i) => acc + p[k] * wts[i], 0) / total);
    let sxx = 0, sxy = 0, syy = 0;
    pts.forEach((p, i) => {
      const x = p[0] - centre[0], y = p[1] - centre[1];
      sxx += wts[i] * x * x;
      sxy += wts[i] * x * y;
      syy += wts[i] * y * y;
    });
    const d = principal(sxx, sxy, syy);
    const longest = this.segs[lengths.indexOf(Math.max(...lengths))];
    const ref = [longest[2] - longest[0], longest[3] - longest[1]];
    this.d = dot(d, ref) >= 0 ? d : [-d[0], -d[1]];
    this.p = centre;
    this.n = [this.d[1], -this.d[0]]; // brightness grows along n
    const proj = pts.map((p) => dot([p[0] - centre[0], p[1] - centre[1]], this.d));
    this.lo = Math.min(...proj);
    this.hi = Math.max(...proj);
    this.support = lengths.reduce((x, y) => x + y, 0);
  }

  accepts(seg, tol, maxGap) {
    const d = [seg[2] - seg[0], seg[3] - seg[1]], length = Math.hypot(d[0], d[1]);
    if (dot([d[0] / length, d[1] / length], this.d) < Math.cos(LINES.same_angle_deg * DEG)) return false; // another direction or polarity
    const a0 = [seg[0] - this.p[0], seg[1] - this.p[1]], b0 = [seg[2] - this.p[0], seg[3] - this.p[1]];
    if (Math.max(Math.abs(dot(a0, this.n)), Math.abs(dot(b0, this.n))) > tol) return false;
    const [a, b] = [dot(a0, this.d), dot(b0, this.d)].sort((x, y) => x - y);
    return a - this.hi < maxGap && this.lo - b < maxGap;
  }

  at(t) {
    return [this.p[0] + t * this.d[0], this.p[1] + t * this.d[1]];
  }
}

/** The long straight edges, merged from collinear segments, the best supported first. */
function mergedLines(cv, u8, minLength) {
  const segs = segments(cv, u8, minLength);
  const lengths = segs.map((s) => Math.hypot(s[2] - s[0], s[3] - s[1]));
  const order = segs.map((_, i) => i).sort((i, j) => lengths[j] - lengths[i]); // stable, as Python's
  const size = Math.max(u8.rows, u8.cols);
  const tol = Math.max(LINES.offset_px, LINES.offset * size), gap = LINES.join_gap * size;
  const lines = [];
  for (const i of order) {
    const line = lines.find((ln) => ln.accepts(segs[i], tol, gap));
    if (line) {
      line.segs.push(segs[i]);
      line.fit();
    } else lines.push(new Line(segs[i]));
  }
  return lines
    .filter((ln) => ln.hi - ln.lo >= minLength && ln.support >= LINES.support * (ln.hi - ln.lo))
    .sort((a, b) => b.support - a.support)
    .slice(0, LINES.kept);
}

/**
 * A soroban frame's long sides are two long, near-parallel straight edges over the same extent,
 * a fixed range of their length apart: each such pair gives a quad ending where the edges end.
 */
export function lineQuads(cv, u8) {
  const lines = mergedLines(cv, u8, LINES.min_length * Math.max(u8.rows, u8.cols));
  const [loApart, hiApart] = LINES.apart;
  const scored = [];
  const sorted2 = (x, y) => (x <= y ? [x, y] : [y, x]);
  for (let i = 0; i < lines.length; i++) {
    const a = lines[i];
    for (const b of lines.slice(i + 1)) {
      if (Math.abs(dot(a.d, b.d)) < Math.cos(LINES.parallel_deg * DEG)) continue; // not parallel enough
      const d = dot(a.d, b.d) > 0 ? a.d : [-a.d[0], -a.d[1]];
      const along = (q) => dot([q[0] - a.p[0], q[1] - a.p[1]], d);
      const [loB, hiB] = sorted2(along(b.at(b.lo)), along(b.at(b.hi)));
      const [loA, hiA] = sorted2(along(a.at(a.lo)), along(a.at(a.hi)));
      const la = hiA - loA, lb = hiB - loB;
      const shared = Math.min(hiA, hiB) - Math.max(loA, loB);
      if (shared < LINES.overlap * Math.min(la, lb) || Math.min(la, lb) < LINES.length_ratio * Math.max(la, lb)) continue;
      const gap = Math.abs(dot([b.p[0] - a.p[0], b.p[1] - a.p[1]], a.n));
      if (!(loApart * Math.max(la, lb) <= gap && gap <= hiApart * Math.max(la, lb))) continue; // not a soroban's proportions
      const lo = Math.min(loA, loB), hi = Math.max(hiA, hiB);
      const s = dot([a.p[0] - b.p[0], a.p[1] - b.p[1]], b.d);
      const pb = [b.p[0] + s * b.d[0], b.p[1] + s * b.d[1]]; // b's point level with a.p
      const at = (p, t) => [p[0] + t * d[0], p[1] + t * d[1]];
      scored.push([Math.min(a.support, b.support), orderCorners([at(a.p, lo), at(a.p, hi), at(pb, hi), at(pb, lo)])]);
    }
  }
  return scored.sort((x, y) => y[0] - x[0]).slice(0, LINES.pairs).map(([, q]) => q);
}
