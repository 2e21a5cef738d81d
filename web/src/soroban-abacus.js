// soroban-vision in the browser: read a whole soroban from a photo or a camera frame.
// One ES module, no bundler. It ports src/soroban_vision/abacus.py step for step, with the
// same float64 arithmetic in the same order, so Python and the browser cut the same column
// crops from the same file and read the same number:
//
//   const reader = await loadAbacusReader("/model/", { backend: "wasm" });
//   const r = await reader.read(video);  // {number, text, digits, columns, corners, method, ms, ...}
//
// 1. Frame: four ArUco markers (DICT_4X4_50, ids 0-3 clockwise from the top-left, the frame
//    corner is marker corner (id + 2) % 4), found with js-aruco2; or four corners the caller
//    gives (clicked by a person, or found elsewhere). Nothing after this step knows which.
// 2. Rods: the rectified frame's column profile, its period, and the (rods, side rail) fit.
// 3. Columns: every candidate layout's crops, sampled straight from the photo through a
//    homography, classified in ONE model call; the layout read most confidently wins.

import { decode, loadColumnClassifier, pixelsOf, toGray } from "./soroban-vision.js";

export const MAX_COLUMNS = 17;
export const MIN_SIDE = 64; // smaller images cannot hold a readable soroban
export const WORK_SIDE = 1600; // larger photos are reduced by a whole factor to this
export const LOW_CONFIDENCE = 0.8;
export const MARKER_MODES = ["auto", "on", "off", "corners"];
const MAX_LAYOUTS = 3; // candidate (rods, side rail) layouts read per frame, as in Python

/** No soroban where we looked: no markers, too few, two sorobans, or a tiny image. One line. */
export class FrameNotFound extends Error {
  constructor(message) {
    super(message);
    this.name = "FrameNotFound";
  }
}

// ----------------------------------------------------------------------------- loading

/**
 * Load the column classifier (contract, checksums, golden self-check) and, unless the frame
 * will always come from given corners, the marker detector. Options: backend ("wasm"),
 * markers ("auto" | "on" | "off" | "corners"), threshold (LOW_CONFIDENCE), classifier (an
 * already loaded column classifier to share), arucoUrl (folder of js-aruco2's src/).
 */
export async function loadAbacusReader(baseUrl, options = {}) {
  const markers = options.markers ?? "auto";
  checkMarkers(markers);
  const classifier = options.classifier ?? (await loadColumnClassifier(baseUrl, options));
  const reader = new AbacusReader(classifier, { ...options, markers, owns: !options.classifier });
  if (markers === "auto" || markers === "on") await reader.markerDetector();
  return reader;
}

class AbacusReader {
  constructor(classifier, { markers, threshold = LOW_CONFIDENCE, arucoUrl, owns }) {
    this.classifier = classifier;
    this.markers = markers;
    this.threshold = threshold;
    this.arucoUrl = arucoUrl;
    this.owns = owns;
    this.detector = null;
    const spec = classifier.spec;
    const crop = classifier.contract.preprocessing?.crop?.width_pitches;
    if (!(crop > 0)) throw new RangeError("the contract gives no crop width (preprocessing.crop.width_pitches)");
    this.spec = { ...spec, cropPitches: crop };
  }

  async markerDetector() {
    this.detector ??= await loadMarkerDetector(this.arucoUrl);
    return this.detector;
  }

