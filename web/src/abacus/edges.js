// Snapping each side of a rough quad to the frame's outer edge (abacus/edges.py, step for step).
//
// Across a side, the median along it of the gradient along its normal, at the tilt that makes
// it sharpest, gives the straight edges nearby (Side). Going outward there are the busy beads,
// the plain rail, the rail's outer edge, then maybe a shadow's rim or things on the table; the
// outer edge is the outermost sharp edge at most a rail's width outside the beads with no other
// strong edge between (outerEdge). A line is fitted to the sub-pixel gradient peaks along the
// chosen edge (Huber weights); corners are where lines meet. Float32 steps round as numpy's do.

import { median, median32 } from "../numeric/median.js";
import { pairwiseSum, linspace, percentile } from "../numeric/numpy.js";
import { rint } from "../numeric/round.js";
import { convex, orderCorners, quadHeight } from "./corners.js";
import { sorobanScore } from "./score.js";
import { spec } from "./spec.js";

export const EDGES = spec.frame_search.edges;
const f32 = Math.fround;
const norm = (x, y) => Math.sqrt(x * x + y * y);
const pyRound = rint; // Python's round() of a float: half to even

/**
 * The image across one side of a quad: gray samples on lines parallel to the side at `offsets`
 * (pixels) along its outward normal; `prof`, the median over the side of the gradient along
 * the normal, taken along the tilt (`delta` pixels end to end) that makes its strongest edge
 * sharpest; `busy`, how much the image varies along the side at each offset.
 */
export class Side {
  constructor(gray, a, b, outward, reach, step, tilts, drift, findEdges = true) {
    this.a = a;
    this.step = step;
    this.length = norm(b[0] - a[0], b[1] - a[1]);
    const L = Math.max(this.length, 1e-9);
    this.d = [(b[0] - a[0]) / L, (b[1] - a[1]) / L];
    const n = [-this.d[1], this.d[0]];
    this.n = n[0] * outward[0] + n[1] * outward[1] >= 0 ? n : [-n[0], -n[1]];
    this.ts = linspace(0.06, 0.94, Math.trunc(Math.min(Math.max(this.length / EDGES.sample_every, 12), 256)));
    const count = Math.ceil(reach / step);
    this.count = count;
    this.pad = Math.ceil(drift / step) + 3; // room to tilt and to fit around an edge
    const O = 2 * (count + this.pad) + 1, T = this.ts.length;
    this.offsets = Float64Array.from({ length: O }, (_, i) => (i - count - this.pad) * step);
    this.ss = this.offsets.subarray(this.pad, O - this.pad);
    const xs = new Float32Array(T * O), ys = new Float32Array(T * O);
    for (let t = 0; t < T; t++) {
      const along = this.ts[t] * this.length;
      const bx = a[0] + along * this.d[0], by = a[1] + along * this.d[1];
      for (let o = 0; o < O; o++) {
        xs[t * O + o] = bx + this.offsets[o] * this.n[0];
        ys[t * O + o] = by + this.offsets[o] * this.n[1];
      }
    }
    this.vals = gray.sample(xs, ys, T, O);
    this.grad = new Float32Array(T * O);
    for (let t = 0; t < T; t++) {
      for (let o = 1; o < O - 1; o++) this.grad[t * O + o] = f32(f32(this.vals[t * O + o + 1] - this.vals[t * O + o - 1]) / (2 * step));
    }
    this.O = O;
    this.delta = 0.0;
    if (!findEdges) return;
    this.findTilt(tilts, drift);
    this.measure();
  }

  /** The tilt whose mean gradient profile, over some rows, has the highest peak. */
  findTilt(tilts, drift) {
    const T = this.ts.length, S = this.ss.length, O = this.O;
    const every = Math.max(1, Math.trunc(T / 48)); // enough rows to tell the tilts apart
    let best = null;
    for (const delta of tilts > 1 ? linspace(-drift, drift, tilts) : [-drift]) {
      const c0 = this.columns(delta);
      const acc = new Float32Array(S);
      let rows = 0;
      for (let t = 0; t < T; t += every, rows++) for (let k = 0; k < S; k++) acc[k] = f32(acc[k] + this.grad[t * O + c0[t] + k]);
      let peak = 0;
      for (let k = 0; k < S; k++) peak = Math.max(peak, Math.abs(f32(acc[k] / rows)));
      if (best === null || peak > best[0]) best = [peak, delta];
    }
    this.delta = best[1];
  }

