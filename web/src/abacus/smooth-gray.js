// The gray as the frame search looks at it (abacus/edges.py smoothed): float32, lightly smoothed
// by OpenCV's Gaussian, held as an OpenCV Mat, and sampled by OpenCV's remap. The same OpenCV as
// Python's, so the same values.

import { spec } from "./spec.js";

export class SmoothGray {
  /**
   * From a float64 gray [height*width] (0..255), as numpy's astype(float32), then blurred when
   * first sampled: a video frame whose frame is kept (frame/track.js) may never need it.
   */
  constructor(cv, gray, width, height) {
    this.cv = cv;
    this.width = width;
    this.height = height;
    this.gray = gray;
    this.blurred = null;
    this.scores = new Map(); // sorobanScore's, by quad: the same quad on the same gray scores alike
  }

  /** The blurred gray, an OpenCV Mat, made on first use. */
  get mat() {
    if (this.gray === null) throw new Error("SmoothGray used after delete()");
    if (this.blurred === null) {
      const cv = this.cv;
      const src = cv.matFromArray(this.height, this.width, cv.CV_32FC1, Float32Array.from(this.gray));
      this.blurred = new cv.Mat();
      try {
        const sigma = spec.frame_search.smooth_sigma;
        cv.GaussianBlur(src, this.blurred, new cv.Size(0, 0), sigma, 0, cv.BORDER_DEFAULT);
      } finally {
        src.delete();
      }
    }
    return this.blurred;
  }

  /** Bilinear samples at float32 points (xs, ys: [rows*cols]), edges replicated: [rows*cols]. */
  sample(xs, ys, rows, cols) {
    const cv = this.cv;
    const mx = cv.matFromArray(rows, cols, cv.CV_32FC1, xs), my = cv.matFromArray(rows, cols, cv.CV_32FC1, ys);
    const out = new cv.Mat();
    try {
      cv.remap(this.mat, out, mx, my, cv.INTER_LINEAR, cv.BORDER_REPLICATE, new cv.Scalar());
      return Float32Array.from(out.data32F);
    } finally {
      for (const m of [mx, my, out]) m.delete();
    }
  }

  /**
   * The image seen through the quad: a cols x rows picture whose pixel (j, i) shows the photo
   * where the perspective map of `flat` onto `quad` sends it (cv2.warpPerspective with
   * WARP_INVERSE_MAP, bilinear, edges replicated): Float32Array [rows*cols].
   */
  warp(flat, quad, cols, rows) {
    const cv = this.cv;
    const src = cv.matFromArray(4, 1, cv.CV_32FC2, flat.flat()), dst = cv.matFromArray(4, 1, cv.CV_32FC2, quad.flat());
    const out = new cv.Mat();
    let m = null;
    try {
      m = cv.getPerspectiveTransform(src, dst);
      const flags = cv.INTER_LINEAR | cv.WARP_INVERSE_MAP;
      cv.warpPerspective(this.mat, out, m, new cv.Size(cols, rows), flags, cv.BORDER_REPLICATE, new cv.Scalar());
      return Float32Array.from(out.data32F);
    } finally {
      for (const x of [src, dst, out, m]) x?.delete();
    }
  }

  delete() {
    this.blurred?.delete();
    this.blurred = null;
    this.gray = null;
    this.scores.clear();
  }
}
