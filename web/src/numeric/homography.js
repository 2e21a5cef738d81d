// Linear algebra in float64 as OpenCV does it: 3x3 homographies (row-major Float64Arrays),
// cv2.getPerspectiveTransform, cv2.findHomography(..., 0) and cv2.perspectiveTransform.

/**
 * cv2.getPerspectiveTransform: the 3x3 homography (row-major Float64Array) mapping four
 * `src` points to four `dst` points. Like OpenCV, the points arrive as float32 and the 8x8
 * system is solved in float64 by Gaussian elimination with partial pivoting (OpenCV's LU).
 * null when three of the points are on a line.
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
  if (!solveInPlace(A, b, 8)) return null;
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

/** a @ b for 3x3 matrices (row-major). */
export function matmul3(a, b) {
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
export function invert3(m) {
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
