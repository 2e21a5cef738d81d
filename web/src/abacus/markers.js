// The frame from ArUco markers (frame.find_markers), found with js-aruco2: ids 0-3 clockwise
// from the frame's top-left, the frame corner diagonally inside each marker. Three markers
// give the fourth corner by a perspective fit (missing-corner.js).

import { SorobanError } from "../errors.js";
import { rint } from "../numeric/round.js";
import { missingCorner } from "./missing-corner.js";
import { frameNotFound, MARKERS } from "./spec.js";

const DICTIONARY = "SOROBAN_" + MARKERS.dictionary.replace(/^DICT_/, ""); // our name for it in js-aruco2
const [BITS, CODES] = dictionarySize(MARKERS.dictionary);
const IDS = MARKERS.ids; // clockwise from the frame's top-left
const OFFSET = MARKERS.frame_corner_offset; // the frame corner is marker corner (id + OFFSET) % 4

/** "DICT_4X4_50" -> [16 bits, 50 codes]: js-aruco2 has them as the first codes of its 4x4_1000. */
function dictionarySize(name) {
  const m = /^DICT_4X4_(\d+)$/.exec(name);
  if (!m || Number(m[1]) > 1000) throw new Error(`abacus/spec.json: js-aruco2 has no ${name}`);
  return [16, Number(m[1])];
}

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = url;
    s.onload = resolve;
    s.onerror = () => reject(new SorobanError("no_marker_detector", `cannot load ${url}`));
    document.head.append(s);
  });
}

/**
 * js-aruco2 (classic scripts that define the globals CV and AR), from our own origin unless
 * the page already included them, set up for the spec's dictionary (DICT_4X4_50 = the first 50
 * codes of 4X4_1000).
 */
export async function loadMarkerDetector(arucoUrl) {
  if (!globalThis.AR?.DICTIONARIES?.ARUCO_4X4_1000) {
    const base = arucoUrl ?? new URL("../../node_modules/js-aruco2/src/", import.meta.url).href;
    const folder = base.endsWith("/") ? base : base + "/";
    if (!globalThis.CV) await loadScript(new URL("cv.js", folder).href);
    if (!globalThis.AR) await loadScript(new URL("aruco.js", folder).href);
    await loadScript(new URL("dictionaries/aruco_4x4_1000.js", folder).href);
  }
  const { AR, CV } = globalThis;
  if (!AR?.DICTIONARIES?.ARUCO_4X4_1000) {
    throw new SorobanError("no_marker_detector", "js-aruco2 did not load (AR.DICTIONARIES.ARUCO_4X4_1000 is missing)");
  }
  AR.DICTIONARIES[DICTIONARY] ??= { nBits: BITS, tau: null, codeList: AR.DICTIONARIES.ARUCO_4X4_1000.codeList.slice(0, CODES) };
  // exact codes only (OpenCV corrects no bit of a 4x4_50 marker either): no false ids in clutter
  const detector = new AR.Detector({ dictionaryName: DICTIONARY, maxHammingDistance: 1 });
  return { AR, CV, detector, scratch: {}, previous: null };
}

/** Markers in one thresholding pass: js-aruco2's detect(), on our own 8-bit gray. */
function detectPass(d, image, kernel, fullWidth) {
  const { CV, detector } = d;
  const thres = new CV.Image(image.width, image.height, scratch(d, "thres", image.width * image.height, Uint8ClampedArray));
  const binary = scratch(d, "binary", (image.width + 2) * (image.height + 2), Int32Array);
  detector.grey = image;
  CV.adaptiveThreshold(image, thres, kernel, 7);
  detector.contours = CV.findContours(thres, binary);
  let candidates = detector.findCandidates(detector.contours, fullWidth * 0.01, 0.05, 10);
  candidates = detector.clockwiseCorners(candidates);
  candidates = detector.notTooNear(candidates, 10);
  return detector.findMarkers(image, candidates, 49);
}