  /**
   * Read the number on the soroban in `source` (ImageData, image, canvas, bitmap, video or
   * VideoFrame). Options: columns (1-17, else fitted), corners (the frame's four corners in
   * the source's pixels, clockwise from the top-left: used as given), markers (overrides the
   * loader's), threshold, track (a video: look for the markers where they were in the
   * previous frame first; same corners, less work), debug (adds the layouts and the chosen crops).
   * Throws FrameNotFound when there is no soroban to read.
   */
  async read(source, options = {}) {
    const t0 = performance.now();
    const markers = options.markers ?? this.markers;
    checkMarkers(markers);
    const columns = options.columns ?? null;
    if (columns !== null && !(Number.isInteger(columns) && columns >= 1 && columns <= MAX_COLUMNS)) {
      throw new RangeError(`columns must be 1-${MAX_COLUMNS}, got ${columns}`);
    }
    const threshold = options.threshold ?? this.threshold;
    const times = {};
    let t = t0;
    const lap = (name) => {
      const now = performance.now();
      times[name] = now - t;
      t = now;
    };

    const { data, width, height } = await pixelsOf(source);
    lap("pixels");
    const photo = prepare(data, width, height, this.spec);
    lap("prepare");
    let given = options.corners ?? null;
    if (given === null && (markers === "off" || markers === "corners")) {
      throw new FrameNotFound("no frame corners given: click the frame's four corners (markers: 'corners')");
    }
    if (given !== null) given = photo.fromPhoto(checkCorners(given));
    const detector = given === null ? await this.markerDetector() : null;
    const { corners, method, layouts, warnings } = locate(photo, columns, markers, given, detector, options.track === true);
    lap("locate");

    // every candidate layout's crops in one batch: one model call per frame
    const { width: W, height: H } = this.spec;
    const size = W * H;
    const total = layouts.reduce((n, l) => n + l.rods, 0);
    const crops = new Float32Array(total * size);
    const quadsOf = [];
    let offset = 0;
    for (const layout of layouts) {
      const { quads, homs } = columnQuads(corners, layout.rods, layout.sideFrac, this.spec);
      for (const hom of homs) {
        warpGrayInto(photo.gray, photo.width, photo.height, hom, W, H, crops, offset, this.spec.divideBy);
        offset += size;
      }
      quadsOf.push(quads);
    }
    lap("crops");
    const { heaven, earth } = await this.classifier.infer(crops, total);
    const readings = decode(heaven, earth, this.classifier.heads.threshold);
    lap("model");

    // the layout read most confidently wins (mean log confidence), first one on a tie
    let best = null;
    let start = 0;
    layouts.forEach((layout, k) => {
      const results = readings.slice(start, start + layout.rods);
      const logs = new Float64Array(results.map((r) => Math.log(Math.max(r.confidence, 1e-6))));
      layout.meanLogConfidence = pairwiseSum(logs, 0, logs.length) / logs.length;
      if (best === null || layout.meanLogConfidence > best.confidence) {
        best = { confidence: layout.meanLogConfidence, k, start, results };
      }
      start += layout.rods;
    });
    const digits = best.results.map((r) => r.digit);
    const cols = best.results.map((r, i) => ({
      index: i,
      digit: r.digit,
      confidence: r.confidence,
      quad: roundPoints(photo.toPhoto(quadsOf[best.k][i])),
      lowConfidence: r.confidence < threshold,
      heaven: r.heaven,
      earth: r.earth,
    }));
    const flagged = cols.filter((c) => c.lowConfidence).map((c) => c.index);
    if (flagged.length) warnings.push(`low confidence on column(s) [${flagged.join(", ")}]`);
    const text = digits.join("").replace(/^0+(?=\d)/, "");
    const value = Number(text);
    const reading = {
      number: Number.isSafeInteger(value) ? value : BigInt(text),
      text,
      digits,
      columns: cols,
      corners: roundPoints(photo.toPhoto(corners)),
      method,
      warnings,
      ms: performance.now() - t0,
      times,
    };
    if (options.debug) {
      reading.debug = {
        factor: photo.factor,
        workingCorners: corners.map((p) => [p[0], p[1]]),
        layouts: layouts.map(({ rods, sideFrac, score, meanLogConfidence }) => ({ rods, sideFrac, score, meanLogConfidence })),
        chosen: best.k,
        crops: crops.slice(best.start * size, (best.start + best.results.length) * size),
      };
    }
    return reading;
  }

  dispose() {
    if (this.owns) this.classifier?.dispose();
    this.classifier = null;
  }
}

function checkMarkers(markers) {
  if (!MARKER_MODES.includes(markers)) {
    throw new RangeError(`markers must be one of ${MARKER_MODES.join(", ")}, got ${JSON.stringify(markers)}`);
  }
}

function checkCorners(corners) {
  const ok = Array.isArray(corners) && corners.length === 4 &&
    corners.every((p) => (Array.isArray(p) || ArrayBuffer.isView(p)) && p.length === 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]));
  if (!ok) throw new RangeError("corners must be four [x, y] points, clockwise from the frame's top-left");
  return corners.map((p) => [Number(p[0]), Number(p[1])]);
}

// ----------------------------------------------------------------------------- image in

/**
 * RGBA pixels -> the working photo: float64 gray by the contract's rule, box-averaged by a
 * whole factor when the long side exceeds WORK_SIDE (abacus.prepare). `toPhoto` maps working
 * coordinates back to the original pixels, `fromPhoto` the other way.
 */
export function prepare(rgba, width, height, spec) {
  if (Math.min(width, height) < MIN_SIDE) {
    throw new FrameNotFound(`the image is ${width}x${height}: too small to hold a readable soroban`);
  }
  const factor = Math.ceil(Math.max(height, width) / WORK_SIDE);
  let gray = toGray(rgba, width, height, spec);
  let w = width, h = height;
  if (factor > 1) {
    // numpy's reshape(h2, f, w2, f).mean(axis=(1, 3)): per output, sum each row's f values
    // (pairwise, as numpy does), add the rows in order, divide by f*f
    w = Math.floor(width / factor);
    h = Math.floor(height / factor);
    const out = new Float64Array(w * h);
    const count = factor * factor;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let acc = 0;
        for (let dy = 0; dy < factor; dy++) acc += pairwiseSum(gray, (y * factor + dy) * width + x * factor, factor);
        out[y * w + x] = acc / count;
      }
    }
    gray = out;
  }
  const shift = (factor - 1) / 2;
  return {
    gray, width: w, height: h, factor,
    toPhoto: (points) => points.map((p) => [p[0] * factor + shift, p[1] * factor + shift]),
    fromPhoto: (points) => points.map((p) => [(p[0] - shift) / factor, (p[1] - shift) / factor]),
  };
}

// ----------------------------------------------------------------------------- numpy's sums

/**
 * numpy's float64 sum of a[start .. start+n): pairwise in blocks of 8, as np.sum and
 * np.mean do over a contiguous axis, so means and deviations round as they do in Python.
 */
export function pairwiseSum(a, start, n) {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    let r0 = a[start], r1 = a[start + 1], r2 = a[start + 2], r3 = a[start + 3];
    let r4 = a[start + 4], r5 = a[start + 5], r6 = a[start + 6], r7 = a[start + 7];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      const p = start + i;
      r0 += a[p]; r1 += a[p + 1]; r2 += a[p + 2]; r3 += a[p + 3];
      r4 += a[p + 4]; r5 += a[p + 5]; r6 += a[p + 6]; r7 += a[p + 7];
    }
    let res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

function mean(a) {
  return pairwiseSum(a, 0, a.length) / a.length;
}

