// The whole-soroban reader: a photo or a camera frame -> the number. It ports
// src/soroban_vision/abacus.py step for step, with the same float64 arithmetic in the same
// order, so Python and the browser cut the same column crops from the same file and read the
// same number:
//
//   const reader = await loadAbacusReader("/model/", { backend: "wasm" });
//   const r = await reader.read(video);  // {number, text, digits, columns, corners, method, rods, ms, ...}
//
// 1. Frame (locate.js): four corners the caller gives, ArUco markers (markers.js), or, with no
//    markers, the frame model's corners snapped to the frame's edges (frame/locate.js), and
//    where it sees none, the outline search (outline.js): up to three frames, the one read most
//    confidently kept. Nothing after this step knows which.
// 2. Rods (rods.js): the rectified frame's column profile, its period, the (rods, side rail) fit.
// 3. Columns (crops.js): every candidate layout's crops, sampled straight from the photo
//    through a homography, classified in ONE model call; the layout read most confidently wins
//    (rods.js chooseCount has the last word on the count, and says how sure it is).
// 4. Flags (flags.js): a column below the confidence threshold is "hidden" (so is, in a reading
//    with a hidden column, any other that is not quite sure, and one whose digit changes when its
//    crop moves a few pixels: its shifted crops are read in one more model call), one whose crop
//    is partly outside the image "out_of_frame"; neither is a digit. A count with many hidden
//    columns is unsure. `number` is null unless every column is read, and `text` marks the
//    unread columns: "12?45".

import { decode } from "../classifier/decode.js";
import { loadColumnClassifier } from "../classifier/load.js";
import { pixelsOf } from "../classifier/pixels.js";
import { ContractError } from "../errors.js";
import { pairwiseSum } from "../numeric/numpy.js";
import { roundPoints } from "../numeric/round.js";
import { beyondEndCrops, layoutCrops, shiftedCrops } from "./crops.js";
import { columnStatus, columnStatuses, HIDDEN, needsViews, numberOf, numberText, OUT_OF_FRAME, outsideShare, READ } from "./flags.js";
import { locate } from "./locate.js";
import { loadMarkerDetector, MARKER_METHODS } from "./markers.js";
import { loadOpenCV } from "./opencv.js";
import { loadFrameDetector } from "../frame/load.js";
import { FrameTrack } from "../frame/track.js";
import { prepare } from "./photo.js";
import { chooseCount, withBeyond, withHidden } from "./rods.js";
import { FLAGS, LOW_CONFIDENCE, MARKER_MODES, MAX_COLUMNS, MIN_COLUMNS, spec, usageError, warningText } from "./spec.js";

const OUTLINE = spec.frame_search.outline;
const SURE = Math.log(OUTLINE.sure); // mean log confidence of a likeliest frame that needs no other

/**
 * Load the column classifier (contract, checksums, golden self-check) and, unless markers
 * are "off", the marker detector. Options: backend ("wasm"), markers ("auto" | "on" | "off",
 * as in Python), threshold (LOW_CONFIDENCE), classifier (an already loaded column classifier
 * to share), arucoUrl (the folder of @opencvjs/web's lib/, holding opencv_js.js), frameModel
 * (the URL of an exported frame model's folder, to read without markers; or frameDetector, one
 * loaded with loadFrameDetector to share).
 */
export async function loadAbacusReader(baseUrl, options = {}) {
  const markers = options.markers ?? "auto";
  checkMarkers(markers);
  const classifier = options.classifier ?? (await loadColumnClassifier(baseUrl, options));
  let reader, frameDetector = options.frameDetector ?? null;
  try {
    if (!frameDetector && options.frameModel) frameDetector = await loadFrameDetector(options.frameModel, options);
    reader = new AbacusReader(classifier, { ...options, markers, owns: !options.classifier });
    if (markers === "auto" || markers === "on") await reader.markerDetector();
    if (frameDetector) reader.frame = { detector: frameDetector, cv: await loadOpenCV(options.arucoUrl), owns: !options.frameDetector, track: new FrameTrack() };
    else if (markers === "off") await loadOpenCV(options.arucoUrl); // the outline search's: a bad URL fails here, not on a read
  } catch (e) {
    if (!options.classifier) classifier.dispose();
    if (frameDetector && !options.frameDetector) frameDetector.dispose();
    throw e;
  }
  return reader;
}

class AbacusReader {
  constructor(classifier, { markers, threshold = LOW_CONFIDENCE, arucoUrl, owns }) {
    this.classifier = classifier;
    this.markers = markers;
    this.threshold = threshold;
    this.arucoUrl = arucoUrl;
    this.owns = owns;
    this.detector = null;
    this.frame = null; // {detector, cv, owns, track}: the frame model, to read without markers
    const crop = classifier.contract.preprocessing?.crop?.width_pitches;
    if (!(crop > 0)) {
      throw new ContractError("contract_unsupported", "the contract gives no crop width (preprocessing.crop.width_pitches)");
    }
    this.spec = { ...classifier.spec, cropPitches: crop };
  }

