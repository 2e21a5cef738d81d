// The frame in a video (frame/track.py): found in full once, then kept while the frame model's
// first look, which every frame still gets, puts the frame where it put it then. Only a frame
// whose reading was sure of its rod count, with every column read, is kept: one found while a
// hand covers rods may be cut short at the hand. Once it was, it is kept through readings unsure
// for a hand over the rods, and a search in full after `keep` kept frames that finds it again
// keeps it so. A move of more than `still` of the photo's width, a photo of another size, no
// frame seen, or an unsure reading of a frame not yet read sure, and the next frame is searched
// in full again. Markers or given corners make it stale (abacus/reader.js tracked).

import { spec } from "../abacus/spec.js";

const TRACK = spec.frame_search.track;

/** The largest move of a corner's x or y between two quads [4][2]. */
function moved(a, b) {
  let most = 0;
  for (let k = 0; k < 4; k++) for (let i = 0; i < 2; i++) most = Math.max(most, Math.abs(a[k][i] - b[k][i]));
  return most;
}

export class FrameTrack {
  constructor() {
    this.look = null; // the first look's corners when the frame was found in full
    this.corners = null; // the frame found then, in the gray's pixels
    this.size = null;
    this.since = 0; // frames kept since that full search
    this.sure = false; // its reading was sure of the rod count
    this.kept = 0;
  }

  /** The kept frame's corners (a copy) when this first look puts the frame where it was found, counted as kept; else null. */
  keptCorners(look, width, height) {
    if (this.corners === null || !this.sure || this.size[0] !== width || this.size[1] !== height || this.since >= TRACK.keep) return null;
    if (moved(look, this.look) > TRACK.still * width) return null;
    this.since += 1;
    this.kept += 1;
    return this.corners.map((p) => [p[0], p[1]]);
  }

  /** After a full search: keep its frame, still sure if it is the sure frame found again. */
  found(look, corners, width, height) {
    const again = this.sure && this.size[0] === width && this.size[1] === height && moved(corners, this.corners) <= TRACK.still * width;
    this.look = look.map((p) => [p[0], p[1]]);
    this.corners = corners.map((p) => [p[0], p[1]]);
    this.size = [width, height];
    this.since = 0;
    this.sure = again;
  }

  /** After a reading with the frame model's frame: kept once a reading was sure (its rod count, every column read); before that, an unsure one forgets it. */
  read(sure) {
    if (sure) this.sure = this.corners !== null;
    else if (!this.sure) this.forget();
  }

  forget() {
    this.look = this.corners = this.size = null;
    this.since = 0;
    this.sure = false;
  }
}