/** np.std (ddof 0): the mean, the squared deviations, their mean, the root. */
function std(a) {
  const m = mean(a);
  const sq = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - m;
    sq[i] = d * d;
  }
  return Math.sqrt(pairwiseSum(sq, 0, sq.length) / sq.length);
}

// ----------------------------------------------------------------------------- geometry

/**
 * cv2.getPerspectiveTransform: the 3x3 homography (row-major Float64Array) mapping four
 * `src` points to four `dst` points. Like OpenCV, the points arrive as float32 and the 8x8
 * system is solved in float64 by Gaussian elimination with partial pivoting (OpenCV's LU).
 */
export function perspectiveTransform(src, dst) {
  const A = new Float64Array(64), b = new Float64Array(8);
  for (let i = 0; i < 4; i++) {
    const sx = Math.fround(src[i][0]), sy = Math.fround(src[i][1]);
    const dx = Math.fround(dst[i][0]), dy = Math.fround(dst[i][1]);
    const r = i * 8, s = (i + 4) * 8;
    A[r] = A[s + 3] = sx;
    A[r + 1] = A[s + 4] = sy;
    A[r + 2] = A[s + 5] = 1;
    // OpenCV multiplies these in float, then stores them in the double matrix
    A[r + 6] = Math.fround(-sx * dx);
    A[r + 7] = Math.fround(-sy * dx);
    A[s + 6] = Math.fround(-sx * dy);
    A[s + 7] = Math.fround(-sy * dy);
    b[i] = dx;
    b[i + 4] = dy;
  }
  if (!solveInPlace(A, b, 8)) throw new FrameNotFound("the frame's corners are degenerate (three on a line)");
  return Float64Array.of(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], 1);
}

/**
 * Solves the m x m system A x = b (row-major Float64Arrays, both overwritten; x ends in b) by
 * Gaussian elimination with partial pivoting, the steps of OpenCV's LU. False when singular.
 */
function solveInPlace(A, b, m) {
  for (let i = 0; i < m; i++) {
    let k = i;
    for (let j = i + 1; j < m; j++) if (Math.abs(A[j * m + i]) > Math.abs(A[k * m + i])) k = j;
    if (Math.abs(A[k * m + i]) < Number.EPSILON * 100) return false;
    if (k !== i) {
      for (let j = i; j < m; j++) [A[i * m + j], A[k * m + j]] = [A[k * m + j], A[i * m + j]];
      [b[i], b[k]] = [b[k], b[i]];
    }
    const d = -1 / A[i * m + i];
    for (let j = i + 1; j < m; j++) {
      const alpha = A[j * m + i] * d;
      for (let c = i + 1; c < m; c++) A[j * m + c] += alpha * A[i * m + c];
      b[j] += alpha * b[i];
    }
    A[i * m + i] = -d;
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = b[i];
    for (let c = i + 1; c < m; c++) s -= A[i * m + c] * b[c];
    b[i] = s * A[i * m + i];
  }
  return true;
}

function matmul3(a, b) {
  const out = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) out[r * 3 + c] = a[r * 3] * b[c] + a[r * 3 + 1] * b[3 + c] + a[r * 3 + 2] * b[6 + c];
  }
  return out;
}

/** cv2.perspectiveTransform of points through a homography (multiplies by 1/w, as OpenCV does). */
export function applyHomography(h, points) {
  return points.map(([x, y]) => {
    let w = h[6] * x + h[7] * y + h[8];
    w = Math.abs(w) > 1.1920928955078125e-7 ? 1 / w : 0;
    return [(h[0] * x + h[1] * y + h[2]) * w, (h[3] * x + h[4] * y + h[5]) * w];
  });
}

/** The inverse of a 3x3 matrix (row-major), by its adjugate; null when singular. */
function invert3(m) {
  const [a, b, c, d, e, f, g, h, i] = m;
  const co = [e * i - f * h, c * h - b * i, b * f - c * e, f * g - d * i, a * i - c * g, c * d - a * f, d * h - e * g, b * g - a * h, a * e - b * d];
  const det = a * co[0] + b * co[3] + c * co[6];
  if (!(Math.abs(det) > 0)) return null;
  return Float64Array.from(co, (v) => v / det);
}

/**
 * cv2.findHomography(src, dst, 0): the homography (h33 = 1) that maps the points `src` onto
 * `dst` with the least sum of squared distances in `dst`; null when the points are degenerate.
 * OpenCV starts from the algebraic (DLT) fit and refines the distances by Levenberg-Marquardt;
 * so do we, in float64 on the float32 points OpenCV sees. The start only has to be near: both
 * end at the same least-squares minimum, to far below a pixel. Both point sets are first moved
 * to their centroid and scaled to a mean distance of sqrt(2) (Hartley), which keeps the 8x8
 * systems well conditioned; `dst` is scaled alike on both axes, so its distances keep their
 * proportions and the minimum is the one in pixels.
 */