  async markerDetector() {
    this.detector ??= await loadMarkerDetector(this.arucoUrl);
    return this.detector;
  }

  /**
   * Read the number on the soroban in `source` (ImageData, image, canvas, bitmap, video or
   * VideoFrame). Options: columns (1-31, else fitted), corners (the frame's four corners in
   * the source's pixels, clockwise from the top-left: always used as given, whatever
   * `markers` says), markers (overrides the loader's), threshold, track (a video: look for
   * the markers where they were in the previous frame first, same corners, less work; and
   * keep the frame model's frame while the model sees it still, frame/track.js; the outline
   * search, which can take a second, does not run),
   * debug (adds the layouts and the chosen crops).
   * Throws FrameNotFound when there is no soroban to read, UsageError on a bad option.
   */
  async read(source, options = {}) {
    const t0 = performance.now();
    const markers = options.markers ?? this.markers;
    checkMarkers(markers);
    const columns = checkColumns(options.columns ?? null);
    const threshold = options.threshold ?? this.threshold;
    const times = {};
    let t = t0;
    const lap = (name) => {
      const now = performance.now();
      times[name] = (times[name] ?? 0) + now - t; // summed: each frame the outline search gives is read
      t = now;
    };

    const { data, width, height } = await pixelsOf(source);
    lap("pixels");
    const photo = prepare(data, width, height, this.spec);
    lap("prepare");
    const given = options.corners == null ? null : photo.fromPhoto(checkCorners(options.corners));
    const detector = given === null && markers !== "off" ? await this.markerDetector() : null;
    const frame = markers === "on" ? null : this.frame;
    // OpenCV.js for the outline search, when a photo may need it (never in a video)
    const search = given === null && markers !== "on" && options.track !== true;
    const cv = search ? (this.frame?.cv ?? (await loadOpenCV(this.arucoUrl))) : null;
    const { frames, method, warnings } = await locate(photo, columns, markers, given, detector, options.track === true, frame, cv);
    lap("locate");
    const best = await this.mostConfidentFrame(photo, frames, columns !== null, lap);
    const { corners, layouts, crops } = best;

    const quads = best.quadsOf[best.k];
    const confidences = best.results.map((r) => r.confidence);
    const outsides = quads.map((q) => outsideShare(q, photo.width, photo.height));
    const steady = await this.steady(photo, best.homsOf[best.k], best.results, needsViews(confidences, outsides, threshold));
    lap("views");
    const statuses = columnStatuses(confidences, outsides, threshold, steady);
    const cols = best.results.map((r, i) => ({
      index: i,
      status: statuses[i],
      digit: statuses[i] === READ ? r.digit : null,
      confidence: r.confidence,
      quad: roundPoints(photo.toPhoto(quads[i])),
      heaven: r.heaven,
      earth: r.earth,
      steady: steady[i],
    }));
    // hidden by its own reading, not only for another's
    let rods = withHidden(best.rods, confidences.map((c, i) => columnStatus(c, outsides[i], threshold, steady[i]) === HIDDEN));
    if (!MARKER_METHODS.includes(method) && columns === null) { // markers mark the frame's true ends
      rods = await this.beyondEnds(photo, corners, layouts[best.k], rods);
      lap("ends");
    }
    if (options.track === true && this.frame) tracked(this.frame.track, method, rods, cols);
    warnings.push(...flagWarnings(cols, rods));
    const digits = cols.map((c) => c.digit);
    const text = numberText(digits);
    const reading = {
      number: numberOf(text),
      text,
      digits,
      columns: cols,
      corners: roundPoints(photo.toPhoto(corners)),
      method,
      rods,
      warnings,
      ms: performance.now() - t0,
      times,
    };
    if (options.debug) {
      const size = this.spec.width * this.spec.height;
      reading.debug = {
        factor: photo.factor,
        workingCorners: corners.map((p) => [p[0], p[1]]),
        layouts: layouts.map(({ rods, sideFrac, score, meanLogConfidence }) => ({ rods, sideFrac, score, meanLogConfidence })),
        chosen: best.k,
        crops: crops.slice(best.start * size, (best.start + best.results.length) * size),
      };
    }
    return reading;
  }

  /**
   * Of the frames found, the one read most confidently, with its chosen layout (abacus/read.py
   * _most_confident): the frame, among the likeliest few, is settled by the column model itself,
   * since misplaced crops read with low confidence; another frame must read better by a margin,
   * and none is read once one reads surely. {corners, layouts, crops, quadsOf, homsOf, k, start,
   * results, rods}.
   */
  async mostConfidentFrame(photo, frames, given, lap) {
    let best = null;
    for (const [f, { corners, layouts }] of frames.entries()) {
      if (f > 0 && best.log >= SURE) break; // the likeliest frame reads well: the others are not looked at
      const { crops, total, quadsOf, homsOf } = layoutCrops(photo, corners, layouts, this.spec);
      lap("crops");
      const readings = await this.readCrops(crops, total);
      lap("model");
      const chosen = mostConfident(layouts, readings, given);
      const log = layouts[chosen.k].meanLogConfidence - (f > 0 ? OUTLINE.other_frame_margin : 0.0); // a part of the soroban may read well too
      if (best === null || log > best.log) best = { log, corners, layouts, crops, quadsOf, homsOf, ...chosen };
    }
    return best;
  }

