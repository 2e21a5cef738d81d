// Video: a number is shown only once it has held still (abacus.Stabilizer, ported).

import { numberOf, numberText, READ } from "./flags.js";
import { STABILIZER } from "./spec.js";

/**
 * abacus.Stabilizer: accept a reading only after it has been the same for `frames` frames,
 * each above the confidence floor; any motion of the frame (corners moving more than
 * `motion` of the frame width) starts the count again. Fed the rod count (`rods`), it also
 * starts again when the count changes, and counts no frame whose count is unsure, unless
 * only its hidden columns doubt it (STABILIZER.forgiven) and a sure frame read the same count
 * before (`sureRods`; motion keeps it, as a soroban keeps its rods when it moves, and `reset`
 * forgets it). Fed whole
 * readings (`update(reading)`), it keeps each column's last confident digit: a column not
 * read confidently (a hand over it, or out of frame) counts with that digit (`held` lists
 * them), and a frame with such a column that has none is no reading. Motion of the frame, or
 * another rod count, forgets them. Defaults from the abacus spec.
 */
export class Stabilizer {
  constructor({ frames = STABILIZER.frames, minConfidence = STABILIZER.minConfidence, motion = STABILIZER.motion } = {}) {
    Object.assign(this, { frames, minConfidence, motion });
    this.reset();
  }

  /** Forget everything, the sure rod count too. */
  reset() {
    this.sureRods = null; // the latest sure rod count read
    this.startAgain();
  }

  /** Forget the candidate, the corners and the digits held, not the sure rod count: a soroban keeps its rods when it moves. */
  startAgain() {
    this.count = 0;
    this.candidate = null;
    this.rods = null; // the candidate's rod count, when fed one
    this.corners = null;
    this.counts = []; // rod counts of the latest `frames` frames
    this.last = new Map(); // each column's last confident digit, while the frame holds still
    this.lastRods = null; // the rod count those digits were read with
    this.digits = []; // the latest frame's digits, held ones included (null: none)
    this.held = []; // the latest frame's columns whose digit was held
  }

  /**
   * Whether an unsure rod count (a reading's `rods`) is one an earlier sure frame vouches for:
   * doubted only for a few hidden columns (STABILIZER.forgiven), and the sure count read.
   */
  vouches(rods) {
    return rods?.uncertain === true && STABILIZER.forgiven.includes(rods.doubt) && rods.count === this.sureRods;
  }

  /** The rod count changed within the latest `frames` frames read. */
  get rodsVary() {
    return new Set(this.counts).size > 1;
  }

  /**
   * One frame -> the number once stable, else null. Either a whole reading (what
   * `reader.read` returns, or its JSON), or its number (null when no frame was read), column
   * confidences, corners, and the rod count: a number, or the reading's `rods` {count, uncertain}.
   */
  update(number, confidences = [], corners = null, rods = null) {
    let columns = null;
    if (number !== null && typeof number === "object" && Array.isArray(number.columns)) {
      const reading = number;
      columns = reading.columns.map((c) => [c.status, c.digit, c.confidence]);
      [number, confidences, corners, rods] = [reading.number, columns.map((c) => c[2]), reading.corners, reading.rods];
    }
    if (corners !== null && corners !== undefined) {
      if (this.corners !== null) {
        const [a, b] = corners;
        const width = Math.max(Math.sqrt((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2), 1.0);
        let moved = 0;
        corners.forEach((p, i) => {
          moved = Math.max(moved, Math.abs(p[0] - this.corners[i][0]), Math.abs(p[1] - this.corners[i][1]));
        });
        if (moved > this.motion * width) this.startAgain();
      }
      this.corners = corners.map((p) => [p[0], p[1]]);
    }
    const count = rods === null || rods === undefined ? null : typeof rods === "number" ? rods : rods.count;
    // an unsure count that does not say why is doubted for a reason no frame forgives
    const doubt = typeof rods === "object" && rods !== null && rods.uncertain === true ? rods.doubt || "unknown" : null;
    if (count !== null) {
      this.counts.push(count);
      if (this.counts.length > this.frames) this.counts.shift();
    }
    if (count !== null && doubt === null) this.sureRods = count;
    const unsure = doubt !== null && !this.vouches(rods);
    if (columns !== null) [number, confidences] = this.hold(columns, count);
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

  /**
   * The frame's number with each unconfident column's last confident digit, and the
   * confidences that stand for it (1 for a held digit); a null number when a column has none.
   */
  hold(columns, count) {
    if (count !== this.lastRods || columns.length !== this.digits.length) {
      this.last = new Map(); // digits of another layout mean nothing here
      this.lastRods = count;
    }
    const digits = [], confidences = [];
    this.held = [];
    columns.forEach(([status, digit, confidence], i) => {
      if (status === READ && confidence >= this.minConfidence) {
        this.last.set(i, digit);
        digits.push(digit);
        confidences.push(confidence);
      } else {
        digits.push(this.last.has(i) ? this.last.get(i) : null);
        confidences.push(1.0);
        if (this.last.has(i)) this.held.push(i);
      }
    });
    this.digits = digits;
    return [digits.includes(null) ? null : numberOf(numberText(digits)), confidences];
  }

  /** How far along the current candidate is, 0..1. */
  get progress() {
    return this.candidate === null ? 0 : Math.min(1, this.count / this.frames);
  }
}