export function fitHomography(src, dst) {
  const n = src.length;
  const normalize = (pts) => {
    const p = pts.map(([x, y]) => [Math.fround(x), Math.fround(y)]);
    const cx = p.reduce((s, q) => s + q[0], 0) / n, cy = p.reduce((s, q) => s + q[1], 0) / n;
    const spread = p.reduce((s, q) => s + Math.hypot(q[0] - cx, q[1] - cy), 0) / n;
    if (!(spread > 0)) return null;
    const k = Math.SQRT2 / spread;
    return { p: p.map(([x, y]) => [(x - cx) * k, (y - cy) * k]), T: [k, 0, -cx * k, 0, k, -cy * k, 0, 0, 1] };
  };
  const S = normalize(src), D = normalize(dst);
  if (!S || !D) return null;
  // the algebraic fit: u (h6 x + h7 y + 1) = h0 x + h1 y + h2, and v likewise, by normal equations
  let A = new Float64Array(64), b = new Float64Array(8);
  const addRow = (row, rhs) => {
    for (let r = 0; r < 8; r++) {
      b[r] += row[r] * rhs;
      for (let c = 0; c < 8; c++) A[r * 8 + c] += row[r] * row[c];
    }
  };
  for (let i = 0; i < n; i++) {
    const [x, y] = S.p[i], [u, v] = D.p[i];
    addRow([x, y, 1, 0, 0, 0, -u * x, -u * y], u);
    addRow([0, 0, 0, x, y, 1, -v * x, -v * y], v);
  }
  if (!solveInPlace(A, b, 8)) return null;
  let h = Float64Array.from(b);
  // the distances, and their Jacobian in the 8 unknowns
  const residuals = (h) => {
    let sum = 0;
    const rows = [];
    for (let i = 0; i < n; i++) {
      const [x, y] = S.p[i], [u, v] = D.p[i];
      const w = 1 / (h[6] * x + h[7] * y + 1);
      const pu = (h[0] * x + h[1] * y + h[2]) * w, pv = (h[3] * x + h[4] * y + h[5]) * w;
      rows.push([[x * w, y * w, w, 0, 0, 0, -pu * x * w, -pu * y * w], pu - u]);
      rows.push([[0, 0, 0, x * w, y * w, w, -pv * x * w, -pv * y * w], pv - v]);
      sum += (pu - u) ** 2 + (pv - v) ** 2;
    }
    return { sum, rows };
  };
  let now = residuals(h), lambda = 1e-3;
  for (let iter = 0; iter < 100 && Number.isFinite(now.sum); iter++) {
    const JtJ = new Float64Array(64), Jtr = new Float64Array(8);
    for (const [row, r] of now.rows) {
      for (let a = 0; a < 8; a++) {
        Jtr[a] -= row[a] * r;
        for (let c = 0; c < 8; c++) JtJ[a * 8 + c] += row[a] * row[c];
      }
    }
    let moved = false;
    while (lambda < 1e10) {
      A = Float64Array.from(JtJ);
      b = Float64Array.from(Jtr);
      for (let a = 0; a < 8; a++) A[a * 9] *= 1 + lambda;
      if (solveInPlace(A, b, 8)) {
        const next = h.map((v, a) => v + b[a]);
        const then = residuals(next);
        if (then.sum <= now.sum) {
          const step = Math.max(...b.map(Math.abs)), size = Math.max(...h.map(Math.abs));
          [h, now, lambda, moved] = [next, then, Math.max(lambda / 10, 1e-12), step > 1e-15 * size];
          break;
        }
      }
      lambda *= 10;
    }
    if (!moved) break; // no step lowers the sum any more: at the minimum
  }
  // back to the photo's pixels: H = D.T^-1 h S.T, scaled to h33 = 1
  const Dinv = invert3(D.T);
  const H = matmul3(matmul3(Dinv, Float64Array.of(...h, 1)), Float64Array.from(S.T));
  if (!(Math.abs(H[8]) > 0) || !H.every(Number.isFinite)) return null;
  return H.map((v) => v / H[8]);
}

/** Maps frame coordinates ([0,width] x [0,height]) to photo pixels (abacus._frame_homography). */
export function frameHomography(corners, width, height) {
  return perspectiveTransform([[0, 0], [width, 0], [width, height], [0, height]], corners);
}

/**
 * preprocess.warp_gray: sample float64 gray [rows*cols] through `hom` (output pixel centres
 * at j + 0.5, i + 0.5 -> photo coordinates with integer pixel centres), bilinear, edges
 * clamped. Writes value / divideBy, rounded to float32, into out[offset ...] when `out` is a
 * Float32Array, or the float64 value itself into a Float64Array.
 */
export function warpGrayInto(gray, cols, rows, hom, width, height, out, offset = 0, divideBy = 1) {
  const [h00, h01, h02, h10, h11, h12, h20, h21, h22] = hom;
  const maxU = cols - 1, maxV = rows - 1;
  // the per-column products, as numpy forms them (h * jj, then the sums in the same order)
  const wj = new Float64Array(width), uj = new Float64Array(width), vj = new Float64Array(width);
  for (let j = 0; j < width; j++) {
    const jj = j + 0.5;
    wj[j] = h20 * jj;
    uj[j] = h00 * jj;
    vj[j] = h10 * jj;
  }
  const scale = out instanceof Float32Array ? divideBy : 1;
  let o = offset;
  for (let i = 0; i < height; i++) {
    const ii = i + 0.5;
    const wi = h21 * ii, ui = h01 * ii, vi = h11 * ii;
    for (let j = 0; j < width; j++) {
      const w = wj[j] + wi + h22;
      let u = (uj[j] + ui + h02) / w;
      let v = (vj[j] + vi + h12) / w;
      u = u > 0 ? (u < maxU ? u : maxU) : 0; // also sends NaN to 0
      v = v > 0 ? (v < maxV ? v : maxV) : 0;
      const x0 = Math.floor(u), y0 = Math.floor(v);
      const x1 = x0 < maxU ? x0 + 1 : maxU, y1 = y0 < maxV ? y0 + 1 : maxV;
      const fx = u - x0, fy = v - y0;
      const r0 = y0 * cols, r1 = y1 * cols;
      const a = gray[r0 + x0], c = gray[r1 + x0];
      const top = a + (gray[r0 + x1] - a) * fx;
      const bottom = c + (gray[r1 + x1] - c) * fx;
      out[o++] = (top + (bottom - top) * fy) / scale; // x / 1 is x: exact for the float64 output
    }
  }
  return out;
}

