// Each rod's crop (abacus.column_quads), sampled straight from the photo through one
// homography, for every candidate layout at once: one model call per frame.

import { applyHomography, matmul3, perspectiveTransform } from "../numeric/homography.js";
import { frameNotFound } from "./spec.js";
import { frameHomography, warpGrayInto } from "./warp.js";

/**
 * Each rod's crop as a photo quad and as the homography from crop pixels to photo pixels;
 * `indices` (default every rod) may reach past the ends: -1 is one pitch before the first rod.
 */
export function columnQuads(corners, rods, sideFrac, spec, indices = null) {
  const half = spec.cropPitches / 2;
  const pitch = 1.0 / (rods + 2 * sideFrac); // frame width is 1
  const frame = frameHomography(corners, 1.0, 1.0);
  const cropBox = [[0, 0], [spec.width, 0], [spec.width, spec.height], [0, spec.height]];
  const quads = [], homs = [];
  for (const i of indices ?? Array.from({ length: rods }, (_, k) => k)) {
    const x = (sideFrac + i + 0.5) * pitch;
    const q = [[x - half * pitch, 0], [x + half * pitch, 0], [x + half * pitch, 1], [x - half * pitch, 1]];
    const cropToFrame = perspectiveTransform(cropBox, q);
    if (cropToFrame === null) throw frameNotFound("degenerate_corners");
    homs.push(matmul3(frame, cropToFrame));
    quads.push(applyHomography(frame, q));
  }
  return { quads, homs };
}

/** Warps each homography's crop into `crops` from `offset`, gray / divideBy as the contract says; the next offset. */
function warpCrops(photo, homs, spec, crops, offset) {
  for (const hom of homs) {
    warpGrayInto(photo.gray, photo.width, photo.height, hom, spec.width, spec.height, crops, offset, spec.divideBy);
    offset += spec.width * spec.height;
  }
  return offset;
}

/**
 * The model input for every layout's crops, one after the other: Float32Array
 * [total*H*W], each value gray / divideBy as the contract says; and each layout's quads.
 */
export function layoutCrops(photo, corners, layouts, spec) {
  const total = layouts.reduce((n, l) => n + l.rods, 0);
  const crops = new Float32Array(total * spec.width * spec.height);
  const quadsOf = [], homsOf = [];
  let offset = 0;
  for (const layout of layouts) {
    const { quads, homs } = columnQuads(corners, layout.rods, layout.sideFrac, spec);
    offset = warpCrops(photo, homs, spec, crops, offset);
    quadsOf.push(quads);
    homsOf.push(homs);
  }
  return { crops, total, quadsOf, homsOf };
}

/**
 * `hom` (crop pixels to photo pixels) for the crop moved by (dx, dy) crop pixels
 * (rods.shifted_homography): hom times a translation, its last column summed term by term.
 */
export function shiftedHomography(hom, dx, dy) {
  const out = Float64Array.from(hom); // row-major 3x3
  for (let r = 0; r < 3; r++) out[r * 3 + 2] = hom[r * 3] * dx + hom[r * 3 + 1] * dy + hom[r * 3 + 2];
  return out;
}

/** Each homography's crop moved by every one of `shifts` ([dx, dy] crop pixels), in that order, one after the other. */
export function shiftedCrops(photo, homs, shifts, spec) {
  const shifted = homs.flatMap((hom) => shifts.map(([dx, dy]) => shiftedHomography(hom, dx, dy)));
  const crops = new Float32Array(shifted.length * spec.width * spec.height);
  warpCrops(photo, shifted, spec, crops, 0);
  return { crops, n: shifted.length };
}

/** The crops one pitch past a layout's first and last rods (abacus.read._beyond_ends), and their quads. */
export function beyondEndCrops(photo, corners, layout, spec) {
  const { quads, homs } = columnQuads(corners, layout.rods, layout.sideFrac, spec, [-1, layout.rods]);
  const crops = new Float32Array(homs.length * spec.width * spec.height);
  warpCrops(photo, homs, spec, crops, 0);
  return { crops, quads };
}
