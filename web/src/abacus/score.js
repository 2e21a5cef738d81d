// How much a quad looks like a soroban's frame once rectified (abacus/score.py soroban_score):
// plain rails and bar, busy bead rows, rails of one colour, the beads starting as far in at both
// ends, and the rods not going on past the top or bottom side (as they do past the bar).

import { median } from "../numeric/median.js";
import { spec } from "./spec.js";

const S = spec.frame_search.score;

const slice = (a, lo, hi) => a.subarray(lo, hi);

/** profile[int(lo * n) : max(int(hi * n), int(lo * n) + 1)] */
function band(profile, lo, hi) {
  const n = profile.length, a = Math.trunc(lo * n);
  return slice(profile, a, Math.max(Math.trunc(hi * n), a + 1));
}

/** The pixels of rows [r0, r1) and columns [c0, c1) of a cols-wide picture, row by row. */
function block(img, cols, r0, r1, c0, c1) {
  const w = Math.max(c1 - c0, 0), out = new Float64Array(Math.max(r1 - r0, 0) * w);
  for (let i = r0; i < r1; i++) for (let j = 0; j < w; j++) out[(i - r0) * w + j] = img[i * cols + c0 + j];
  return out;
}

/** Two blocks one after the other. */
const joined = (a, b) => {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

/**
 * soroban_score(gray, quad): about 0.5-0.9 for a soroban's frame, below 0.3 for other quads.
 * `gray`: a SmoothGray; `quad`: [4][2] clockwise from the top-left.
 */
export function sorobanScore(gray, quad) {
  // the frame model's snapping and the outline search score some quads more than once
  const key = quad.flat().join(" ");
  let known = gray.scores.get(key);
  if (known === undefined) gray.scores.set(key, (known = scoreOf(gray, quad)));
  return known;
}

function scoreOf(gray, quad) {
  const top = Math.hypot(quad[1][0] - quad[0][0], quad[1][1] - quad[0][1]);
  const left = Math.hypot(quad[3][0] - quad[0][0], quad[3][1] - quad[0][1]);
  const rows = 96;
  const cols = Math.trunc(Math.min(Math.max((rows * top) / Math.max(left, 1.0), 96), 512));
  const off = Math.round(S.beyond * rows); // 38.4: no tie to round
  const flat = [[0, off], [cols, off], [cols, off + rows], [0, off + rows]].map(([x, y]) => [x - 0.5, y - 0.5]);
  const seen = gray.warp(flat, quad, cols, rows + 2 * off);
  const rect = seen.subarray(off * cols, (off + rows) * cols);
  const x0 = Math.trunc(0.06 * cols), x1 = Math.trunc(0.94 * cols), y0 = Math.trunc(0.06 * rows), y1 = Math.trunc(0.94 * rows);
  const across = new Float64Array(rows); // per row: the mean step between neighbours
  for (let i = 0; i < rows; i++) {
    let acc = 0;
    for (let j = x0; j < x1 - 1; j++) acc += Math.abs(rect[i * cols + j + 1] - rect[i * cols + j]);
    across[i] = acc / (x1 - x0 - 1);
  }
  const down = new Float64Array(cols); // per column, summed row by row (each column's sum in the same order)
  for (let i = y0; i < y1 - 1; i++) for (let j = 0; j < cols; j++) down[j] += Math.abs(rect[(i + 1) * cols + j] - rect[i * cols + j]);
  for (let j = 0; j < cols; j++) down[j] /= y1 - y0 - 1;
  const beads = median(band(across, 0.45, 0.85)) + 1e-6;
  const bar = Math.min(...band(across, 0.2, 0.42));
  const plain = Math.max(
    median(band(across, 0.01, 0.045)), // top rail
    median(band(across, 0.955, 0.99)), // bottom rail
    bar,
    median(band(down, 0.005, 0.03)), // side rails
    median(band(down, 0.97, 0.995)),
    beads - median(band(across, 0.1, 0.22)), // heaven beads as busy as earth ones
  ) / beads;
  const span = (lo, hi, n) => [Math.trunc(lo * n), Math.max(Math.trunc(hi * n), Math.trunc(lo * n) + 1)];
  const [t0, t1] = span(0.01, 0.045, rows), [b0, b1] = span(0.955, 0.99, rows);
  const [l0, l1] = span(0.005, 0.03, cols), [r0, r1] = span(0.97, 0.995, cols);
  const end = Math.max(Math.trunc(0.1 * cols), 1);
  const differ = (a, b) => { // beyond a third, relative: light varies across a frame
    const ma = median(a), mb = median(b);
    return Math.max(0, Math.abs(ma - mb) / (Math.max(ma, mb) + 10.0) - 0.33);
  };
  const colour = Math.max(
    differ(block(rect, cols, t0, t1, x0, x1), block(rect, cols, b0, b1, x0, x1)),
    differ(block(rect, cols, y0, y1, l0, l1), joined(block(rect, cols, t0, t1, 0, end), block(rect, cols, b0, b1, 0, end))),
    differ(block(rect, cols, y0, y1, r0, r1), joined(block(rect, cols, t0, t1, cols - end, cols), block(rect, cols, b0, b1, cols - end, cols))),
  );
  // the beads start as far inside both ends: the side rails are alike
  const mid = median(slice(down, Math.trunc(0.3 * cols), Math.trunc(0.7 * cols)));
  let first = -1, last = -1;
  for (let j = 0; j < cols; j++) {
    if (down[j] < 0.5 * mid) continue;
    if (first < 0) first = j;
    last = j;
  }
  const lopsided = first >= 0 ? Math.abs(first - (cols - 1 - last)) / rows : 0.0;
  return 1.0 - plain - S.colour_weight * colour -
    S.go_on_weight * Math.max(0, rodsGoOn(gray.cv, seen, cols, rows, off, x0, x1) - S.go_on) -
    S.lopsided_weight * Math.max(0, lopsided - S.lopsided);
}

/**
 * How much the rods' pattern inside the rectified quad goes on past its top and bottom sides:
 * the larger correlation of the columns' fine detail inside and in the band past each side.
 */
function rodsGoOn(cv, seen, cols, rows, off, x0, x1) {
  const detail = (r0, r1) => {
    const n = x1 - x0, p = new Float64Array(n);
    for (let i = r0; i < r1; i++) for (let j = 0; j < n; j++) p[j] += seen[i * cols + x0 + j]; // each column's sum in row order
    for (let j = 0; j < n; j++) p[j] /= r1 - r0;
    const src = cv.matFromArray(1, n, cv.CV_64FC1, p), blur = new cv.Mat();
    try {
      cv.GaussianBlur(src, blur, new cv.Size(0, 0), cols / 30.0, 0, cv.BORDER_DEFAULT);
      const b = blur.data64F;
      let norm = 0;
      for (let j = 0; j < n; j++) {
        p[j] -= b[j];
        norm += p[j] * p[j];
      }
      norm = Math.sqrt(norm) + 1e-9;
      for (let j = 0; j < n; j++) p[j] /= norm;
      return p;
    } finally {
      src.delete();
      blur.delete();
    }
  };
  const gap = Math.trunc(0.05 * rows);
  const inside = detail(off + Math.trunc(0.1 * rows), off + Math.trunc(0.9 * rows));
  const above = detail(0, Math.max(off - gap, 1));
  const below = detail(off + rows + gap, rows + 2 * off);
  const dot = (a, b) => a.reduce((s, v, i) => s + v * b[i], 0);
  return Math.max(dot(inside, above), dot(inside, below));
}