/** A reusable typed buffer of at least n elements (js-aruco2 expects arrays it can index). */
function scratch(d, name, n, Type) {
  const b = d.scratch?.[name];
  if (b && b.length >= n) return b.length === n ? b : b.subarray(0, n);
  (d.scratch ??= {})[name] = new Type(n);
  return d.scratch[name];
}

/**
 * Markers (the spec's ids, 0-3) inside one region of the 8-bit image: a pass with a 5x5
 * threshold window, then, for the ids still missing, one with a 9x9 window (OpenCV also tries
 * several windows). Returns {id: the marker's 4 corners in image pixels}.
 */
function detectRegion(d, u8, width, [x0, y0, w, h], want) {
  let image;
  if (x0 === 0 && y0 === 0 && w === width) {
    image = new d.CV.Image(w, h, u8.subarray(0, w * h));
  } else {
    const part = new Uint8ClampedArray(w * h);
    for (let y = 0; y < h; y++) part.set(u8.subarray((y0 + y) * width + x0, (y0 + y) * width + x0 + w), y * w);
    image = new d.CV.Image(w, h, part);
  }
  const found = {};
  for (const kernel of [2, 4]) {
    const seen = new Map();
    for (const m of detectPass(d, image, kernel, width)) {
      if (!IDS.includes(m.id)) continue;
      const corners = m.corners.map((c) => [c.x + x0, c.y + y0]);
      if (seen.has(m.id)) {
        // the inner outline of a marker already found decodes to its id too: the same marker
        if (sameMarker(seen.get(m.id), corners)) continue;
        throw frameNotFound("two_sorobans", { why: "a frame marker id appears twice" });
      }
      seen.set(m.id, corners);
      found[m.id] ??= corners;
    }
    if (want.every((id) => id in found)) break;
  }
  return found;
}

/** Two outlines of one marker: their centres are closer than half the first one's side. */
function sameMarker(a, b) {
  const centre = (q) => [q.reduce((s, p) => s + p[0], 0) / 4, q.reduce((s, p) => s + p[1], 0) / 4];
  const [ca, cb] = [centre(a), centre(b)];
  const side = Math.sqrt((a[1][0] - a[0][0]) ** 2 + (a[1][1] - a[0][1]) ** 2);
  return Math.sqrt((ca[0] - cb[0]) ** 2 + (ca[1] - cb[1]) ** 2) < side / 2;
}

/** The box around a marker, grown by its own size on each side (the blur and the contour stay inside). */
function regionAround(corners, width, height) {
  const xs = corners.map((p) => p[0]), ys = corners.map((p) => p[1]);
  const side = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  const grow = Math.max(12, Math.ceil(side));
  const x0 = Math.max(0, Math.floor(Math.min(...xs)) - grow), y0 = Math.max(0, Math.floor(Math.min(...ys)) - grow);
  const x1 = Math.min(width, Math.ceil(Math.max(...xs)) + grow + 1), y1 = Math.min(height, Math.ceil(Math.max(...ys)) + grow + 1);
  return [x0, y0, x1 - x0, y1 - y0];
}

/**
 * Frame corners from the markers (frame.find_markers): the marker corner nearest the frame
 * is (id + 2) % 4 (the spec's frame_corner_offset); with three markers the fourth corner is
 * estimated (missingCorner).
 * The 8-bit image is np.clip(np.rint(gray), 0, 255), as in Python.
 * With `track` (video), the four markers are first looked for only around where they were
 * in the previous frame; the contours there, and so the corners, are the same as in a
 * search of the whole frame, at a tenth of the cost. If any is missing, the whole frame is searched.
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
      const found = detectRegion(d, u8, width, regionAround(previous.markers[id], width, height), [id]);
      if (!(id in found)) {
        markers = null;
        break;
      }
      markers[id] = found[id];
    }
  }
  markers ??= detectRegion(d, u8, width, [0, 0, width, height], IDS);
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