/** warp_gray as a new Float64Array [height*width]. */
export function warpGray(gray, cols, rows, hom, width, height) {
  return warpGrayInto(gray, cols, rows, hom, width, height, new Float64Array(width * height));
}

// ----------------------------------------------------------------------------- rods

/** Mean brightness per column of the rectified frame, rows 10-90% (abacus.column_profile). */
export function columnProfile(rect, width, height) {
  const r0 = Math.trunc(0.1 * height), r1 = Math.trunc(0.9 * height);
  const profile = new Float64Array(width);
  for (let r = r0; r < r1; r++) {
    const row = r * width;
    for (let x = 0; x < width; x++) profile[x] += rect[row + x]; // numpy adds row after row
  }
  const n = r1 - r0;
  for (let x = 0; x < width; x++) profile[x] /= n;
  return profile;
}

const ALL_COUNTS = Array.from({ length: MAX_COLUMNS }, (_, i) => i + 1);

/** Rod counts consistent with the profile's period (abacus.rod_counts). */
export function rodCounts(profile) {
  const width = profile.length;
  const a = Math.trunc(0.1 * width), b = Math.trunc(0.9 * width);
  const inner = profile.slice(a, b);
  const m = mean(inner);
  for (let i = 0; i < inner.length; i++) inner[i] -= m;
  const n = inner.length;
  const ac = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let s = 0;
    for (let i = 0; i + k < n; i++) s += inner[i + k] * inner[i];
    ac[k] = s;
  }
  const norm = ac[0] + 1e-9;
  for (let k = 0; k < n; k++) ac[k] /= norm;
  const lo = Math.max(3, Math.trunc(width / (MAX_COLUMNS + 2)));
  const hi = Math.min(n - 2, Math.trunc(width / 1.6));
  const peaks = [];
  for (let k = lo; k < hi; k++) if (ac[k] >= ac[k - 1] && ac[k] >= ac[k + 1] && ac[k] > 0) peaks.push(k);
  if (peaks.length === 0) return ALL_COUNTS.slice();
  const strongest = Math.max(...peaks.map((k) => ac[k]));
  const period = peaks.find((k) => ac[k] >= 0.7 * strongest);
  const counts = ALL_COUNTS.filter((c) => {
    const ratio = (width / (c + 1.3)) / period;
    return ratio >= 0.85 && ratio <= 1.15;
  });
  return counts.length ? counts : ALL_COUNTS.slice();
}

/** np.interp on the grid x = 0.5, 1.5, ... (spacing 1), ends clamped. */
function interpGrid(x, profile) {
  const n = profile.length;
  if (x > n - 0.5) return profile[n - 1];
  if (x < 0.5) return profile[0];
  if (x === n - 0.5) return profile[n - 1];
  let j = Math.floor(x - 0.5); // exact: x - 0.5 is representable here
  if (j > n - 2) j = n - 2;
  const xj = j + 0.5;
  if (xj === x) return profile[j];
  const slope = (profile[j + 1] - profile[j]) / ((j + 1.5) - xj);
  let r = slope * (x - xj) + profile[j];
  if (Number.isNaN(r)) {
    r = slope * (x - (j + 1.5)) + profile[j + 1];
    if (Number.isNaN(r) && profile[j] === profile[j + 1]) r = profile[j];
  }
  return r;
}

