// The frame from ArUco markers (abacus/markers.py find_markers), found by OpenCV's own
// ArucoDetector (opencv.js: the same OpenCV version as Python's, the same dictionary and
// parameters), so both sides see the same marker corners to the last bit: ids 0-3 clockwise
// from the frame's top-left, the frame corner diagonally inside each marker. Three markers
// give the fourth corner by a perspective fit (missing-corner.js).

import { rint } from "../numeric/round.js";
import { missingCorner } from "./missing-corner.js";
import { arucoDetector, detectMarkers, loadOpenCV, upscaled } from "./opencv.js";
import { frameNotFound, MARKERS } from "./spec.js";

const IDS = MARKERS.ids; // clockwise from the frame's top-left
export const MARKER_METHODS = MARKERS.methods; // a reading's method when its frame came from the markers
const OFFSET = MARKERS.frame_corner_offset; // the frame corner is marker corner (id + OFFSET) % 4
const UPSCALE = MARKERS.upscale; // the second look's scale when some markers are found, not all
const UPSCALE_BELOW_PX = MARKERS.upscale_below_px; // ... and those found are this small

/**
 * The marker detector: OpenCV.js, loaded on first need and shared by every reader of the page,
 * from `url` (the folder of @opencvjs/web's lib/, or opencv_js.js itself; by default the
 * node_modules/ next to web/). SorobanError `no_marker_detector` when it cannot be loaded.
 */
export async function loadMarkerDetector(url) {
  const cv = await loadOpenCV(url);
  return { cv, detector: arucoDetector(cv), scratch: {}, previous: null };
}

/** A reusable typed buffer of n elements. */
function scratch(d, name, n, Type) {
  const b = d.scratch?.[name];
  if (b && b.length >= n) return b.length === n ? b : b.subarray(0, n);
  (d.scratch ??= {})[name] = new Type(n);
  return d.scratch[name];
}

/**
 * The spec's markers in one box [x0, y0, w, h] of the 8-bit image: {id: its 4 corners}. A box
 * smaller than the image gets a detector whose perimeter limits mean the same pixels as the
 * whole image's; with a margin of a marker's side around it, the box gives the same contours,
 * and so the same corners, as the whole image (tests/test_markers.py checks it).
 */
function detectRegion(d, u8, width, height, box) {
  const whole = box[2] === width && box[3] === height;
  const detector = whole ? d.detector : arucoDetector(d.cv, Math.max(width, height), Math.max(box[2], box[3]));
  try {
    const { found, twice } = detectMarkers(d.cv, detector, u8, width, box);
    if (twice.some((id) => IDS.includes(id))) throw frameNotFound("two_sorobans", { why: "a frame marker id appears twice" });
    return Object.fromEntries(IDS.filter((id) => id in found).map((id) => [id, found[id]]));
  } finally {
    if (!whole) detector.delete();
  }
}

/** The box around a marker, grown by its own size (at least 12 px, half the widest threshold window) on each side. */
function regionAround(corners, width, height) {
  const xs = corners.map((p) => p[0]), ys = corners.map((p) => p[1]);
  const side = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  const grow = Math.max(12, Math.ceil(side));
  const x0 = Math.max(0, Math.floor(Math.min(...xs)) - grow), y0 = Math.max(0, Math.floor(Math.min(...ys)) - grow);
  const x1 = Math.min(width, Math.ceil(Math.max(...xs)) + grow + 1), y1 = Math.min(height, Math.ceil(Math.max(...ys)) + grow + 1);
  return [x0, y0, x1 - x0, y1 - y0];
}

/** The markers' mean side length in pixels, summed in id order (markers.py _mean_side). */
function meanSide(markers) {
  const ids = Object.keys(markers).map(Number).sort((a, b) => a - b);
  let total = 0;
  for (const id of ids) {
    const q = markers[id];
    let sides = 0;
    for (let k = 0; k < 4; k++) {
      const dx = q[(k + 1) % 4][0] - q[k][0], dy = q[(k + 1) % 4][1] - q[k][1];
      sides += Math.sqrt(dx * dx + dy * dy); // not Math.hypot, which may round otherwise than Python
    }
    total += sides / 4;
  }
  return total / ids.length;
}

/** The markers of the image looked at UPSCALE times its size, their corners mapped back to the image's pixels. */
function lookCloser(d, u8, width, height) {
  const big = upscaled(d.cv, u8, width, height, UPSCALE);
  const found = detectRegion(d, big.u8, big.width, big.height, [0, 0, big.width, big.height]);
  const back = (v) => (v + 0.5) / UPSCALE - 0.5; // pixel centres, as markers.py maps them
  return Object.fromEntries(Object.entries(found).map(([id, c]) => [id, c.map(([x, y]) => [back(x), back(y)])]));
}

/**
 * Frame corners from the markers (markers.find_markers): the marker corner nearest the frame
 * is (id + 2) % 4 (the spec's frame_corner_offset); with three markers the fourth corner is
 * estimated (missingCorner).
 * The 8-bit image is np.clip(np.rint(gray), 0, 255), as in Python.
 * With `track` (video), the four markers are first looked for only around where they were
 * in the previous frame; the contours there, and so the corners, are the same as in a
 * search of the whole frame, at a tenth of the cost. If any is missing, the whole frame is searched.
 * When that finds some markers but not all, and they are small (upscale_below_px), the image is
 * looked at again, UPSCALE times larger (the spec's markers.upscale), and the markers found only
 * there are added, as in Python.
 */
export function findMarkers(photo, d, { track = false } = {}) {
  const { width, height, gray } = photo;
  const n = width * height;
  const u8 = scratch(d, "u8", n, Uint8ClampedArray);
  for (let i = 0; i < n; i++) u8[i] = rint(gray[i]); // Uint8ClampedArray clips to 0..255
  let markers = null;
  const previous = d.previous;
  d.previous = null;
  if (track && previous && previous.width === width && previous.height === height) {
    markers = {};
    for (const id of IDS) {
      const found = detectRegion(d, u8, width, height, regionAround(previous.markers[id], width, height));
      if (!(id in found)) {
        markers = null;
        break;
      }
      markers[id] = found[id];
    }
  }
  markers ??= detectRegion(d, u8, width, height, [0, 0, width, height]);
  const seen = Object.keys(markers).length;
  if (seen > 0 && seen < IDS.length && UPSCALE > 1 && meanSide(markers) < UPSCALE_BELOW_PX) {
    markers = { ...lookCloser(d, u8, width, height), ...markers }; // those found in the image keep their corners
  }
  const found = Object.fromEntries(Object.entries(markers).map(([id, c]) => [id, c[(Number(id) + OFFSET) % 4]]));
  const ids = Object.keys(found).map(Number);
  if (ids.length === 4) {
    d.previous = { width, height, markers };
    return { corners: IDS.map((i) => found[i]), method: "markers", warnings: [] };
  }
  if (ids.length === 3) {
    const missing = IDS.find((i) => !(i in found));
    found[missing] = missingCorner(markers, missing);
    return {
      corners: IDS.map((i) => found[i]),
      method: "markers-3",
      warnings: [`marker ${missing} not found; its corner was estimated from the other three`],
    };
  }
  return { corners: null, method: "", warnings: [] };
}
