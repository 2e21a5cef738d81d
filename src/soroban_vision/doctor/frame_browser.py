"""The browser library's own frame detection of the doctor's photos, as a web page runs it: in
a tab of the doctor's Chromium, `loadFrameDetector` (web/src/frame/load.js: every file's SHA-256,
then the golden vectors on wasm), then for each photo the reader's working gray
(abacus/photo.js prepare), the model input (frame/input.js frameInput) and `detect`."""

from __future__ import annotations

import numpy as np

from soroban_vision.frame.input import HEIGHT, WIDTH, to_normalized

HARNESS = "/web/test/harness.html"  # a page of the runner's server with TF.js and its wasm backend

# Runs in the page: {x: base64 float32 inputs, corners: [[x, y] x 4] per photo (working pixels),
# sizes: [w, h] of each working gray, scores}, or {refused: "code: message"}.
DETECT = """
async ({ urls, model }) => {
  const { loadFrameDetector } = await import("/web/src/frame/load.js");
  const { frameInput } = await import("/web/src/frame/input.js");
  const { prepare } = await import("/web/src/abacus/photo.js");
  const { bitmapFromUrl, pixelsOf } = await import("/web/src/classifier/pixels.js");
  let detector;
  try {
    detector = await loadFrameDetector(model, { backend: "wasm" });
  } catch (e) {
    return { refused: `${e.code ?? e.name}: ${String(e.message).split("\\n")[0]}` };
  }
  // the frame contract's own gray rule, in the shape the library's toGray takes
  const pre = detector.contract.preprocessing;
  const gray = { coefficients: pre.grayscale.coefficients, background: pre.alpha.composite_over };
  const xs = [], corners = [], sizes = [], scores = [];
  try {
    for (const url of urls) {
      const bitmap = await bitmapFromUrl(url);
      const { data, width, height } = await pixelsOf(bitmap);
      bitmap.close?.();
      const photo = prepare(data, width, height, gray);
      xs.push(frameInput(photo.gray, photo.width, photo.height));
      const found = await detector.detect(photo);
      corners.push(found.corners);
      sizes.push([photo.width, photo.height]);
      scores.push(found.score);
    }
  } finally {
    detector.dispose();
  }
  const all = new Float32Array(xs.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of xs) { all.set(x, at); at += x.length; }
  const bytes = new Uint8Array(all.buffer);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return { x: btoa(s), corners, sizes, scores };
}
"""


def detect(runner, files) -> dict:
    """The library's answers for the photo files, in a new tab of `runner`'s browser (whose server
    serves the model folder at /model/): {x01 [N,H,W,1], corners (normalized) [N,4,2], frame [N]},
    or {refused: why} when the library will not load the model."""
    import base64

    page = runner.new_page(HARNESS)
    try:
        page.wait_for_function("window.harness !== undefined", timeout=30_000)
        answer = page.evaluate(DETECT, {"urls": [runner.url_for(f) for f in files], "model": "/model/"})
    finally:
        page.close()
    if "refused" in answer:
        return {"refused": answer["refused"]}
    x = np.frombuffer(base64.b64decode(answer["x"]), np.float32).reshape(len(files), HEIGHT, WIDTH, 1)
    corners = np.stack(
        [
            to_normalized(np.asarray(c, np.float64), w, h)
            for c, (w, h) in zip(answer["corners"], answer["sizes"], strict=True)
        ]
    )
    return {"x01": x, "corners": corners, "frame": np.asarray(answer["scores"], np.float64)}