  /** prof, busy and noise along the tilt found. */
  measure() {
    const T = this.ts.length, S = this.ss.length, O = this.O;
    const c0 = this.columns(this.delta);
    this.prof = new Float32Array(S);
    this.busy = new Float32Array(S);
    const spreads = new Float32Array(S);
    const col = new Float32Array(T), val = new Float32Array(T);
    for (let k = 0; k < S; k++) {
      for (let t = 0; t < T; t++) {
        col[t] = this.grad[t * O + c0[t] + k];
        val[t] = this.vals[t * O + c0[t] + k];
      }
      this.busy[k] = std32(val);
      spreads[k] = std32(col); // before the median reorders col: float32 sums depend on the order
      this.prof[k] = median32(col, true);
    }
    // the median gradient's noise, from the gradient's spread along the side where least busy
    this.noise = (1.25 * percentile(spreads, 25)) / Math.sqrt(T);
  }

  /** The sample column of each row at offset 0 along a tilt of `delta`. */
  columns(delta) {
    const out = new Int32Array(this.ts.length);
    for (let t = 0; t < out.length; t++) out[t] = this.pad + rint(((this.ts[t] - 0.5) * delta) / this.step);
    return out;
  }

  /**
   * Straight edges along the side, inner to outer: [offset, strength], where strength is the
   * signed median gradient less its smooth (shadow-like) part.
   */
  edges(floor) {
    const S = this.ss.length, prof = this.prof;
    const sigma = EDGES.shadow_sigma / this.step, radius = Math.ceil(3 * sigma);
    const kernel = Float64Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-0.5 * ((i - radius) / sigma) ** 2));
    const total = pairwiseSum(kernel, 0, kernel.length);
    for (let i = 0; i < kernel.length; i++) kernel[i] /= total;
    const minFloor = Math.max(floor, EDGES.noise_sigmas * this.noise);
    const mag = Float64Array.from(prof, Math.abs);
    const sharp = new Float64Array(S);
    for (let k = 0; k < S; k++) {
      let smooth = 0;
      for (let i = 0; i < kernel.length; i++) smooth += prof[Math.min(Math.max(k + i - radius, 0), S - 1)] * kernel[i];
      const hard = prof[k] - smooth;
      sharp[k] = Math.sign(hard) === Math.sign(prof[k]) ? Math.min(mag[k], Math.abs(hard)) : 0.0;
    }
    const out = [];
    for (let k = 1; k < S - 1; k++) {
      if (mag[k] >= mag[k - 1] && mag[k] > mag[k + 1] && sharp[k] >= minFloor) out.push([this.ss[k], Math.sign(prof[k]) * sharp[k]]);
    }
    return out;
  }

  /** Is the image busy (beads, rods) somewhere less than `depth` pixels inside `offset`? */
  busyAt(offset, depth) {
    let inner = -Infinity, near = -Infinity;
    this.ss.forEach((s, k) => {
      if (s <= 0) inner = Math.max(inner, this.busy[k]);
      if (s >= offset - depth && s <= offset - 1.0) near = Math.max(near, this.busy[k]);
    });
    if (inner === -Infinity || near === -Infinity) return true;
    return near >= Math.max(EDGES.busy_floor, EDGES.busy_fraction * inner);
  }

  /**
   * [where the busy beads end, how far outside that `offset` is]: the beads' end is the last
   * busy offset inside `offset`, or, without one, before the first plain stretch a rail wide.
   */
  railWidth(offset, height) {
    const S = this.ss.length;
    let inner = 0.0;
    this.ss.forEach((s, k) => s <= 0 && (inner = Math.max(inner, this.busy[k])));
    const limit = Math.max(EDGES.busy_floor, EDGES.busy_fraction * inner);
    const busy = Array.from(this.busy, (v) => v >= limit);
    if (offset !== null) {
      let last = null;
      for (let k = 0; k < S; k++) if (busy[k] && this.ss[k] < offset - 1.0) last = this.ss[k];
      if (last !== null) return [last, offset - last];
    }
    const run = Math.max(2, pyRound((EDGES.min_rail * height) / this.step));
    let seen = false;
    for (let k = 0; k + run <= S; k++) {
      seen ||= busy[k];
      let plain = true;
      for (let i = k; i < k + run && plain; i++) plain = !busy[i];
      if (plain && seen) return [this.ss[k] - this.step, 0.0];
    }
    return null;
  }

  /** The line [point, unit direction] at `offset` along the tilt found. */
  line(offset) {
    const dx = this.d[0] * this.length + this.delta * this.n[0], dy = this.d[1] * this.length + this.delta * this.n[1];
    const len = norm(dx, dy), s = offset - 0.5 * this.delta;
    return [[this.a[0] + s * this.n[0], this.a[1] + s * this.n[1]], [dx / len, dy / len]];
  }

  /**
   * The line through the sub-pixel edge points of this sign within `window` pixels of the
   * tilted line at `offset`: a weighted least-squares fit, reweighted against outliers (Huber, 1 px).
   */
  fit(offset, sign, window = 2.0) {
    const T = this.ts.length, O = this.O, half = Math.ceil(window / this.step);
    const c0 = this.columns(this.delta), shift = pyRound(offset / this.step) + this.count;
    const offs = new Float64Array(T), weight = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      const centre = c0[t] + shift;
      const idx = (i) => Math.min(Math.max(centre + i - half, 1), O - 2);
      let j = 0, top = -Infinity;
      for (let i = 0; i <= 2 * half; i++) {
        const g = sign * this.grad[t * O + idx(i)];
        if (g > top) (top = g), (j = i);
      }
      j = Math.min(Math.max(j, 1), 2 * half - 1);
      const gm = sign * this.grad[t * O + idx(j - 1)], g0 = sign * this.grad[t * O + idx(j)], gp = sign * this.grad[t * O + idx(j + 1)];
      const curv = gm - 2 * g0 + gp;
      const frac = curv < 0 ? (0.5 * (gm - gp)) / curv : 0.0;
      offs[t] = this.offsets[idx(j)] + Math.min(Math.max(frac, -0.5), 0.5) * this.step;
      weight[t] = Math.max(g0, 0);
    }
    const positive = weight.filter((w) => w > 0);
    const cut = positive.length ? 0.25 * median(positive) : 0;
    let good = Array.from(weight, (w) => (positive.length ? w > cut : w > 0));
    let ys = offs, w0 = weight;
    if (good.filter(Boolean).length < 6) {
      ys = Float64Array.from(this.ts, (t) => offset + (t - 0.5) * this.delta);
      good = good.map(() => true);
      w0 = new Float64Array(T).fill(1);
    }
    const x = [], y = [], base = [];
    for (let t = 0; t < T; t++) if (good[t]) x.push(this.ts[t] * this.length), y.push(ys[t]), base.push(w0[t]);
    const [slope, icpt] = huberFit(Float64Array.from(x), Float64Array.from(y), Float64Array.from(base));
    const dx = this.d[0] + slope * this.n[0], dy = this.d[1] + slope * this.n[1], len = norm(dx, dy);
    return [[this.a[0] + icpt * this.n[0], this.a[1] + icpt * this.n[1]], [dx / len, dy / len]];
  }
}

