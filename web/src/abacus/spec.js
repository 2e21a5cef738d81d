// The whole-soroban reader's constants, limits and error messages, from spec.json: the one
// copy Python (soroban_vision/abacus/spec.py) loads too. Every such number in web/src comes
// from here; tests/test_abacus_spec.py checks that what this module gives equals Python's.

import spec from "./spec.json" with { type: "json" };
import { FrameNotFound, UsageError } from "../errors.js";
import { linspace } from "../numeric/numpy.js";

// frozen: the spec is public (index.js), and a page that changed it would change the reader
function freeze(o) {
  for (const v of Object.values(o)) if (typeof v === "object" && v !== null) freeze(v);
  return Object.freeze(o);
}
freeze(spec);
export { spec };

export const MIN_COLUMNS = spec.columns.min;
export const MAX_COLUMNS = spec.columns.max;
export const MIN_SIDE = spec.photo.min_side; // smaller images cannot hold a readable soroban
export const WORK_SIDE = spec.photo.work_side; // larger photos are reduced by a whole factor to this
export const LOW_CONFIDENCE = spec.low_confidence;
export const FLAGS = spec.flags; // out_of_frame_share, unread_mark: which columns are not digits
export const MARKER_MODES = spec.markers.modes;
export const MARKERS = spec.markers; // dictionary, ids, frame_corner_offset, three_marker_fit_rms_px
export const RECTIFY = spec.rectify; // the rectified frame's size: width_per_top_side, width, height, min_side_px
export const RODS = spec.rods; // the rod fit's windows, ratios and weights
export const LAYOUTS_READ = spec.rods.layouts_read; // candidate (rods, side rail) layouts read per frame
export const COUNT = spec.rods.count; // which layout's rod count wins, and when it is unsure
export const STABILIZER = {
  frames: spec.stabilizer.frames,
  minConfidence: LOW_CONFIDENCE,
  motion: spec.stabilizer.motion,
  forgiven: spec.stabilizer.forgiven_doubts, // RodCount doubts a sure frame can vouch for
};
// the side rail widths the rod fit tries, in pitches: numpy.linspace(start, stop, num)
export const SIDE_FRACS = linspace(spec.rods.side_fracs.start, spec.rods.side_fracs.stop, spec.rods.side_fracs.num);

/** The spec's message for error `id`, its {placeholders} filled from `fields`. */
export function message(id, fields = {}) {
  return fill(spec.errors[id], "error", id, fields);
}

function fill(text, kind, id, fields) {
  if (text === undefined) throw new Error(`abacus/spec.json has no ${kind} '${id}'`);
  return text.replace(/\{(\w+)\}/g, (_, name) => {
    if (!(name in fields)) throw new Error(`${kind} '${id}' needs {${name}}`);
    return String(fields[name]);
  });
}

/** The spec's warning `id` (e.g. rods_rival), its {placeholders} filled from `fields`. */
export function warningText(id, fields = {}) {
  return fill(spec.warnings[id], "warning", id, fields);
}

/** FrameNotFound with the spec's error `id` as its code and its message. */
export function frameNotFound(id, fields) {
  return new FrameNotFound(id, message(id, fields));
}

/** UsageError (a bad argument) with the spec's error `id` as its code and its message. */
export function usageError(id, fields) {
  return new UsageError(id, message(id, fields));
}
