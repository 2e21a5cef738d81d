// A soroban's frame without markers or a frame model (abacus/outline.py): rough quads (rough.js)
// snapped to the frame's outer edges (edges.js), scored (score.js), the best few searched; in
// gray, then, when gray shows no convincing frame, in single colour channels too. The frame
// model asks first; this runs where it sees no frame, as in Python.

import { rint } from "../numeric/round.js";
import { convex, dedupe, orderCorners, overlap, quadHeight, within } from "./corners.js";
import { analyse, maxMove, polish, refineQuad } from "./edges.js";
import { blobQuads, contourQuads, lineQuads } from "./rough.js";
import { sorobanScore } from "./score.js";
import { SmoothGray } from "./smooth-gray.js";
import { frameNotFound, spec } from "./spec.js";

const OUTLINE = spec.frame_search.outline;
const TWO_SOROBANS = spec.frame_search.model.two_sorobans;
const byScore = (a, b) => b.score - a.score; // stable, as Python's sort

/**
 * Frame candidates ([4][2], clockwise from the top-left), the most soroban-like first; only
 * quads scoring at least the spec's min_score. `smooth`: the working photo's SmoothGray (the
 * caller's, left undeleted); `colour()`: its RGB as float32 [height*width*3], or null when it
 * has no colour. Two sorobans seen in gray: FrameNotFound two_sorobans.
 */
export function quadCandidates(smooth, colour = () => null, limit = OUTLINE.candidates) {
  const { cv, gray, width, height } = smooth;
  const images = []; // the colour channels' own
  const image = (values) => {
    const img = new SmoothGray(cv, values, width, height);
    images.push(img);
    return img;
  };
  try {
    let found = foundIn(cv, gray, width, height, smooth);
    const sorobans = onePerSoroban(cv, found.filter((f) => within(f.quad, width, height, OUTLINE.inside_px)));
    if (sorobans.length > 1 && sorobans[1].score >= TWO_SOROBANS) {
      const outlines = sorobans.filter((s) => s.score >= TWO_SOROBANS).length;
      throw frameNotFound("two_sorobans", { why: `${outlines} frame outlines` });
    }
    const rgb = !found.length || found[0].score < OUTLINE.convincing ? colour() : null;
    if (rgb !== null) {
      for (const channel of colourChannels(cv, rgb, width, height)) {
        // scored in gray, like the rest: a frame's rails are plain and its beads busy in gray too
        const rescored = foundIn(cv, channel, width, height, image(channel)).map((f) => ({ ...f, score: sorobanScore(smooth, f.quad) }));
        found = [...found, ...rescored.filter((f) => f.score >= OUTLINE.min_score)].sort(byScore);
        if (found.length && found[0].score >= OUTLINE.convincing) break;
      }
    }
    const inside = found.filter((f) => within(f.quad, width, height, OUTLINE.inside_px));
    const ordered = onePerSoroban(cv, inside).flatMap((g) => g.members);
    if (!ordered.length) return [];
    // the one to read, fitted to the half pixel however it was found
    const quads = [polish(ordered[0].img, ordered[0].quad), ...ordered.slice(1).map((f) => f.quad)];
    return dedupe(quads, OUTLINE.same_px).slice(0, limit);
  } finally {
    for (const img of images) img.delete();
  }
}

/**
 * Single channels where a frame may stand out from a table it is like in gray: CIELAB's b* and a*
 * (stretched), then red, blue and green; each float64 [height*width], made when asked for.
 */
function* colourChannels(cv, rgb, width, height) {
  const n = width * height;
  const u8 = new Uint8Array(3 * n);
  for (let i = 0; i < 3 * n; i++) u8[i] = Math.min(Math.max(rint(rgb[i]), 0), 255);
  const src = cv.matFromArray(height, width, cv.CV_8UC3, u8), lab = new cv.Mat();
  let labData;
  try {
    cv.cvtColor(src, lab, cv.COLOR_RGB2Lab);
    labData = Uint8Array.from(lab.data);
  } finally {
    src.delete();
    lab.delete();
  }
  const stretched = (v) => Math.min(Math.max((v - 128.0) * OUTLINE.opponent_stretch + 128.0, 0), 255);
  for (const k of [2, 1]) yield Float64Array.from({ length: n }, (_, i) => stretched(labData[3 * i + k]));
  for (const k of [0, 2, 1]) yield Float64Array.from({ length: n }, (_, i) => rgb[3 * i + k]);
}

/** The rough quads' sources, in turn: outlines, then the beads' blob, then long straight edges. */
const SOURCES = [contourQuads, blobQuads, lineQuads];

/**
 * {score, quad, img} for the frame-like quads in one single-channel image (float64 values, and
 * `img` its SmoothGray), best first, scoring at least min_score (outline.py _found_in).
 */
