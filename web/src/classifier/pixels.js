// The decoded 8-bit RGBA of any image source a page has (ImageData, image, canvas, bitmap,
// video, VideoFrame) at its natural size, read as Python (Pillow) reads the file: upright by
// its EXIF orientation (the browser applies it when it decodes; Python does the same).

import { ContractError } from "../errors.js";

let scratch = null; // one 2D context, reused: a canvas per call would churn memory at video rates

function scratchContext(width, height) {
  if (!scratch) {
    const canvas = typeof OffscreenCanvas !== "undefined"
      ? new OffscreenCanvas(width, height)
      : Object.assign(document.createElement("canvas"), { width, height });
    scratch = canvas.getContext("2d", { willReadFrequently: true, colorSpace: "srgb" });
  }
  const canvas = scratch.canvas;
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  scratch.clearRect(0, 0, width, height);
  return scratch;
}

function shortUrl(url) {
  return url.startsWith("data:") ? url.slice(0, 32) + "..." : url;
}

function sizeOf(source) {
  const is = (name) => typeof globalThis[name] === "function" && source instanceof globalThis[name];
  if (is("HTMLImageElement")) {
    if (!source.complete || source.naturalWidth === 0) {
      throw new ContractError("bad_source", `image ${shortUrl(source.currentSrc || source.src)} is not loaded (or is broken)`);
    }
    return [source.naturalWidth, source.naturalHeight];
  }
  if (is("HTMLVideoElement")) {
    if (source.readyState < 2 || source.videoWidth === 0) throw new ContractError("bad_source", "the video has no frame to read yet");
    return [source.videoWidth, source.videoHeight];
  }
  if (is("VideoFrame")) return [source.displayWidth, source.displayHeight];
  if (is("HTMLCanvasElement") || is("OffscreenCanvas") || is("ImageBitmap")) return [source.width, source.height];
  return null;
}

/** Decoded 8-bit RGBA of a source at its natural size, without colour management where the browser allows. */
export async function pixelsOf(source, index = 0) {
  if (typeof ImageData !== "undefined" && source instanceof ImageData) {
    return { data: source.data, width: source.width, height: source.height };
  }
  const size = sizeOf(source);
  if (!size) throw new ContractError("bad_source", `source ${index} is not an image, canvas, bitmap, video or ImageData`);
  let [width, height] = size;
  if (!(width > 0 && height > 0)) throw new ContractError("bad_source", `source ${index} is empty (${width}x${height})`);
  let drawable = source, temporary = null;
  if (typeof HTMLImageElement !== "undefined" && source instanceof HTMLImageElement) {
    // re-decode without the image's colour profile, as Python (Pillow) reads it; upright by
    // its EXIF orientation, as the <img> shows it (and as Python reads it: preprocess.SPEC)
    try {
      temporary = await createImageBitmap(source, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
      drawable = temporary;
      // every decoded pixel: a JPEG whose EXIF gives another resolution (144 dpi and half the
      // pixel size, say) has a "density-corrected" naturalWidth that would shrink it
      width = temporary.width;
      height = temporary.height;
    } catch {
      drawable = source;
    }
  }
  try {
    const ctx = scratchContext(width, height);
    // Canvas 2D stores premultiplied alpha: opaque pixels come back exact, translucent ones
    // may be off by a rounding step before they are composited over the background.
    ctx.drawImage(drawable, 0, 0, width, height);
    return { data: ctx.getImageData(0, 0, width, height).data, width, height };
  } catch (e) {
    if (e?.name === "SecurityError") throw new ContractError("cross_origin", `source ${index} is cross-origin without CORS: its pixels cannot be read`);
    throw e;
  } finally {
    temporary?.close();
  }
}

/** An image file as an ImageBitmap, decoded as Python decodes it (no colour profile, no premultiply, upright). */
export async function bitmapFromUrl(url) {
  const blob = await (await fetch(url)).blob();
  return createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
}
