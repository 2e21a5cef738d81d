// OpenCV in the page: OpenCV.js (@opencvjs/web, the wasm build of the same OpenCV version as
// Python's opencv-python-headless), loaded on first need, once per page. It runs OpenCV's own
// ArUco detector, with the same dictionary and parameters as Python's cv2.aruco.ArucoDetector,
// and the frame search without markers (the frame model's snapping and the outline search).

import { SorobanError } from "../errors.js";
import { MARKERS } from "./spec.js";

const FILE = "opencv_js.js"; // the ES module @opencvjs/web ships, its wasm inside
const DEFAULT_URL = new URL(`../../node_modules/@opencvjs/web/lib/${FILE}`, import.meta.url).href;
// the spec's parameters, set alike in Python (markers.py); "about" says why
const PARAMETERS = Object.fromEntries(Object.entries(MARKERS.detector_parameters).filter(([name]) => name !== "about"));
let loading = null; // one OpenCV.js per page: every reader shares it (about 13 MB, 3.8 MB gzipped)

/** The URL of OpenCV.js: a folder (its lib/, holding opencv_js.js) or the file itself. */
function moduleUrl(url) {
  if (url == null) return DEFAULT_URL;
  const href = new URL(url, globalThis.location?.href ?? import.meta.url).href;
  return href.endsWith(".js") ? href : new URL(FILE, href.endsWith("/") ? href : href + "/").href;
}

/** The OpenCV version of the loaded build ("5.0.0"), from its build information. */
function versionOf(cv) {
  return /General configuration for OpenCV (\S+)/.exec(cv.getBuildInformation?.() ?? "")?.[1] ?? "unknown";
}

async function load(url) {
  let factory;
  try {
    ({ default: factory } = await import(url));
  } catch (e) {
    throw new SorobanError("no_marker_detector", `cannot load OpenCV.js, which finds the markers and the frame without them, from ${url}: ${e?.message ?? e}`);
  }
  const cv = await factory();
  const version = versionOf(cv);
  if (version !== MARKERS.opencv) {
    throw new SorobanError("no_marker_detector", `OpenCV.js at ${url} is OpenCV ${version}; the frame is found with OpenCV ${MARKERS.opencv}, as in Python`);
  }
  if (typeof cv.aruco_ArucoDetector !== "function") {
    throw new SorobanError("no_marker_detector", `OpenCV.js at ${url} was built without the ArUco detector (objdetect)`);
  }
  return cv;
}

/** OpenCV.js, loaded once per page (a failed load is tried again next time). */
export async function loadOpenCV(url) {
  loading ??= load(moduleUrl(url)).catch((e) => {
    loading = null;
    throw e;
  });
  return loading;
}

/**
 * An ArUco detector for the spec's dictionary with OpenCV's default parameters, those of the
 * spec's detector_parameters set, as Python builds it (markers.detector_parameters). For a
 * region (`regionSide` the longer side of a box of an image whose longer side is `imageSide`):
 * OpenCV takes (int)(rate * the longer side) as its marker perimeter limits, so the rates are
 * set to give the region the whole image's limits, to the pixel.
 */
export function arucoDetector(cv, imageSide = null, regionSide = null) {
  const params = new cv.aruco_DetectorParameters();
  for (const [name, value] of Object.entries(PARAMETERS)) {
    if (!(name in params)) throw new SorobanError("no_marker_detector", `OpenCV.js has no ArUco detector parameter ${name}`);
    params[name] = value;
  }
  if (regionSide !== null && regionSide !== imageSide) {
    params.minMarkerPerimeterRate = (Math.floor(params.minMarkerPerimeterRate * imageSide) + 0.5) / regionSide;
    params.maxMarkerPerimeterRate = (Math.floor(params.maxMarkerPerimeterRate * imageSide) + 0.5) / regionSide;
  }
  const dictionary = cv.getPredefinedDictionary(cv[MARKERS.dictionary]);
  const refine = new cv.aruco_RefineParameters(10, 3, true); // OpenCV's defaults; detectMarkers does not use them
  const detector = new cv.aruco_ArucoDetector(dictionary, params, refine);
  for (const o of [params, dictionary, refine]) o.delete();
  return detector;
}

/**
 * ArucoDetector.detectMarkers on an 8-bit gray image (`u8`, row-major, `width` wide) or on the
 * box [x0, y0, w, h] of it: {id: the marker's 4 corners [x, y] in image pixels, float32 values},
 * and the ids seen more than once.
 */
export function detectMarkers(cv, detector, u8, width, [x0, y0, w, h]) {
  const image = new cv.Mat(h, w, cv.CV_8UC1);
  const corners = new cv.MatVector(), ids = new cv.Mat(), rejected = new cv.MatVector();
  try {
    const data = image.data;
    if (x0 === 0 && w === width) data.set(u8.subarray(y0 * width, (y0 + h) * width));
    else for (let y = 0; y < h; y++) data.set(u8.subarray((y0 + y) * width + x0, (y0 + y) * width + x0 + w), y * w);
    detector.detectMarkers(image, corners, ids, rejected);
    const found = {}, twice = [];
    for (let i = 0; i < ids.total(); i++) {
      const id = ids.data32S[i];
      const c = corners.get(i);
      const q = c.data32F;
      if (id in found) twice.push(id);
      found[id] = [0, 1, 2, 3].map((k) => [q[2 * k] + x0, q[2 * k + 1] + y0]);
      c.delete();
    }
    return { found, twice };
  } finally {
    for (const o of [image, corners, ids, rejected]) o.delete();
  }
}

/**
 * The 8-bit gray `u8` (row-major, `width` x `height`) resized `k` times by OpenCV's
 * INTER_LINEAR_EXACT, bit-exact on every platform and so the same bytes as Python's
 * cv2.resize: {u8, width, height} of the larger image.
 */
export function upscaled(cv, u8, width, height, k) {
  const src = new cv.Mat(height, width, cv.CV_8UC1), dst = new cv.Mat();
  try {
    src.data.set(u8.subarray(0, width * height));
    cv.resize(src, dst, new cv.Size(0, 0), k, k, cv.INTER_LINEAR_EXACT);
    return { u8: new Uint8ClampedArray(dst.data), width: dst.cols, height: dst.rows };
  } finally {
    src.delete();
    dst.delete();
  }
}