function foundIn(cv, values, width, height, img) {
  const scale = Math.min(1.0, OUTLINE.rough_side / Math.max(height, width));
  const u8 = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) u8[i] = Math.min(Math.max(rint(values[i]), 0), 255);
  const full = cv.matFromArray(height, width, cv.CV_8UC1, u8);
  let small = full;
  const found = []; // {score, quad, analysis}
  try {
    if (scale !== 1.0) {
      small = new cv.Mat();
      cv.resize(full, small, new cv.Size(0, 0), scale, scale, cv.INTER_AREA);
    }
    for (const source of SOURCES) {
      if (source !== contourQuads && found.length && Math.max(...found.map((f) => f.score)) >= OUTLINE.convincing) break;
      const rough = source(cv, small).map((q) => q.map(([x, y]) => [(x + 0.5) / scale - 0.5, (y + 0.5) / scale - 0.5]));
      for (let q of dedupe(rough.filter((r) => plausible(cv, r)), OUTLINE.rough_same * Math.max(height, width))) {
        q = orderCorners(q);
        if (found.some((f) => maxMove(q, f.quad) <= OUTLINE.snaps_to * quadHeight(f.quad))) continue; // snaps to the same edges
        if (found.some((f) => f.score >= OUTLINE.convincing && overlap(cv, q, f.quad) >= OUTLINE.same_soroban)) continue;
        const analysis = analyse(img, q);
        let r = refineQuad(img, q, false, { fine: false, analysis });
        if (r === null) continue;
        r = orderCorners(r);
        if (found.some((f) => maxMove(r, f.quad) <= OUTLINE.same_px)) continue;
        found.push({ score: sorobanScore(img, r), quad: r, analysis });
      }
    }
  } finally {
    if (small !== full) small.delete();
    full.delete();
  }
  found.sort(byScore);
  // the best again, each side now free to take another of its edges if the frame then looks more
  // like a soroban's, and fitted to the half pixel
  for (let i = 0; i < Math.min(OUTLINE.searched, found.length); i++) {
    const r = refineQuad(img, found[i].analysis.quad, true, { analysis: found[i].analysis });
    if (r !== null) {
      const quad = orderCorners(r);
      found[i] = { score: sorobanScore(img, quad), quad, analysis: found[i].analysis };
    }
  }
  found.sort(byScore);
  return found.filter((f) => f.score >= OUTLINE.min_score).map(({ score, quad }) => ({ score, quad, img }));
}

/**
 * Quads ({score, quad}, best first) grouped by the soroban they are around: [{score, members}],
 * members best first, except that of those with the best quad's long sides scoring nearly as
 * well, the smallest comes first (an end pushed out by a shadow does not count).
 */
function onePerSoroban(cv, found) {
  const groups = [];
  const area = (q) => {
    const m = cv.matFromArray(4, 1, cv.CV_32FC2, q.flat());
    try {
      return cv.contourArea(m, false);
    } finally {
      m.delete();
    }
  };
  let rest = found;
  while (rest.length) {
    const best = rest[0];
    const group = rest.filter((f) => overlap(cv, f.quad, best.quad) >= OUTLINE.same_soroban);
    const close = group.filter((f) => f.score >= best.score - OUTLINE.nested_margin && shortened(f.quad, best.quad));
    let pick = best, least = area(best.quad);
    for (const f of close) {
      const a = area(f.quad);
      if (a < least) [pick, least] = [f, a];
    }
    groups.push({ score: best.score, members: [pick, ...group.filter((f) => f !== pick)] });
    rest = rest.filter((f) => !group.includes(f));
  }
  return groups;
}

/**
 * Is quad `a` quad `b` with an end or both moved in by a few pixels to a fifth of its height,
 * and nothing else moved (outline.py _shortened)?
 */
function shortened(a, b) {
  const height = quadHeight(b);
  const tol = Math.max(OUTLINE.shortened.tol_px, OUTLINE.shortened.tol * height);
  const centre = [0, 1].map((k) => (b[0][k] + b[1][k] + b[2][k] + b[3][k]) / 4);
  const moved = [];
  for (let k = 0; k < 4; k++) {
    const p = b[k], q = b[(k + 1) % 4];
    const len = Math.max(Math.hypot(q[0] - p[0], q[1] - p[1]), 1e-9);
    let n = [(q[1] - p[1]) / len, (p[0] - q[0]) / len];
    const mid = [0.5 * (p[0] + q[0]) - centre[0], 0.5 * (p[1] + q[1]) - centre[1]];
    if (n[0] * mid[0] + n[1] * mid[1] < 0) n = [-n[0], -n[1]];
    const ends = [a[k], a[(k + 1) % 4]].map((c) => (c[0] - p[0]) * n[0] + (c[1] - p[1]) * n[1]); // + outward
    moved.push(-(ends[0] + ends[1]) / 2);
    if (Math.max(Math.abs(ends[0] - ends[1]), 0) > 2 * tol || ends[0] > tol || ends[1] > tol) return false; // tilted or moved out
  }
  const level = Math.max(Math.abs(moved[0]), Math.abs(moved[2])) <= tol;
  const most = Math.max(moved[1], moved[3]);
  return level && OUTLINE.shortened.least_px <= most && most <= OUTLINE.shortened.most * height;
}

/** Could this rough quad be a soroban frame: convex, wider than tall, not tiny? */
function plausible(cv, quad) {
  const q = orderCorners(quad);
  const top = Math.hypot(q[1][0] - q[0][0], q[1][1] - q[0][1]), left = Math.hypot(q[3][0] - q[0][0], q[3][1] - q[0][1]);
  return convex(cv, q) && left >= OUTLINE.plausible.min_side_px && top >= OUTLINE.plausible.wider_than_tall * left;
}