/** numpy.linspace(start, stop, num) */
function linspace(start, stop, num) {
  const step = (stop - start) / (num - 1);
  const out = new Float64Array(num);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

const SIDE_FRACS = linspace(0.3, 1.0, 57);

/**
 * Candidate {rods, sideFrac, score} for a profile, best first, one per rod count
 * (abacus.fit_rods: how strongly the profile differs between rods and gaps, minus beads
 * on the side rails).
 */
export function fitRods(profile, columns = null) {
  const width = profile.length;
  const spread = std(profile) + 1e-9;
  const out = [];
  for (const n of columns ? [columns] : rodCounts(profile)) {
    let best = { rods: n, sideFrac: 0, score: -Infinity };
    const rods = new Float64Array(n), gaps = new Float64Array(n + 1), diffs = new Float64Array(n);
    for (const sideFrac of SIDE_FRACS) {
      const pitch = width / (n + 2 * sideFrac);
      const side = sideFrac * pitch;
      for (let i = 0; i < n; i++) rods[i] = interpGrid(side + pitch * (i + 0.5), profile);
      for (let i = 0; i <= n; i++) gaps[i] = interpGrid(side + pitch * i, profile);
      const inner = n > 1 ? gaps.subarray(1, n) : gaps;
      for (let i = 0; i < n; i++) diffs[i] = rods[i] - 0.5 * (gaps[i] + gaps[i + 1]);
      const consistency = Math.abs(mean(diffs)) / (std(diffs) + 0.25 * spread);
      const cut = Math.max(1, Math.trunc(side));
      const ends = new Float64Array(2 * cut);
      ends.set(profile.subarray(0, cut));
      ends.set(profile.subarray(width - cut), cut);
      const flat = std(ends) / spread;
      const score = consistency * Math.abs(mean(rods) - mean(inner)) / spread - 1.5 * flat;
      if (score > best.score) best = { rods: n, sideFrac, score };
    }
    out.push(best);
  }
  // Python's sorted(key=-score) is stable
  return out.map((c, i) => [c, i]).sort(([a, i], [b, j]) => (-a.score < -b.score ? -1 : -a.score > -b.score ? 1 : i - j)).map(([c]) => c);
}

/** Each rod's crop as a photo quad and as the homography from crop pixels to photo pixels. */
export function columnQuads(corners, rods, sideFrac, spec) {
  const half = spec.cropPitches / 2;
  const pitch = 1.0 / (rods + 2 * sideFrac); // frame width is 1
  const frame = frameHomography(corners, 1.0, 1.0);
  const cropBox = [[0, 0], [spec.width, 0], [spec.width, spec.height], [0, spec.height]];
  const quads = [], homs = [];
  for (let i = 0; i < rods; i++) {
    const x = (sideFrac + i + 0.5) * pitch;
    const q = [[x - half * pitch, 0], [x + half * pitch, 0], [x + half * pitch, 1], [x - half * pitch, 1]];
    homs.push(matmul3(frame, perspectiveTransform(cropBox, q)));
    quads.push(applyHomography(frame, q));
  }
  return { quads, homs };
}

/** Frame corners, the method, candidate layouts (best 3) and warnings (abacus.locate). */
export function locate(photo, columns, markers, givenCorners, detector, track = false) {
  let corners = givenCorners, method = "corners", warnings = [];
  if (!corners) {
    ({ corners, method, warnings } = findMarkers(photo, detector, { track }));
    if (!corners) {
      throw new FrameNotFound(markers === "on"
        ? "no frame markers found (need at least 3 of ArUco 4x4 ids 0-3)"
        : "no soroban frame found in the image (no frame markers: click the frame's four corners)");
    }
  }
  const dist = (p, q) => {
    const dx = p[0] - q[0], dy = p[1] - q[1];
    return Math.sqrt(dx * dx + dy * dy);
  };
  const top = dist(corners[1], corners[0]), left = dist(corners[3], corners[0]);
  if (!(top >= 1 && left >= 1)) throw new FrameNotFound("no soroban frame found in the image (the frame's corners are too close together)");
  const width = Math.trunc(Math.min(Math.max(top * 1.5, 200), 1400));
  const height = Math.trunc(Math.min(Math.max((width * left) / top, 40), 600));
  const rect = warpGray(photo.gray, photo.width, photo.height, frameHomography(corners, width, height), width, height);
  const layouts = fitRods(columnProfile(rect, width, height), columns).slice(0, MAX_LAYOUTS);
  return { corners, method, layouts, warnings };
}

// ----------------------------------------------------------------------------- markers

const DICTIONARY = "SOROBAN_4X4_50";

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = url;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`cannot load ${url}`));
    document.head.append(s);
  });
}

/**
 * js-aruco2 (classic scripts that define the globals CV and AR), from our own origin unless
 * the page already included them, set up for DICT_4X4_50 = the first 50 codes of 4X4_1000.
 */
export async function loadMarkerDetector(arucoUrl) {
  if (!globalThis.AR?.DICTIONARIES?.ARUCO_4X4_1000) {
    const base = arucoUrl ?? new URL("../node_modules/js-aruco2/src/", import.meta.url).href;
    const folder = base.endsWith("/") ? base : base + "/";
    if (!globalThis.CV) await loadScript(new URL("cv.js", folder).href);
    if (!globalThis.AR) await loadScript(new URL("aruco.js", folder).href);
    await loadScript(new URL("dictionaries/aruco_4x4_1000.js", folder).href);
  }
  const { AR, CV } = globalThis;
  if (!AR?.DICTIONARIES?.ARUCO_4X4_1000) throw new Error("js-aruco2 did not load (AR.DICTIONARIES.ARUCO_4X4_1000 is missing)");
  AR.DICTIONARIES[DICTIONARY] ??= { nBits: 16, tau: null, codeList: AR.DICTIONARIES.ARUCO_4X4_1000.codeList.slice(0, 50) };
  // exact codes only (OpenCV corrects no bit of a 4x4_50 marker either): no false ids in clutter
  const detector = new AR.Detector({ dictionaryName: DICTIONARY, maxHammingDistance: 1 });
  return { AR, CV, detector, scratch: {}, previous: null };
}

/** Markers in one thresholding pass: js-aruco2's detect(), on our own 8-bit gray. */
function detectPass(d, image, kernel, fullWidth) {
  const { CV, detector } = d;
  const thres = new CV.Image(image.width, image.height, scratch(d, "thres", image.width * image.height, Uint8ClampedArray));
  const binary = scratch(d, "binary", (image.width + 2) * (image.height + 2), Int32Array);
  detector.grey = image;
  CV.adaptiveThreshold(image, thres, kernel, 7);
  detector.contours = CV.findContours(thres, binary);
  let candidates = detector.findCandidates(detector.contours, fullWidth * 0.01, 0.05, 10);
  candidates = detector.clockwiseCorners(candidates);
  candidates = detector.notTooNear(candidates, 10);
  return detector.findMarkers(image, candidates, 49);
}

/** A reusable typed buffer of at least n elements (js-aruco2 expects arrays it can index). */
function scratch(d, name, n, Type) {
  const b = d.scratch?.[name];
  if (b && b.length >= n) return b.length === n ? b : b.subarray(0, n);
  (d.scratch ??= {})[name] = new Type(n);
  return d.scratch[name];
}