/** np.std (ddof 0) of float32 values, in float32 as numpy computes it over an axis. */
function std32(values) {
  const n = values.length;
  let acc = 0;
  for (let i = 0; i < n; i++) acc = f32(acc + values[i]);
  const mean = f32(acc / n);
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const d = f32(values[i] - mean);
    sq = f32(sq + f32(d * d));
  }
  return f32(Math.sqrt(f32(sq / n)));
}

/** y = slope * x + icpt by weighted least squares, three rounds of Huber (1 px) reweighting. */
function huberFit(x, y, w0) {
  const n = x.length, wt = Float64Array.from(w0), tmp = new Float64Array(n);
  const sum = (f) => {
    for (let i = 0; i < n; i++) tmp[i] = f(i);
    return pairwiseSum(tmp, 0, n);
  };
  let slope = 0, icpt = 0;
  for (let round = 0; round < 3; round++) {
    const sw = sum((i) => wt[i]), sx = sum((i) => wt[i] * x[i]), sy = sum((i) => wt[i] * y[i]);
    const sxx = sum((i) => wt[i] * x[i] * x[i]), sxy = sum((i) => wt[i] * x[i] * y[i]);
    const det = sw * sxx - sx * sx;
    slope = det > 1e-9 ? (sw * sxy - sx * sy) / det : 0.0;
    icpt = (sy - slope * sx) / sw;
    for (let i = 0; i < n; i++) wt[i] = w0[i] * Math.min(1.0, 1.0 / Math.max(Math.abs(y[i] - (slope * x[i] + icpt)), 1e-6));
  }
  return [slope, icpt];
}

