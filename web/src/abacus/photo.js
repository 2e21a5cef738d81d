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
  let colour;
  return {
    gray, width: w, height: h, factor,
    // RGB for the outline search, made on first need: null for a photo with no colour
    colour: () => (colour ??= colourOf(rgba, width, height, factor, spec.background ?? 255)),
    toPhoto: (points) => points.map((p) => [p[0] * factor + shift, p[1] * factor + shift]),
    fromPhoto: (points) => points.map((p) => [(p[0] - shift) / factor, (p[1] - shift) / factor]),
  };
}

/**
 * The working photo's RGB as float32 [h*w*3] (abacus/photo.py _box_colour): box-averaged by
 * `factor` (sums of whole bytes, exact in float32 in any order, so numpy's to the bit), alpha
 * composited over `background` after averaging. Null when every pixel is gray (R == G == B).
 */
function colourOf(rgba, width, height, factor, background) {
  let gray = true;
  for (let j = 0; gray && j < rgba.length; j += 4) gray = rgba[j] === rgba[j + 1] && rgba[j + 1] === rgba[j + 2];
  if (gray) return null;
  const f = Math.fround, w = Math.floor(width / factor), h = Math.floor(height / factor), count = factor * factor;
  const out = new Float32Array(w * h * 3);
  const mean = new Float32Array(4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      mean.fill(0);
      for (let dy = 0; dy < factor; dy++) {
        for (let dx = 0; dx < factor; dx++) {
          const j = 4 * ((y * factor + dy) * width + x * factor + dx);
          for (let c = 0; c < 4; c++) mean[c] = f(mean[c] + rgba[j + c]);
        }
      }
      for (let c = 0; c < 4; c++) mean[c] = f(mean[c] / count);
      const alpha = f(mean[3] / 255), rest = f(background * f(1 - alpha));
      for (let c = 0; c < 3; c++) out[3 * (y * w + x) + c] = mean[3] === 255 ? mean[c] : f(f(mean[c] * alpha) + rest);
    }
  }
  return out;
}
