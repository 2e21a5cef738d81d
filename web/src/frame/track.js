// The frame in a video (frame/track.py): found in full once, then kept while the frame model's
// first look, which every frame still gets, puts the frame where it put it then. Only a frame
// whose reading was sure of its rod count is kept: one found while a hand covers rods may be cut
// short at the hand. A move of more than `still` of the photo's width, a photo of another size,
// no frame seen, a reading unsure of its rods, or `keep` frames kept, and the next frame is
// searched in full again.

import { spec } from "../abacus/spec.js";

const TRACK = spec.frame_search.track;

export class FrameTrack {
  constructor() {
    this.look = null; // the first look's corners when the frame was found in full
    this.corners = null; // the frame found then, in the gray's pixels
    this.size = null;
    this.since = 0; // frames kept since that full search
    this.sure = false; // its reading was sure of the rod count
    this.kept = 0;
  }

  /** The kept frame's corners (a copy) when this first look puts the frame where it was found; else null. */
  still(look, width, height) {
    if (this.corners === null || !this.sure || this.size[0] !== width || this.size[1] !== height || this.since >= TRACK.keep) return null;
    let moved = 0;
    for (let k = 0; k < 4; k++) for (let i = 0; i < 2; i++) moved = Math.max(moved, Math.abs(look[k][i] - this.look[k][i]));
    if (moved > TRACK.still * width) return null;
    this.since += 1;
    this.kept += 1;
    return this.corners.map((p) => [p[0], p[1]]);
  }

  /** After a full search: keep its frame. */
  found(look, corners, width, height) {
    this.look = look.map((p) => [p[0], p[1]]);
    this.corners = corners.map((p) => [p[0], p[1]]);
    this.size = [width, height];
    this.since = 0;
    this.sure = false;
  }

  /** After a reading with the frame model's frame: keep the frame only if it was sure of its rod count. */
  read(sure) {
    if (sure) this.sure = this.corners !== null;
    else this.forget();
  }

  forget() {
    this.look = this.corners = this.size = null;
    this.since = 0;
    this.sure = false;
  }
}