/**
 * The frame's outer edge among a side's edges, and the other edges it might be: the outermost
 * edge whose next strong edge inward (if any) has something busier inside it than the band
 * between the two (beads inside a plain rail). [pick or null, others].
 */
function outerEdge(side, height, rail) {
  const width = rail * height + 2.0;
  const edges = side.edges(EDGES.noise_floor).filter((e) => side.busyAt(e[0], width));
  if (!edges.length) return [null, []];
  const others = stableByStrength(edges).slice(0, EDGES.alternatives);
  const depth = Math.max(4.0, 0.3 * rail * height);
  const pick = (lo, hi) => side.busy.filter((_, k) => side.ss[k] >= lo && side.ss[k] <= hi);
  for (let j = edges.length - 1; j >= 0; j--) {
    const [sj, gj] = edges[j];
    const inward = edges.slice(0, j).filter(([si, gi]) => Math.abs(gi) >= EDGES.inward * Math.abs(gj) && sj - width <= si && si < sj - 2.5);
    if (!inward.length) return [edges[j], others];
    const si = inward[inward.length - 1][0];
    const band = pick(si + 1.0, Math.max(si + 1.0, sj - 1.0)), inside = pick(si - depth, si - 1.0);
    if (inside.length && band.length && Math.max(...inside) > 1.5 * median(band) + 1.0) return [edges[j], others];
  }
  return [edges[0], others];
}

/** sorted(edges, key=-|strength|): Python's sort is stable. */
function stableByStrength(edges) {
  return edges.map((e, i) => [e, i]).sort((a, b) => Math.abs(b[0][1]) - Math.abs(a[0][1]) || a[1] - b[1]).map(([e]) => e);
}

/** Where two lines [point, direction] meet (np.linalg.solve: LU with partial pivoting), or null. */
function intersect([p1, d1], [p2, d2]) {
  let m = [[d1[0], -d2[0]], [d1[1], -d2[1]]], r = [p2[0] - p1[0], p2[1] - p1[1]];
  let sign = 1;
  if (Math.abs(m[1][0]) > Math.abs(m[0][0])) [m, r, sign] = [[m[1], m[0]], [r[1], r[0]], -1];
  const l = m[1][0] / m[0][0], u11 = m[1][1] - l * m[0][1];
  if (!(Math.abs(sign * m[0][0] * u11) >= 1e-6)) return null;
  const t1 = (r[1] - l * r[0]) / u11, t0 = (r[0] - m[0][1] * t1) / m[0][0];
  return [p1[0] + t0 * d1[0], p1[1] + t0 * d1[1]];
}

/** The quad where consecutive lines meet (side k-1 and side k make corner k), or null. */
export function cornersOf(lines) {
  const out = [];
  for (let k = 0; k < 4; k++) {
    const p = intersect(lines[(k + 3) % 4], lines[k]);
    if (p === null) return null;
    out.push(p);
  }
  return out;
}

/** Each side's line fitted to the gradient (of the given sign; 0: as it is) on a half-pixel grid. */
export function fineLines(gray, quad, signs) {
  const centre = mean4(quad);
  return quad.map((a, k) => {
    const b = quad[(k + 1) % 4];
    const side = new Side(gray, a, b, outwardOf(a, b, centre), 2.0, 0.5, 1, 1.0, false);
    let sign = signs?.[k];
    if (sign == null) {
      const mid = side.O >> 1;
      sign = Math.sign(median(Array.from(side.ts, (_, t) => side.grad[t * side.O + mid])));
    }
    return sign !== 0 ? side.fit(0.0, sign, 1.5) : side.line(0.0);
  });
}

export const mean4 = (q) => [(q[0][0] + q[1][0] + q[2][0] + q[3][0]) / 4, (q[0][1] + q[1][1] + q[2][1] + q[3][1]) / 4];
export const outwardOf = (a, b, centre) => [0.5 * (a[0] + b[0]) - centre[0], 0.5 * (a[1] + b[1]) - centre[1]];

/**
 * Each side of a rough quad looked at (Side), its outer edge picked (outerEdge) and, where that
 * edge is no rail's, where a rail as wide as the opposite one would end. Null for a tiny quad.
 */
