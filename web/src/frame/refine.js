// The frame model's corners polished on the photo itself (frame/refine.py), with the classical
// search's own edge code (abacus/edges.js): each side moves to the straight edge within reach
// that is strongest once weighed by how near it is to where the model put it; the four lines are
// then fitted to the half pixel. A side with no edge in reach stays where it was.

import { convex, orderCorners, quadHeight } from "../abacus/corners.js";
import { cornersOf, EDGES, fineLines, maxMove, mean4, outwardOf, refineQuad, Side } from "../abacus/edges.js";
import { sorobanScore } from "../abacus/score.js";
import { spec } from "../abacus/spec.js";

const SNAP = spec.frame_search.snap; // distances: pixels, or fractions of the quad's height

/**
 * refineCorners, then the classical search's last step on that quad: each side may take another
 * of its edges (or a rail as wide as the opposite one) if the frame then looks more like a
 * soroban's. The search starts from its own pick of each side's edge, so its quad is taken only
 * when it looks at least as much like a soroban's frame as the snapped quad.
 */
export function polished(gray, corners) {
  const snapped = refineCorners(gray, corners);
  let searched = refineQuad(gray, snapped, true);
  if (searched === null) return snapped;
  searched = orderCorners(searched);
  return sorobanScore(gray, searched) >= sorobanScore(gray, snapped) ? searched : snapped;
}

/**
 * The model's corners snapped to the frame's outer edges in `gray` (a SmoothGray), clockwise
 * from the top-left; the model's own corners where snapping fails.
 */
export function refineCorners(gray, corners) {
  const quad = orderCorners(corners);
  const height = quadHeight(quad), centre = mean4(quad);
  const lines = [], signs = [];
  for (let k = 0; k < 4; k++) { // 0 and 2 are the long sides (orderCorners)
    const reach = Math.max(SNAP.min_reach, (k % 2 === 0 ? SNAP.reach_long : SNAP.reach_end) * height);
    const a = quad[k], b = quad[(k + 1) % 4];
    const length = Math.sqrt((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2);
    if (length < 8) return quad;
    const side = new Side(gray, a, b, outwardOf(a, b, centre), reach, 1.0, SNAP.tilts, Math.max(2.0, SNAP.drift * length));
    const edges = side.edges(EDGES.noise_floor).filter((e) => Math.abs(e[0]) <= reach);
    if (!edges.length) {
      lines.push(side.line(0.0));
      signs.push(0.0);
      continue;
    }
    const sigma = Math.max(SNAP.near_px, SNAP.near * height);
    const weight = edges.map(([s, g]) => Math.abs(g) * Math.exp(-0.5 * (s / sigma) ** 2));
    const top = Math.max(...weight);
    // of the edges nearly as likely as the likeliest, the outermost: inside a frame's outer edge
    // lies its rail's inner edge, often the stronger
    const [offset, strength] = edges.filter((_, i) => weight[i] >= SNAP.outermost * top).at(-1);
    lines.push(side.fit(offset, Math.sign(strength)));
    signs.push(Math.sign(strength));
  }
  let out = cornersOf(lines);
  if (out !== null) out = cornersOf(fineLines(gray, out, signs));
  const moved = out !== null ? maxMove(out, quad) : Infinity;
  if (moved > 2 * Math.max(SNAP.min_reach, SNAP.reach_end * height) || !convex(gray.cv, out)) return quad;
  return orderCorners(out);
}