/**
 * Markers 0-3 inside one region of the 8-bit image: a pass with a 5x5 threshold window,
 * then, for the ids still missing, one with a 9x9 window (OpenCV also tries several
 * windows). Returns {id: the marker's 4 corners in image pixels}.
 */
function detectRegion(d, u8, width, [x0, y0, w, h], want) {
  let image;
  if (x0 === 0 && y0 === 0 && w === width) {
    image = new d.CV.Image(w, h, u8.subarray(0, w * h));
  } else {
    const part = new Uint8ClampedArray(w * h);
    for (let y = 0; y < h; y++) part.set(u8.subarray((y0 + y) * width + x0, (y0 + y) * width + x0 + w), y * w);
    image = new d.CV.Image(w, h, part);
  }
  const found = {};
  for (const kernel of [2, 4]) {
    const seen = new Map();
    for (const m of detectPass(d, image, kernel, width)) {
      if (m.id > 3) continue;
      const corners = m.corners.map((c) => [c.x + x0, c.y + y0]);
      if (seen.has(m.id)) {
        // the inner outline of a marker already found decodes to its id too: the same marker
        if (sameMarker(seen.get(m.id), corners)) continue;
        throw new FrameNotFound("more than one soroban in the image (a frame marker id appears twice); show one soroban at a time");
      }
      seen.set(m.id, corners);
      found[m.id] ??= corners;
    }
    if (want.every((id) => id in found)) break;
  }
  return found;
}

/** Two outlines of one marker: their centres are closer than half the first one's side. */
function sameMarker(a, b) {
  const centre = (q) => [q.reduce((s, p) => s + p[0], 0) / 4, q.reduce((s, p) => s + p[1], 0) / 4];
  const [ca, cb] = [centre(a), centre(b)];
  const side = Math.sqrt((a[1][0] - a[0][0]) ** 2 + (a[1][1] - a[0][1]) ** 2);
  return Math.sqrt((ca[0] - cb[0]) ** 2 + (ca[1] - cb[1]) ** 2) < side / 2;
}

/** The box around a marker, grown by its own size on each side (the blur and the contour stay inside). */
function regionAround(corners, width, height) {
  const xs = corners.map((p) => p[0]), ys = corners.map((p) => p[1]);
  const side = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  const grow = Math.max(12, Math.ceil(side));
  const x0 = Math.max(0, Math.floor(Math.min(...xs)) - grow), y0 = Math.max(0, Math.floor(Math.min(...ys)) - grow);
  const x1 = Math.min(width, Math.ceil(Math.max(...xs)) + grow + 1), y1 = Math.min(height, Math.ceil(Math.max(...ys)) + grow + 1);
  return [x0, y0, x1 - x0, y1 - y0];
}

const MARKER_FIT_PX = 2.0; // RMS pixels: three markers laid out worse than this are no frame's
const SQUARE = [[0, 0], [1, 0], [1, 1], [0, 1]];
const OUTSIDE = [[-1, -1], [0, -1], [0, 0], [-1, 0]]; // square's top-left, from its corner

/**
 * frame._flat_markers: the corners of the markers `ids` on the flat soroban, in units of a
 * marker's side: the frame's top-left corner at (0, 0), each marker diagonally outside its
 * frame corner.
 */
function flatMarkers(ids, width, height) {
  const frame = [[0, 0], [width, 0], [width, height], [0, height]];
  return ids.flatMap((i) => SQUARE.map(([x, y]) => [x + frame[i][0] + OUTSIDE[i][0], y + frame[i][1] + OUTSIDE[i][1]]));
}

/**
 * frame._missing_corner: the frame corner of a missing marker from the other three. The
 * homography that best maps the three markers' squares, as laid out around a flat frame of
 * some width and height (searched), onto the photo, applied to the missing corner. Under
 * perspective this is much nearer than completing the parallelogram, which it falls back to
 * when the three squares fit no flat layout. Step for step as in Python, so that both end
 * at the same width and height, and the same corner.
 */
export function missingCorner(squares, missing) {
  const ids = Object.keys(squares).map(Number).sort((a, b) => a - b);
  const seen = ids.flatMap((i) => squares[i]);
  const corner = Object.fromEntries(ids.map((i) => [i, squares[i][(i + 2) % 4]]));
  const [a, b, c] = [1, 2, 3].map((k) => corner[(missing + k) % 4]);
  const parallelogram = [a[0] + c[0] - b[0], a[1] + c[1] - b[1]];

  const sq = new Float64Array(2 * seen.length);
  const fit = (width, height) => {
    const flat = flatMarkers(ids, width, height);
    const hom = fitHomography(flat, seen);
    if (hom === null) return [Infinity, null, width, height];
    applyHomography(hom, flat).forEach(([x, y], k) => {
      sq[2 * k] = (x - seen[k][0]) ** 2;
      sq[2 * k + 1] = (y - seen[k][1]) ** 2;
    });
    return [pairwiseSum(sq, 0, sq.length), hom, width, height];
  };

  // a start: the frame's sides in marker sides, through one marker's own homography
  const toFlat = invert3(perspectiveTransform(SQUARE, squares[ids[0]]));
  if (toFlat === null) return parallelogram;
  const flat = Object.fromEntries(ids.map((i) => [i, applyHomography(toFlat, [corner[i]])[0]]));
  const [p, q, r] = [1, 2, 3].map((k) => flat[(missing + k) % 4]);
  const sides = [Math.hypot(p[0] - q[0], p[1] - q[1]), Math.hypot(q[0] - r[0], q[1] - r[1])].sort((x, y) => x - y);
  let best = fit(sides[1], sides[0]);
  let step = 0.25;
  for (let iter = 0; iter < 80; iter++) { // coordinate descent on the width and height, step halved when stuck
    let better = null;
    for (const [dw, dh] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
      const trial = fit(best[2] * (1 + step * dw), best[3] * (1 + step * dh));
      if (better === null || trial[0] < better[0]) better = trial; // the first of equals, as min() keeps
    }
    if (better[0] < best[0]) {
      best = better;
    } else {
      step /= 2;
      if (step < 1e-4) break;
    }
  }
  const [err, hom, width, height] = best;
  if (hom === null || !Number.isFinite(err) || Math.sqrt(err / seen.length) > MARKER_FIT_PX) return parallelogram;
  const frame = [[0, 0], [width, 0], [width, height], [0, height]];
  return applyHomography(hom, [frame[missing]])[0];
}