export function analyse(gray, quad) {
  const centre = mean4(quad), height = quadHeight(quad);
  const lengths = quad.map((p, k) => norm(quad[(k + 1) % 4][0] - p[0], quad[(k + 1) % 4][1] - p[1]));
  if (height < 8 || Math.min(...lengths) < 8) return null;
  const longPair = lengths[0] + lengths[2] >= lengths[1] + lengths[3] ? 0 : 1;
  const sides = [], picks = [], others = [], rails = [];
  for (let k = 0; k < 4; k++) { // on a 1-pixel grid, tilts searched
    const a = quad[k], b = quad[(k + 1) % 4];
    const rail = k % 2 === longPair ? EDGES.rail_long : EDGES.rail_short;
    const side = new Side(gray, a, b, outwardOf(a, b, centre), Math.max(6.0, EDGES.reach * height), EDGES.coarse_step,
      EDGES.tilts, Math.max(2.0, EDGES.drift * lengths[k]));
    const [pick, more] = outerEdge(side, height, rail);
    sides.push(side);
    picks.push(pick);
    others.push(more);
    rails.push(side.railWidth(pick === null ? null : pick[0], height));
  }
  // an outer edge may be invisible (frame and table alike in gray): a rail as wide as the opposite one
  const inferred = [null, null, null, null];
  const ok = rails.map((w) => w !== null && w[1] >= EDGES.min_rail * height);
  for (let k = 0; k < 4; k++) {
    const j = (k + 2) % 4;
    if (ok[k] || !ok[j]) continue;
    const beads = sides[k].railWidth(null, height);
    if (beads !== null) inferred[k] = beads[0] + (rails[j][1] * lengths[k]) / lengths[j];
  }
  return { quad, height, sides, picks, others, inferred };
}

/**
 * refine_quad: snap each side of a rough quad to the frame's outer edge. With `search`, one side
 * at a time, another strong edge of that side (or a rail as wide as the opposite one) replaces
 * it if that makes the quad look more like a soroban's frame (sorobanScore); then, with `fine`, a
 * sub-pixel line fit along each chosen edge. `analysis`: analyse(gray, quad), if already made.
 * Null if it fails.
 */
export function refineQuad(gray, quad, search = true, { fine = true, analysis = null } = {}) {
  const found = analysis ?? analyse(gray, quad);
  if (found === null) return null;
  quad = found.quad;
  const { height, sides } = found;
  const options = sides.map((side, k) => { // per side: [[line, sign]], the picked edge first
    const pick = found.picks[k];
    const guess = found.inferred[k] !== null ? [[side.line(found.inferred[k]), 0.0]] : [];
    if (pick === null) return guess.length ? guess : [[side.line(0.0), 0.0]];
    const edges = [pick, ...(search ? found.others[k].filter((e) => e[0] !== pick[0]) : [])];
    return [...edges.map(([s, g]) => [side.fit(s, Math.sign(g)), Math.sign(g)]), ...(search ? guess : [])];
  });
  const cv = gray.cv;
  const score = (choice) => {
    const corners = cornersOf(choice.map((c, k) => options[k][c][0]));
    if (corners === null || !convex(cv, corners)) return -Infinity;
    return sorobanScore(gray, orderCorners(corners));
  };
  let choice = [0, 0, 0, 0];
  let best = search ? score(choice) : 0.0;
  for (let k = 0; k < (search ? 4 : 0); k++) {
    for (let i = 1; i < options[k].length; i++) {
      const trial = choice.slice();
      trial[k] = i;
      const value = score(trial);
      if (value > best + EDGES.switch_margin) [best, choice] = [value, trial];
    }
  }
  let out = cornersOf(choice.map((c, k) => options[k][c][0]));
  if (out !== null && fine) out = cornersOf(fineLines(gray, out, choice.map((c, k) => options[k][c][1])));
  if (out === null || maxMove(out, quad) > 0.5 * height || !convex(cv, out)) return null;
  return out;
}

/** The quad with each side fitted to its edge to the half pixel, if that moves it little (edges.py polish). */
export function polish(gray, quad) {
  const out = cornersOf(fineLines(gray, quad, null));
  if (out === null || maxMove(out, quad) > spec.frame_search.outline.polish_px) return quad;
  return orderCorners(out);
}

/** The largest coordinate change between two quads. */
export function maxMove(a, b) {
  let m = 0;
  for (let k = 0; k < 4; k++) m = Math.max(m, Math.abs(a[k][0] - b[k][0]), Math.abs(a[k][1] - b[k][1]));
  return m;
}
