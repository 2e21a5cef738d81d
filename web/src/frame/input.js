// The frame model's input (Python: soroban_vision/frame/input.py), with the same float64
// arithmetic in the same order: the working gray box-averaged by a whole factor (boxes summed
// row by row, left to right), resized (bilinear, half-pixel centres) and divided by 255.

import { resizeBilinear } from "../classifier/preprocess.js";
import { spec } from "../abacus/spec.js";

export const FRAME_WIDTH = spec.frame_model.width;
export const FRAME_HEIGHT = spec.frame_model.height;
export const PRESENT = spec.frame_model.present; // a frame score below this is no frame

/** The whole factor the gray is box-averaged by. */
export function boxFactor(width, height) {
  return Math.max(1, Math.min(Math.floor(width / FRAME_WIDTH), Math.floor(height / FRAME_HEIGHT)));
}

/** Float64Array gray [rows*cols] (0..255) -> the model's input, Float32Array [FRAME_HEIGHT*FRAME_WIDTH]. */
export function frameInput(gray, cols, rows) {
  const k = boxFactor(cols, rows);
  const w = Math.floor(cols / k), h = Math.floor(rows / k);
  const region = new Float64Array(w * h);
  for (let dy = 0; dy < k; dy++) {
    for (let dx = 0; dx < k; dx++) {
      for (let y = 0; y < h; y++) {
        const row = (y * k + dy) * cols + dx;
        for (let x = 0; x < w; x++) region[y * w + x] += gray[row + x * k]; // 0 + v is v, exactly
      }
    }
  }
  if (k > 1) for (let i = 0; i < region.length; i++) region[i] /= k * k;
  const sized = resizeBilinear(region, w, h, FRAME_WIDTH, FRAME_HEIGHT);
  const out = new Float32Array(sized.length);
  for (let i = 0; i < sized.length; i++) out[i] = Math.fround(sized[i] / 255);
  return out;
}

/** Normalized corners [[u, v] x 4] -> pixels of a gray cols x rows: x = u * (cols // k) * k - 0.5. */
export function toPixels(corners, cols, rows) {
  const k = boxFactor(cols, rows);
  const sx = Math.floor(cols / k) * k, sy = Math.floor(rows / k) * k;
  return corners.map(([u, v]) => [u * sx - 0.5, v * sy - 0.5]);
}
