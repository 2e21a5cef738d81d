// The frame and its candidate layouts (abacus.locate): corners as given, from the markers, or
// from the frame model; then the rectified frame and the (rods, side rail) fit. Nothing after
// this knows which.

import { modelFrame } from "../frame/locate.js";
import { degenerate } from "./corners.js";
import { findMarkers } from "./markers.js";
import { columnProfile, fitRods } from "./rods.js";
import { sorobanScore } from "./score.js";
import { SmoothGray } from "./smooth-gray.js";
import { frameNotFound, LAYOUTS_READ, RECTIFY, spec } from "./spec.js";
import { frameHomography, warpGray } from "./warp.js";

const ACCEPT = spec.frame_search.accept;

/**
 * Frame corners, the method, candidate layouts (the best LAYOUTS_READ) and warnings.
 * `markers` as Python's: "auto" markers if found, "on" markers only, "off" no markers. Without
 * markers, `frame` ({detector: a FrameDetector, cv: OpenCV.js}) looks ("model"); the browser has
 * no outline search, so without a frame model, no corners given and no markers found it is
 * FrameNotFound `no_frame_in_browser` (`no_markers` when markers are "on"). `track` (a video):
 * the markers are first looked for where they were, and the frame model's frame is kept while
 * the model sees it still (`frame.track`, a FrameTrack).
 */
export async function locate(photo, columns, markers, givenCorners, detector, track = false, frame = null) {
  let corners = givenCorners, method = "corners", warnings = [], layouts = null;
  if (!corners && markers !== "off") ({ corners, method, warnings } = findMarkers(photo, detector, { track }));
  if (!corners && markers === "on") throw frameNotFound("no_markers");
  if (!corners && frame) {
    ({ corners, layouts } = await modelLook(photo, columns, frame, track ? frame.track : null));
    method = "model";
    if (!corners) throw frameNotFound(markers === "auto" ? "no_frame_outline" : "no_frame");
  }
  if (!corners) throw frameNotFound("no_frame_in_browser");
  if (degenerate(corners)) throw frameNotFound("degenerate_corners");
  layouts ??= layoutsOf(photo, corners, columns);
  return { corners, method, layouts: layouts.slice(0, LAYOUTS_READ), warnings };
}

/** Every (rods, side rail) layout of the rods inside the frame, the best first. */
function layoutsOf(photo, corners, columns) {
  const dist = (p, q) => Math.sqrt((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2);
  const top = dist(corners[1], corners[0]), left = dist(corners[3], corners[0]);
  const clip = (v, [lo, hi]) => Math.min(Math.max(v, lo), hi);
  const width = Math.trunc(clip(top * RECTIFY.width_per_top_side, RECTIFY.width));
  const height = Math.trunc(clip((width * left) / top, RECTIFY.height));
  const rect = warpGray(photo.gray, photo.width, photo.height, frameHomography(corners, width, height), width, height);
  return fitRods(columnProfile(rect, width, height), columns);
}

/**
 * The frame model's frame with its layouts (abacus/locate.py _model_frames), kept in
 * `frameTrack` (a video's FrameTrack, or null): {corners: null}
 * when it sees no whole frame, or what it sees is no soroban by the outline search's own tests:
 * wide enough, and holding rods or plainly a soroban's frame.
 */
async function modelLook(photo, columns, { detector, cv }, frameTrack) {
  const gray = new SmoothGray(cv, photo.gray, photo.width, photo.height);
  try {
    const found = await modelFrame(photo, gray, detector, frameTrack);
    if (found === null) return { corners: null };
    const dist = (p, q) => Math.sqrt((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2);
    if (degenerate(found) || dist(found[1], found[0]) / dist(found[3], found[0]) < ACCEPT.wider_than_tall) return { corners: null };
    const layouts = layoutsOf(photo, found, columns);
    // no rods inside, nor a soroban's frame: not a soroban
    if (layouts[0].score < ACCEPT.rod_fit_poor && sorobanScore(gray, found) < ACCEPT.looks_like_a_frame) return { corners: null };
    return { corners: found, layouts };
  } finally {
    gray.delete();
  }
}