/**
 * Frame corners from the markers (frame.find_markers): the marker corner nearest the frame
 * is (id + 2) % 4; with three markers the fourth corner is estimated (missingCorner).
 * The 8-bit image is np.clip(np.rint(gray), 0, 255), as in Python.
 * With `track` (video), the four markers are first looked for only around where they were
 * in the previous frame; the contours there, and so the corners, are the same as in a
 * search of the whole frame, at a tenth of the cost. If any is missing, the whole frame is searched.
 */
export function findMarkers(photo, d, { track = false } = {}) {
  const { width, height, gray } = photo;
  const n = width * height;
  const u8 = scratch(d, "u8", n, Uint8ClampedArray);
  for (let i = 0; i < n; i++) u8[i] = rint(gray[i]); // Uint8ClampedArray clips to 0..255
  let markers = null;
  const previous = d.previous;
  d.previous = null;
  if (track && previous && previous.width === width && previous.height === height) {
    markers = {};
    for (const id of [0, 1, 2, 3]) {
      const found = detectRegion(d, u8, width, regionAround(previous.markers[id], width, height), [id]);
      if (!(id in found)) {
        markers = null;
        break;
      }
      markers[id] = found[id];
    }
  }
  markers ??= detectRegion(d, u8, width, [0, 0, width, height], [0, 1, 2, 3]);
  const found = Object.fromEntries(Object.entries(markers).map(([id, c]) => [id, c[(Number(id) + 2) % 4]]));
  const ids = Object.keys(found).map(Number);
  if (ids.length === 4) {
    d.previous = { width, height, markers };
    return { corners: [0, 1, 2, 3].map((i) => found[i]), method: "markers", warnings: [] };
  }
  if (ids.length === 3) {
    const missing = [0, 1, 2, 3].find((i) => !(i in found));
    found[missing] = missingCorner(markers, missing);
    return {
      corners: [0, 1, 2, 3].map((i) => found[i]),
      method: "markers-3",
      warnings: [`marker ${missing} not found; its corner was estimated from the other three`],
    };
  }
  return { corners: null, method: "", warnings: [] };
}

/** np.rint: round half to even. */
function rint(x) {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// ----------------------------------------------------------------------------- output

/** Python's round(x, 2): half to even on the exact binary value. */
export function round2(x) {
  if (Number.isInteger(x * 8) && !Number.isInteger(x * 4)) { // an exact tie at the third decimal
    const y = x * 100, f = Math.floor(y);
    return (f % 2 === 0 ? f : f + 1) / 100;
  }
  return Number(x.toFixed(2));
}

function roundPoints(points) {
  return points.map(([x, y]) => [round2(x), round2(y)]);
}

// ----------------------------------------------------------------------------- video

/**
 * abacus.Stabilizer: accept a reading only after it has been the same for `frames` frames,
 * each above the confidence floor; any motion of the frame (corners moving more than
 * `motion` of the frame width) starts the count again.
 */
export class Stabilizer {
  constructor({ frames = 5, minConfidence = LOW_CONFIDENCE, motion = 0.02 } = {}) {
    Object.assign(this, { frames, minConfidence, motion });
    this.reset();
  }

  reset() {
    this.count = 0;
    this.candidate = null;
    this.corners = null;
  }

  /** One frame's reading (number or null, confidences, corners) -> the number once stable, else null. */
  update(number, confidences, corners = null) {
    if (corners !== null && corners !== undefined) {
      if (this.corners !== null) {
        const [a, b] = corners;
        const width = Math.max(Math.sqrt((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2), 1.0);
        let moved = 0;
        corners.forEach((p, i) => {
          moved = Math.max(moved, Math.abs(p[0] - this.corners[i][0]), Math.abs(p[1] - this.corners[i][1]));
        });
        if (moved > this.motion * width) this.reset();
      }
      this.corners = corners.map((p) => [p[0], p[1]]);
    }
    if (number === null || number === undefined || !confidences?.length || Math.min(...confidences) < this.minConfidence) {
      this.count = 0;
      this.candidate = null;
      return null;
    }
    if (number !== this.candidate) {
      this.candidate = number;
      this.count = 0;
    }
    this.count += 1;
    return this.count >= this.frames ? number : null;
  }

  /** How far along the current candidate is, 0..1. */
  get progress() {
    return this.candidate === null ? 0 : Math.min(1, this.count / this.frames);
  }
}
