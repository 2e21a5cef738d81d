// The frame and its candidate layouts (abacus.locate): corners as given, or from the markers;
// then the rectified frame and the (rods, side rail) fit. Nothing after this knows which.

import { findMarkers } from "./markers.js";
import { columnProfile, fitRods } from "./rods.js";
import { frameNotFound, LAYOUTS_READ, RECTIFY } from "./spec.js";
import { frameHomography, warpGray } from "./warp.js";

/**
 * Frame corners, the method, candidate layouts (the best LAYOUTS_READ) and warnings.
 * `markers` as Python's: "auto" markers if found, "on" markers only, "off" no markers. The
 * browser has no search without markers, so with no corners given, no markers found (or
 * none looked for) is FrameNotFound `no_frame_in_browser` (`no_markers` when markers are "on").
 */
export function locate(photo, columns, markers, givenCorners, detector, track = false) {
  let corners = givenCorners, method = "corners", warnings = [];
  if (!corners) {
    if (markers !== "off") ({ corners, method, warnings } = findMarkers(photo, detector, { track }));
    if (!corners) throw frameNotFound(markers === "on" ? "no_markers" : "no_frame_in_browser");
  }
  const top = dist(corners[1], corners[0]), left = dist(corners[3], corners[0]);
  if (degenerate(corners, top, left)) throw frameNotFound("degenerate_corners");
  const clip = (v, [lo, hi]) => Math.min(Math.max(v, lo), hi);
  const width = Math.trunc(clip(top * RECTIFY.width_per_top_side, RECTIFY.width));
  const height = Math.trunc(clip((width * left) / top, RECTIFY.height));
  const rect = warpGray(photo.gray, photo.width, photo.height, frameHomography(corners, width, height), width, height);
  const layouts = fitRods(columnProfile(rect, width, height), columns).slice(0, LAYOUTS_READ);
  return { corners, method, layouts, warnings };
}

function dist(p, q) {
  const dx = p[0] - q[0], dy = p[1] - q[1];
  return Math.sqrt(dx * dx + dy * dy);
}

/**
 * Python's corners.degenerate: the top or left side shorter than the spec's min_side_px, or
 * three corners on a line (twice their triangle's area under its min_corner_cross_px2).
 */
function degenerate(corners, top, left) {
  if (!(top >= RECTIFY.min_side_px && left >= RECTIFY.min_side_px)) return true;
  for (let k = 0; k < 4; k++) {
    const [a, b, c] = [0, 1, 2].map((j) => corners[(k + j) % 4]);
    const cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
    if (!(Math.abs(cross) >= RECTIFY.min_corner_cross_px2)) return true;
  }
  return false;
}
