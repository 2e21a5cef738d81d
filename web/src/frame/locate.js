// The frame as the frame model sees it (frame/locate.py): the model's corners, snapped to the
// frame's edges (refine.js), when the model says one whole frame is in the photo; and a second
// look with that frame painted out, so that a photo of two sorobans is refused, never read as one.

import { degenerate, overlap, within } from "../abacus/corners.js";
import { sorobanScore } from "../abacus/score.js";
import { frameNotFound, MIN_SIDE, spec } from "../abacus/spec.js";
import { FRAME_HEIGHT, FRAME_WIDTH, frameInput, toPixels } from "./input.js";
import { polished, refineCorners } from "./refine.js";

const LOOK = spec.frame_search.model;

/**
 * The frame's corners [4][2] in the photo's working pixels, or null: no frame seen, or a frame
 * the photo's border cuts. FrameNotFound (two_sorobans) when a second soroban is seen.
 * `photo`: abacus/photo.js prepare's; `gray`: its SmoothGray; `detector`: a FrameDetector;
 * `track`: a video's FrameTrack (track.js), which keeps the frame while the model sees it still.
 */
export async function modelFrame(photo, gray, detector, track = null) {
  const x = frameInput(photo.gray, photo.width, photo.height);
  const first = await look(detector, x, photo.width, photo.height);
  if (!(first.score >= detector.heads.threshold)) {
    track?.forget();
    return null;
  }
  const kept = track ? track.keptCorners(first.corners, photo.width, photo.height) : null;
  if (kept !== null) return kept;
  let corners;
  try {
    corners = await searched(photo, gray, detector, x, first.corners);
  } catch (e) {
    track?.forget();
    throw e;
  }
  if (track && corners === null) track.forget();
  else if (track) track.found(first.corners, corners, photo.width, photo.height);
  return corners;
}

/** The frame in full from the model's first look: its closer look, snapped and polished. */
async function searched(photo, gray, detector, x, look) {
  const corners = polished(gray, await closer(detector, photo, look));
  const outside = degenerate(corners) || !within(corners, photo.width, photo.height, LOOK.inside_px);
  if (outside || sorobanScore(gray, corners) < LOOK.min_score) return null; // snapped to a rod or a hand, not the rails
  if (await anotherSoroban(detector, x, gray, corners)) throw frameNotFound("two_sorobans", { why: "2 frames seen by the frame model" });
  return corners;
}

/** The model's score and corners (in pixels of a width x height gray) for one input. */
async function look(detector, x, width, height) {
  const { corners, frame } = await detector.infer(x, 1);
  const normalized = [0, 1, 2, 3].map((k) => [corners[2 * k], corners[2 * k + 1]]);
  return { score: frame[0], corners: toPixels(normalized, width, height) };
}

/**
 * The corners from a second look at the frame, cropped with a margin: the frame fills the model's
 * input, so its cells are finer on it. The first corners when the crop is too small.
 */
async function closer(detector, photo, corners) {
  const { width: w, height: h } = photo;
  const xs = corners.map((p) => p[0]), ys = corners.map((p) => p[1]);
  const lo = [Math.min(...xs), Math.min(...ys)], hi = [Math.max(...xs), Math.max(...ys)];
  const margin = LOOK.zoom_margin * Math.max(hi[0] - lo[0], hi[1] - lo[1]);
  const x0 = Math.floor(Math.max(lo[0] - margin, 0)), y0 = Math.floor(Math.max(lo[1] - margin, 0));
  const x1 = Math.ceil(Math.min(hi[0] + margin, w - 1)) + 1, y1 = Math.ceil(Math.min(hi[1] + margin, h - 1)) + 1;
  if (x1 - x0 < MIN_SIDE || y1 - y0 < MIN_SIDE) return corners;
  const cw = x1 - x0, ch = y1 - y0, crop = new Float64Array(cw * ch);
  for (let y = 0; y < ch; y++) crop.set(photo.gray.subarray((y0 + y) * w + x0, (y0 + y) * w + x1), y * cw);
  const second = await look(detector, frameInput(crop, cw, ch), cw, ch);
  return second.corners.map(([x, y]) => [x + x0, y + y0]);
}

/**
 * The model input with the frame (corners in the gray's pixels), grown by paint_out about its
 * centre, filled with the mean of the rest: what the model sees when that soroban is not there.
 */
export function paintedOut(x, corners, width, height) {
  const k = Math.max(1, Math.min(Math.floor(width / FRAME_WIDTH), Math.floor(height / FRAME_HEIGHT)));
  const sx = Math.floor(width / k) * k, sy = Math.floor(height / k) * k;
  let quad = corners.map(([px, py]) => [((px + 0.5) / sx) * FRAME_WIDTH - 0.5, ((py + 0.5) / sy) * FRAME_HEIGHT - 0.5]);
  const c = [0, 1].map((i) => (quad[0][i] + quad[1][i] + quad[2][i] + quad[3][i]) / 4);
  quad = quad.map((p) => [c[0] + LOOK.paint_out * (p[0] - c[0]), c[1] + LOOK.paint_out * (p[1] - c[1])]);
  const inside = new Uint8Array(FRAME_WIDTH * FRAME_HEIGHT);
  let outside = 0, sum = 0;
  for (let y = 0; y < FRAME_HEIGHT; y++) {
    for (let xx = 0; xx < FRAME_WIDTH; xx++) {
      let isIn = true;
      for (let j = 0; j < 4 && isIn; j++) { // clockwise on screen: every side has the inside on its right
        const [ax, ay] = quad[j], [bx, by] = quad[(j + 1) % 4];
        isIn = (bx - ax) * (y - ay) - (by - ay) * (xx - ax) >= 0;
      }
      inside[y * FRAME_WIDTH + xx] = isIn ? 1 : 0;
      if (!isIn) (outside += 1), (sum += x[y * FRAME_WIDTH + xx]);
    }
  }
  const out = Float32Array.from(x);
  if (outside === 0) return out;
  const fill = Math.fround(sum / outside);
  for (let i = 0; i < out.length; i++) if (inside[i]) out[i] = fill;
  return out;
}

/** Does the model, shown the photo with this frame painted out, see another soroban there? */
async function anotherSoroban(detector, x, gray, corners) {
  const { width: w, height: h } = gray;
  const second = await look(detector, paintedOut(x, corners, w, h), w, h);
  if (!(second.score >= detector.heads.threshold)) return false;
  const other = refineCorners(gray, second.corners);
  if (degenerate(other) || !within(other, w, h, LOOK.inside_px) || overlap(gray.cv, other, corners) >= LOOK.same) return false;
  return sorobanScore(gray, other) >= LOOK.two_sorobans;
}
