// The test harness's camera (harness.html watchCamera): Chromium's fake camera, playing a .y4m
// file of render/video.py, read frame by frame as a page would, each frame's stamp decoded so
// that every reading can be checked against the frame it was read from.

import { Stabilizer } from "../src/index.js";

/**
 * The camera read with `reader` for `seconds`, each new video frame once: every frame's stamp,
 * reading, rod count and the Stabilizer's answer. The video starts afresh (reader.newVideo).
 * Options: columns, frames (the Stabilizer's), track (true), frameModel (read without markers).
 */
export async function watchCamera(reader, seconds, options) {
  reader.newVideo();
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  const v = Object.assign(document.createElement("video"), { muted: true, playsInline: true, srcObject: stream });
  try {
    await v.play();
    const { width, height } = stream.getVideoTracks()[0].getSettings();
    const ctx = new OffscreenCanvas(width, height).getContext("2d", { willReadFrequently: true });
    const stabilizer = new Stabilizer(options.frames ? { frames: options.frames } : {});
    const readOptions = {
      track: options.track ?? true,
      ...(options.columns ? { columns: options.columns } : {}),
      ...(options.frameModel ? { markers: "off" } : {}),
    };
    const log = [];
    const t0 = performance.now();
    await new Promise((resolve, reject) => {
      const onFrame = async () => {
        try {
          if (performance.now() - t0 > seconds * 1000) return resolve();
          ctx.drawImage(v, 0, 0, width, height);
          const image = ctx.getImageData(0, 0, width, height);
          const started = performance.now();
          let r = null, error = null;
          try {
            r = await reader.read(image, readOptions);
          } catch (e) {
            if (e?.name !== "FrameNotFound") throw e;
            error = e.code;
          }
          const steady = r ? stabilizer.update(r) : stabilizer.update(null, [], null, null); // whole readings: covered columns hold
          log.push({
            frame: frameStamp(image), t: started - t0, ms: performance.now() - started, error,
            text: r?.text ?? null, minConfidence: r ? Math.min(...r.columns.map((c) => c.confidence)) : null,
            method: r?.method ?? null, corners: r?.corners ?? null,
            rods: r ? { count: r.rods.count, confidence: r.rods.confidence, uncertain: r.rods.uncertain, rival: r.rods.rival } : null,
            steady: steady === null ? null : String(steady), rodsVary: stabilizer.rodsVary,
          });
          v.requestVideoFrameCallback(onFrame);
        } catch (e) {
          reject(e);
        }
      };
      v.requestVideoFrameCallback(onFrame);
    });
    return { log, width, height, backend: globalThis.tf.getBackend(), framesKept: reader.frame ? reader.frame.track.kept : null };
  } finally {
    stream.getTracks().forEach((t) => t.stop());
    v.srcObject = null;
  }
}

// render/video.py's frame stamp: the frame's index, STAMP_BITS blocks of STAMP_BLOCK pixels
// along the top edge, white for ones, read from each block's middle
const STAMP_BITS = 12, STAMP_BLOCK = 8;
function frameStamp({ data, width }) {
  const mid = STAMP_BLOCK / 2;
  let index = 0;
  for (let bit = 0; bit < STAMP_BITS; bit++) {
    let sum = 0;
    for (let y = mid - 2; y < mid + 2; y++) {
      for (let x = bit * STAMP_BLOCK + mid - 2; x < bit * STAMP_BLOCK + mid + 2; x++) {
        const i = 4 * (y * width + x);
        sum += data[i] + data[i + 1] + data[i + 2];
      }
    }
    index = (index << 1) | (sum / 48 > 127 ? 1 : 0);
  }
  return index;
}