  /** The column model's readings (digit, confidence, heads) of `n` crops in one batch. */
  async readCrops(crops, n) {
    const { heaven, earth } = await this.classifier.infer(crops, n);
    return decode(heaven, earth, this.classifier.heads.threshold, this.classifier.heads.calibration);
  }

  /**
   * abacus.read._steady: whether each column's digit is read again from every one of its
   * shifted crops (FLAGS.steady_shifts), for the columns `viewed` says, all in one model call.
   */
  async steady(photo, homs, results, viewed) {
    const shifts = FLAGS.steady_shifts;
    const which = homs.map((_, i) => i).filter((i) => viewed[i]);
    const steady = homs.map(() => true);
    if (which.length === 0 || shifts.length === 0) return steady;
    const { crops, n } = shiftedCrops(photo, which.map((i) => homs[i]), shifts, this.spec);
    const views = await this.readCrops(crops, n);
    which.forEach((i, k) => {
      steady[i] = views.slice(k * shifts.length, (k + 1) * shifts.length).every((v) => v.digit === results[i].digit);
    });
    return steady;
  }

  /** abacus.read._beyond_ends: the count once the crops one pitch past its first and last rods are read. */
  async beyondEnds(photo, corners, layout, rods) {
    const { crops, quads } = beyondEndCrops(photo, corners, layout, this.spec);
    const readings = await this.readCrops(crops, quads.length);
    const outsides = quads.map((q) => outsideShare(q, photo.width, photo.height));
    return withBeyond(rods, readings.map((r) => r.confidence), outsides);
  }

  /**
   * Start another video: what `track` remembers of the last one (where its markers were, the
   * frame kept) is forgotten. Returns how many frames that video read with a kept frame.
   */
  newVideo() {
    if (this.detector) this.detector.previous = null;
    const kept = this.frame?.track.kept ?? 0;
    if (this.frame) this.frame.track = new FrameTrack();
    return kept;
  }

  dispose() {
    if (this.owns) this.classifier?.dispose();
    if (this.frame?.owns) this.frame.detector.dispose();
    this.classifier = null;
    this.frame = null;
  }
}

/**
 * The layout read most confidently (mean log confidence), the first one on a tie, unless
 * chooseCount prefers another count: {k, start, results, rods}.
 */
function mostConfident(layouts, readings, given) {
  const starts = [];
  let start = 0;
  for (const layout of layouts) {
    const logs = new Float64Array(layout.rods);
    for (let i = 0; i < layout.rods; i++) logs[i] = Math.log(Math.max(readings[start + i].confidence, 1e-6));
    layout.meanLogConfidence = pairwiseSum(logs, 0, logs.length) / logs.length;
    starts.push(start);
    start += layout.rods;
  }
  const { chosen: k, rods } = chooseCount(layouts, layouts.map((l) => l.meanLogConfidence), given);
  return { k, start: starts[k], results: readings.slice(starts[k], starts[k] + layouts[k].rods), rods };
}

/** abacus.read._flag_warnings: which columns are not read, and why the rod count is unsure. */
function flagWarnings(cols, rods) {
  const warnings = [];
  for (const [status, warning] of [[HIDDEN, "columns_hidden"], [OUT_OF_FRAME, "columns_out_of_frame"]]) {
    const which = cols.filter((c) => c.status === status).map((c) => c.index);
    if (which.length) warnings.push(warningText(warning, { columns: `[${which.join(", ")}]` }));
  }
  if (rods.doubt !== null) {
    const fields = { count: rods.count, rival: rods.rival, hidden: Math.round(rods.hiddenShare * rods.count) };
    warnings.push(warningText(`rods_${rods.doubt}`, fields));
  }
  return warnings;
}

function checkMarkers(markers) {
  if (!MARKER_MODES.includes(markers)) throw usageError("bad_markers", { markers: JSON.stringify(markers) });
}

function checkColumns(columns) {
  if (columns !== null && !(Number.isInteger(columns) && columns >= MIN_COLUMNS && columns <= MAX_COLUMNS)) {
    throw usageError("bad_columns", { min: MIN_COLUMNS, max: MAX_COLUMNS, columns });
  }
  return columns;
}

function checkCorners(corners) {
  const ok = Array.isArray(corners) && corners.length === 4 &&
    corners.every((p) => (Array.isArray(p) || ArrayBuffer.isView(p)) && p.length === 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]));
  if (!ok) throw usageError("bad_corners");
  return corners.map((p) => [Number(p[0]), Number(p[1])]);
}

/**
 * Tell a video's FrameTrack how its frame read (abacus/read.py _tracked): the frame model's frame
 * is kept once a reading is sure of its rods with every column read (a given count is never
 * unsure); markers or given corners make the kept frame stale (a video runs no outline search).
 */
function tracked(track, method, rods, cols) {
  if (method === "model") track.read(!rods.uncertain && cols.every((c) => c.status === READ));
  else track.forget();
}
