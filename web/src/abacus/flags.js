// Which columns a reading may count as digits (abacus/flags.py, ported): "read", "hidden" (its
// confidence below the flag threshold: a hand or finger over its beads, glare, or the model
// unsure; or its digit changes when its crop moves by FLAGS.steady_shifts) or "out_of_frame"
// (too much of its crop outside the image). In a reading with a hidden column, the read ones
// must be surer (with_hidden). Only read columns are digits; the number exists only when every
// column is read, and its text marks the others.

import { FLAGS } from "./spec.js";

export const READ = "read", HIDDEN = "hidden", OUT_OF_FRAME = "out_of_frame";

/**
 * A column's status from its confidence, the share of its crop outside the image, and whether
 * its digit holds in its shifted crops (`steady`).
 */
export function columnStatus(confidence, outside, threshold, steady = true) {
  if (outside > FLAGS.out_of_frame_share) return OUT_OF_FRAME;
  return confidence >= threshold && steady ? READ : HIDDEN;
}

/**
 * Which columns' shifted crops are read (flags.needs_views): only those the status rule could still
 * let be read (read on confidence, and at least FLAGS.with_hidden sure when another is hidden),
 * and below FLAGS.steady_below.
 */
export function needsViews(confidences, outsides, threshold) {
  const first = confidences.map((c, i) => columnStatus(c, outsides[i], threshold));
  const sure = bar(first, threshold);
  return first.map((s, i) => s === READ && confidences[i] >= sure && confidences[i] < FLAGS.steady_below);
}

/**
 * Each column's status (flags.column_statuses): columnStatus, then, if any column is hidden, each
 * read one is hidden too unless at least FLAGS.with_hidden (or threshold) sure. `steady`: per
 * column, whether its digit holds in its shifted crops (default: every one).
 */
export function columnStatuses(confidences, outsides, threshold, steady = null) {
  const first = confidences.map((c, i) => columnStatus(c, outsides[i], threshold, steady === null || steady[i]));
  const sure = bar(first, threshold);
  return first.map((s, i) => (s === READ && confidences[i] < sure ? HIDDEN : s));
}

/** The confidence a read column needs in a reading whose first-pass statuses are `first`. */
function bar(first, threshold) {
  return first.includes(HIDDEN) ? Math.max(threshold, FLAGS.with_hidden) : threshold;
}

/**
 * The share of a convex quad's area outside the image (pixel centres at integers, so the image
 * spans -0.5 .. width - 0.5): 0 when it is all inside, 1 when all outside.
 */
export function outsideShare(quad, width, height) {
  let points = quad.map((p) => [Number(p[0]), Number(p[1])]);
  const whole = area(points);
  if (!(whole > 0)) return 1;
  const clips = [[0, -0.5, false], [0, width - 0.5, true], [1, -0.5, false], [1, height - 0.5, true]];
  for (const [axis, bound, keepBelow] of clips) {
    points = clip(points, axis, bound, keepBelow);
    if (points.length === 0) return 1;
  }
  return Math.min(1, Math.max(0, 1 - area(points) / whole));
}

/** The digits (null: unread) as a user reads them: leading zeros dropped, each unread column marked. */
export function numberText(digits) {
  return digits.map((d) => (d === null ? FLAGS.unread_mark : String(d))).join("").replace(/^0+(?=.)/, "");
}

/** The number of a text of digits, a BigInt above 2^53; null when a column is unread. */
export function numberOf(text) {
  if (!/^\d+$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : BigInt(text);
}

function area(points) {
  let total = 0;
  for (let k = 0; k < points.length; k++) {
    const [x0, y0] = points[k], [x1, y1] = points[(k + 1) % points.length];
    total += x0 * y1 - x1 * y0;
  }
  return Math.abs(total) / 2;
}

// Sutherland-Hodgman: the polygon's part on one side of the line coordinate[axis] = bound.
function clip(points, axis, bound, keepBelow) {
  const out = [];
  for (let k = 0; k < points.length; k++) {
    const a = points[(k - 1 + points.length) % points.length], b = points[k];
    const aIn = keepBelow ? a[axis] <= bound : a[axis] >= bound;
    const bIn = keepBelow ? b[axis] <= bound : b[axis] >= bound;
    if (aIn !== bIn) {
      const t = (bound - a[axis]) / (b[axis] - a[axis]);
      out.push([a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]);
    }
    if (bIn) out.push(b);
  }
  return out;
}
