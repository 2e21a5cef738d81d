// Video: a number is shown only once it has held still (abacus.Stabilizer, ported).

import { STABILIZER } from "./spec.js";

/**
 * abacus.Stabilizer: accept a reading only after it has been the same for `frames` frames,
 * each above the confidence floor; any motion of the frame (corners moving more than
 * `motion` of the frame width) starts the count again. Fed the rod count (`rods`), it also
 * starts again when the count changes, and counts no frame whose count is unsure. Defaults
 * from the abacus spec.
 */
export class Stabilizer {
  constructor({ frames = STABILIZER.frames, minConfidence = STABILIZER.minConfidence, motion = STABILIZER.motion } = {}) {
    Object.assign(this, { frames, minConfidence, motion });
    this.reset();
  }

  reset() {
    this.count = 0;
    this.candidate = null;
    this.rods = null; // the candidate's rod count, when fed one
    this.corners = null;
    this.counts = []; // rod counts of the latest `frames` frames
  }

  /** The rod count changed within the latest `frames` frames read. */
  get rodsVary() {
    return new Set(this.counts).size > 1;
  }

  /**
   * One frame's reading (number or null, confidences, corners, and the rod count: a number,
   * or the reading's `rods` {count, uncertain}) -> the number once stable, else null.
   */
  update(number, confidences, corners = null, rods = null) {
    if (corners !== null && corners !== undefined) {
      if (this.corners !== null) {
        const [a, b] = corners;
        const width = Math.max(Math.sqrt((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2), 1.0);
        let moved = 0;
        corners.forEach((p, i) => {
          moved = Math.max(moved, Math.abs(p[0] - this.corners[i][0]), Math.abs(p[1] - this.corners[i][1]));
        });
        if (moved > this.motion * width) this.reset();
      }
      this.corners = corners.map((p) => [p[0], p[1]]);
    }
    const count = rods === null || rods === undefined ? null : typeof rods === "number" ? rods : rods.count;
    const unsure = typeof rods === "object" && rods !== null && rods.uncertain === true;
    if (count !== null) {
      this.counts.push(count);
      if (this.counts.length > this.frames) this.counts.shift();
    }
    if (number === null || number === undefined || !confidences?.length || Math.min(...confidences) < this.minConfidence || unsure) {
      this.count = 0;
      this.candidate = null;
      this.rods = null;
      return null;
    }
    if (number !== this.candidate || count !== this.rods) {
      this.candidate = number;
      this.rods = count;
      this.count = 0;
    }
    this.count += 1;
    return this.count >= this.frames ? number : null;
  }

  /** How far along the current candidate is, 0..1. */
  get progress() {
    return this.candidate === null ? 0 : Math.min(1, this.count / this.frames);
  }
}
