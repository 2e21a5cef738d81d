// The frame and its candidate layouts (abacus.locate): corners as given, from the markers, from
// the frame model, or from the outline search; then the rectified frame and the (rods, side
// rail) fit. Nothing after this knows which.

import { modelFrame } from "../frame/locate.js";
import { degenerate } from "./corners.js";
import { findMarkers } from "./markers.js";
import { quadCandidates } from "./outline.js";
import { columnProfile, fitRods } from "./rods.js";
import { sorobanScore } from "./score.js";
import { SmoothGray } from "./smooth-gray.js";
import { frameNotFound, LAYOUTS_READ, RECTIFY, spec } from "./spec.js";
import { frameHomography, warpGray } from "./warp.js";

const ACCEPT = spec.frame_search.accept;
const OUTLINE = spec.frame_search.outline;

/**
 * The frames the soroban may have, each {corners, layouts} (its best LAYOUTS_READ layouts), the
 * likeliest first; the method; warnings (abacus/locate.py frame_options). `markers` as Python's:
 * "auto" markers if found, "on" markers only, "off" no markers. Given corners, markers and the
 * frame model give one frame. Without markers `frame` ({detector: a FrameDetector, cv}) looks
 * first ("model"); where it sees no frame, or there is none, the outline search (`cv`,
 * OpenCV.js) gives up to the spec's frames_read ("contour"), except in a video (`track`).
 * FrameNotFound when there is no frame (`no_markers` when markers are "on"). `track` (a video): the markers are first looked for where
 * they were, and the frame model's frame is kept while the model sees it still (`frame.track`).
 */
export async function locate(photo, columns, markers, givenCorners, detector, track = false, frame = null, cv = null) {
  let corners = givenCorners, method = "corners", warnings = [];
  if (!corners && markers !== "off") ({ corners, method, warnings } = findMarkers(photo, detector, { track }));
  if (!corners && markers === "on") throw frameNotFound("no_markers");
  if (!corners) return { ...(await unmarkedFrames(photo, columns, markers, track, frame, cv)), warnings };
  if (degenerate(corners)) throw frameNotFound("degenerate_corners");
  return { frames: [{ corners, layouts: layoutsOf(photo, corners, columns).slice(0, LAYOUTS_READ) }], method, warnings };
}

/**
 * Without markers or corners: the frame model's frame ("model"), else, but in a video, the
 * outline search's ("contour"). One SmoothGray serves both, blurred only when first sampled.
 */
async function unmarkedFrames(photo, columns, markers, track, frame, cv) {
  const gray = new SmoothGray(frame?.cv ?? cv, photo.gray, photo.width, photo.height);
  try {
    const { corners, layouts } = frame ? await modelLook(photo, gray, columns, frame.detector, track ? frame.track : null) : {};
    if (corners) {
      if (degenerate(corners)) throw frameNotFound("degenerate_corners");
      return { frames: [{ corners, layouts: layouts.slice(0, LAYOUTS_READ) }], method: "model" };
    }
    // not in a video: the outline search can take a second, which a live camera cannot wait for
    // on each frame without a soroban
    const frames = track ? [] : outlineFrames(gray, photo, columns);
    if (!frames.length) throw frameNotFound(markers === "auto" ? "no_frame_outline" : "no_frame");
    return { frames, method: "contour" };
  } finally {
    gray.delete();
  }
}

/**
 * Up to frames_read frames from the outline search, the likeliest first, that are wide enough
 * and hold rods or plainly look like a soroban's frame (abacus/locate.py _outline_frames).
 */
function outlineFrames(gray, photo, columns) {
  const frames = [];
  for (const quad of quadCandidates(gray, photo.colour)) {
    const layouts = sorobanLayouts(photo, gray, quad, columns);
    if (layouts === null) continue;
    frames.push({ corners: quad, layouts: layouts.slice(0, LAYOUTS_READ) });
    if (frames.length >= OUTLINE.frames_read) break; // candidates come best first
  }
  return frames;
}

/**
 * The layouts of a quad that is wide enough and holds rods (or, whatever its rods fit, plainly
 * looks like a soroban's frame); null for any other quad (abacus/locate.py _soroban_layouts).
 */
function sorobanLayouts(photo, gray, quad, columns) {
  const dist = (p, q) => Math.sqrt((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2);
  if (degenerate(quad) || dist(quad[1], quad[0]) / dist(quad[3], quad[0]) < ACCEPT.wider_than_tall) return null;
  const layouts = layoutsOf(photo, quad, columns);
  // no rods inside, nor a soroban's frame: not a soroban
  if (layouts[0].score < ACCEPT.rod_fit_poor && sorobanScore(gray, quad) < ACCEPT.looks_like_a_frame) return null;
  return layouts;
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
async function modelLook(photo, gray, columns, detector, frameTrack) {
  const found = await modelFrame(photo, gray, detector, frameTrack);
  if (found === null) return { corners: null };
  const layouts = sorobanLayouts(photo, gray, found, columns);
  return layouts === null ? { corners: null } : { corners: found, layouts };
}
