// Three markers: the fourth frame corner by the same perspective fit as Python
// (frame._missing_corner), a least-squares homography and the same search for the frame's size.

import { applyHomography, fitHomography, invert3, perspectiveTransform } from "../numeric/homography.js";
import { pairwiseSum } from "../numeric/numpy.js";
import { frameNotFound, MARKERS } from "./spec.js";

const MARKER_FIT_PX = MARKERS.three_marker_fit_rms_px; // three markers laid out worse than this are no frame's
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
  const corner = Object.fromEntries(ids.map((i) => [i, squares[i][(i + MARKERS.frame_corner_offset) % 4]]));
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
  const fromFlat = perspectiveTransform(SQUARE, squares[ids[0]]);
  if (fromFlat === null) throw frameNotFound("degenerate_corners");
  const toFlat = invert3(fromFlat);
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
