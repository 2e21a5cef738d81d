// Video: a number is shown only once it has held still (abacus.Stabilizer, ported).

import { STABILIZER } from "./spec.js";

/**
 * abacus.Stabilizer: accept a reading only after it has been the same for `frames` frames,
 * each above the confidence floor; any motion of the frame (corners moving more than
 * `motion` of the frame width) starts the count again. Defaults from the abacus spec.
 */
export class Stabilizer {
  constructor({ frames = STABILIZER.frames, minConfidence = STABILIZER.minConfidence, motion = STABILIZER.motion } = {}) {
    Object.assign(this, { frames, minConfidence, motion });
    this.reset();
  }

  reset() {
    this.count = 0;
    this.candidate = null;
    this.corners = null;
  }

  /** One frame's reading (number or null, confidences, corners) -> the number once stable, else null. */
  update(number, confidences, corners = null) {
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
    if (number === null || number === undefined || !confidences?.length || Math.min(...confidences) < this.minConfidence) {
      this.count = 0;
      this.candidate = null;
      return null;
    }
    if (number !== this.candidate) {
      this.candidate = number;
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
