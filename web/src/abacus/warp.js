// Sampling the photo through a homography (preprocess.warp_gray): the rectified frame for the
// rod fit, and each column's crop for the model, both straight from the photo's pixels.

import { perspectiveTransform } from "../numeric/homography.js";
import { frameNotFound } from "./spec.js";

/**
 * Maps frame coordinates ([0,width] x [0,height]) to photo pixels (abacus._frame_homography).
 * Corners with three on a line give no frame.
 */
export function frameHomography(corners, width, height) {
  const hom = perspectiveTransform([[0, 0], [width, 0], [width, height], [0, height]], corners);
  if (hom === null) throw frameNotFound("degenerate_corners");
  return hom;
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
