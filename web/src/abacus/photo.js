// The working photo (abacus.prepare): the contract's gray in float64, box-averaged by a whole
// factor when the photo is large, and the maps between its pixels and the original's.

import { toGray } from "../classifier/preprocess.js";
import { pairwiseSum } from "../numeric/numpy.js";
import { frameNotFound, MIN_SIDE, WORK_SIDE } from "./spec.js";

/**
 * RGBA pixels -> the working photo: float64 gray by the contract's rule, box-averaged by a
 * whole factor when the long side exceeds WORK_SIDE (abacus.prepare). `toPhoto` maps working
 * coordinates back to the original pixels, `fromPhoto` the other way.
 */
export function prepare(rgba, width, height, spec) {
  if (Math.min(width, height) < MIN_SIDE) throw frameNotFound("too_small", { width, height });
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
