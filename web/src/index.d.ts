// Types of the public surface (index.js). Everything else under src/ is internal.
// TF.js is a peer dependency: pass your `tf` as an option, or load tf.min.js so that it is global.

import type * as tfjs from "@tensorflow/tfjs";

/**
 * The TensorFlow.js namespace: `import * as tf from "@tensorflow/tfjs"`, or the page's global `tf`.
 * For the wasm backend, with `wasm` beside it as tf-backend-wasm.min.js leaves the global `tf`:
 * `{ ...tf, wasm }` with `import * as wasm from "@tensorflow/tfjs-backend-wasm"`.
 */
export type TensorFlow = typeof tfjs & {
  wasm?: { setWasmPaths(paths: string | Record<string, string>, usePlatformFetch?: boolean): void };
};

/** wasm (the default, needs @tensorflow/tfjs-backend-wasm), cpu, webgl, or webgl with half-float textures. */
export type Backend = "wasm" | "cpu" | "webgl" | "webgl-f16";

/** auto: markers when found, else corners must be given; on: markers only; off: never markers. */
export type MarkerMode = "auto" | "on" | "off";

/** [x, y] in the source's pixels. */
export type Point = [number, number];

/** Anything the library reads pixels from: one column crop, or a photo or video frame. */
export type ImageSource =
  | ImageData
  | HTMLImageElement
  | HTMLCanvasElement
  | HTMLVideoElement
  | OffscreenCanvas
  | ImageBitmap
  | VideoFrame;

/** tfjs-backend-wasm's three binaries, each by file name -> its URL. */
export interface WasmPaths {
  "tfjs-backend-wasm.wasm": string;
  "tfjs-backend-wasm-simd.wasm": string;
  "tfjs-backend-wasm-threaded-simd.wasm": string;
}

export interface ClassifierOptions {
  /** Default "wasm". One backend per page: it is chosen before any tensor exists. */
  backend?: Backend;
  /** The TF.js namespace to use; default: the global `tf`. */
  tf?: TensorFlow;
  /**
   * Where tfjs-backend-wasm's .wasm binaries are, on your own origin: their folder's URL, or each
   * file's URL by name (a bundler's own URLs, e.g. esbuild's file loader). In a bundle, give it:
   * the default, node_modules/ beside this library, exists only when node_modules is served as is.
   */
  wasmPaths?: string | WasmPaths;
  /** Overrides the contract's golden-vector tolerance for this backend. */
  tolerance?: number;
}

/** One column: digit = 5 * heaven.active + earth.count, confidence = max(p, 1 - p) * max(earth.probs). */
export interface ColumnReading {
  digit: number;
  confidence: number;
  heaven: { active: boolean; p: number };
  earth: { count: number; probs: number[] };
}

export interface ColumnClassifier {
  readonly backend: Backend;
  /** The model's contract.json, as loaded and checked. */
  readonly contract: Record<string, unknown>;
  /** What the golden self-check on load measured. */
  readonly golden: { vectors: number; maxDiff: number; tolerance: number } | null;
  /** One reading per source (an array in, an array out; one source in, one reading out). */
  classify(source: ImageSource): Promise<ColumnReading>;
  classify(sources: ImageSource[]): Promise<ColumnReading[]>;
  /** Frees the model's tensors; the classifier cannot be used afterwards. */
  dispose(): void;
}

/**
 * Load the exported model from `baseUrl` (the folder with contract.json, model.json and its
 * shards), check every file against the contract's SHA-256 and run its golden vectors.
 * The default model is the package's `model/` folder (`soroban-vision/model/*`): serve a copy
 * of it from your site, or give the URL of any host that serves it.
 * Rejects with a ContractError when anything does not match.
 */
export function loadColumnClassifier(baseUrl: string | URL, options?: ClassifierOptions): Promise<ColumnClassifier>;

/**
 * The contract's decode rule on raw head outputs: `heaven` [N], `earth` [N*5] row-major; the
 * probabilities tempered first by `calibration` (the contract's decode.calibration temperatures).
 */
export function decode(
  heaven: ArrayLike<number>,
  earth: Float32Array | Float64Array | number[],
  threshold?: number,
  calibration?: { heaven: number; earth: number } | null,
): ColumnReading[];

export interface AbacusReaderOptions extends ClassifierOptions {
  /** The default for `read`; "auto" unless given. */
  markers?: MarkerMode;
  /** Columns below this confidence are flagged (default: the spec's low_confidence, 0.8). */
  threshold?: number;
  /** An already loaded column classifier to share (it is then not disposed with the reader). */
  classifier?: ColumnClassifier;
  /**
   * Folder URL of OpenCV.js (@opencvjs/web's lib/, holding opencv_js.js), served from your own
   * origin; in a bundle, give it (copy node_modules/@opencvjs/web/lib/ to your site).
   */
  arucoUrl?: string;
  /** Folder URL of an exported frame model (the package's frame-model/): read without markers. */
  frameModel?: string | URL;
  /** An already loaded frame model to share (it is then not disposed with the reader). */
  frameDetector?: FrameDetector;
}

export interface FrameDetector {
  readonly contract: Record<string, unknown>;
  readonly backend: Backend;
  /** The golden self-check the loader ran: vectors, maxDiff, tolerance. */
  readonly golden: { vectors: number; maxDiff: number; tolerance: number };
  dispose(): void;
}

/** Load the frame model (contract, SHA-256 of every file, golden self-check) from its folder. */
export function loadFrameDetector(baseUrl: string | URL, options?: ClassifierOptions): Promise<FrameDetector>;

export interface ReadOptions {
  /** Rods on the soroban (1-31); default: fitted from the rod spacing. */
  columns?: number;
  /** The frame's four corners, clockwise from the top-left: always used as given. */
  corners?: Point[];
  markers?: MarkerMode;
  threshold?: number;
  /** Video: look for the markers where they were in the previous frame first, and keep the frame model's frame while the model sees it still. */
  track?: boolean;
  /** Adds the candidate layouts and the chosen layout's crops as `debug`. */
  debug?: boolean;
}

/** read: a digit; hidden: confidence below the threshold (a hand over it, glare, or unsure), or a digit that changes when its crop moves a few pixels; out_of_frame: its crop is partly outside the picture. */
export type ColumnStatus = "read" | "hidden" | "out_of_frame";

export interface AbacusColumn extends Omit<ColumnReading, "digit"> {
  index: number;
  status: ColumnStatus;
  /** null unless the column is read (the model's guess stays in heaven and earth). */
  digit: number | null;
  /** The column's crop in the source's pixels, clockwise from the top-left. */
  quad: Point[];
  /** false when the model reads another digit from the crop moved by the spec's flags.steady_shifts (the column is then hidden). */
  steady: boolean;
}

export interface AbacusReading {
  /** The number shown; a BigInt above 2^53; null when any column is not read. */
  number: number | bigint | null;
  /** The digits as a user reads them, each unread column as "?": "12?45". */
  text: string;
  /** Most significant first; null for a column not read. */
  digits: (number | null)[];
  columns: AbacusColumn[];
  /** The frame, clockwise from the top-left, in the source's pixels. */
  corners: Point[];
  /**
   * Where the frame came from: the markers (all four, or three), the frame model, the outline
   * search (where the frame model sees no frame, or none is loaded), or the corners given.
   */
  method: "markers" | "markers-3" | "model" | "contour" | "corners";
  /**
   * The rod count and how sure it is; `uncertain` readings carry a warning, and `doubt` says why,
   * the first that holds: another count reads about as well (`"rival"`: `confidence` below 1,
   * `rival`); on a frame the markers did not give, a crop one pitch past an end rod reads as a rod
   * (`"beyond_end"`: the frame may be cut short); more than the spec's share of its columns are
   * hidden (`"many_hidden"`; `hiddenShare`); an end column is (`"end_hidden"`); any other column
   * is (`"hidden"`). A Stabilizer never counts an unsure frame, except one doubted only for
   * `"end_hidden"` or `"hidden"` when an earlier sure frame read the same count.
   */
  rods: {
    count: number;
    confidence: number;
    uncertain: boolean;
    given: boolean;
    rival: number | null;
    candidates: { rods: number; sideFrac: number; score: number; meanLogConfidence: number }[];
    hiddenShare: number;
    endHidden: boolean;
    beyondEnd: boolean;
    doubt: "rival" | "beyond_end" | "many_hidden" | "end_hidden" | "hidden" | null;
  };
  warnings: string[];
  /** The whole read, and each stage. */
  ms: number;
  times: Record<string, number>;
  debug?: Record<string, unknown>;
}

export interface AbacusReader {
  readonly classifier: ColumnClassifier;
  /** Read the number on the soroban in `source`; rejects with FrameNotFound when there is none. */
  read(source: ImageSource, options?: ReadOptions): Promise<AbacusReading>;
  /** Start another video: forgets what `track` remembers of the last one; returns the frames it read with a kept frame. */
  newVideo(): number;
  /** Frees the classifier too, unless it was given as an option. */
  dispose(): void;
}

/**
 * Load the column classifier (unless given), unless markers are "off" the marker detector, and
 * with `frameModel` (or `frameDetector`) the frame model, which reads without markers.
 */
export function loadAbacusReader(baseUrl: string | URL, options?: AbacusReaderOptions): Promise<AbacusReader>;

export interface StabilizerOptions {
  /** Agreeing confident frames before a number is accepted (spec: 5). */
  frames?: number;
  /** The confidence every column must reach (spec: low_confidence). */
  minConfidence?: number;
  /** Corner movement, as a share of the frame's width, that starts the count again (spec: 0.02). */
  motion?: number;
}

/** Python's abacus.Stabilizer: a number only once it has held, confidently, with the frame still. */
export class Stabilizer {
  constructor(options?: StabilizerOptions);
  frames: number;
  minConfidence: number;
  motion: number;
  reset(): void;
  /** Rod counts of the latest frames, and whether they disagree. */
  readonly counts: number[];
  readonly rodsVary: boolean;
  /** The latest sure rod count read (motion keeps it, `reset` forgets it): it vouches for frames only a few hidden columns doubt. */
  readonly sureRods: number | null;
  /** Whether an unsure rod count is one an earlier sure frame vouches for: doubted only for a few hidden columns, and `sureRods`. */
  vouches(rods: AbacusReading["rods"]): boolean;
  /**
   * One frame -> the number once it is steady, else null. Given the whole reading, a column not
   * read confidently keeps its last confident digit until the soroban moves. Or its number,
   * confidences, corners and `rods` (the count, or the reading's `rods`).
   */
  update(reading: AbacusReading): number | bigint | null;
  update<N extends number | bigint>(
    number: N | null | undefined,
    confidences: number[],
    corners?: Point[] | null,
    rods?: number | AbacusReading["rods"] | null,
  ): N | null;
  /** The latest frame's digits, held ones included (null: none yet), and which were held. */
  readonly digits: (number | null)[];
  readonly held: number[];
  /** How far along the current candidate is, 0..1. */
  readonly progress: number;
}

/** The reader's spec (spec.json, shared with Python), frozen. */
export const spec: Readonly<{
  format: string;
  version: number;
  columns: Readonly<{ min: number; max: number }>;
  low_confidence: number;
  flags: Readonly<{ out_of_frame_share: number; unread_mark: string }>;
  markers: Readonly<{
    modes: readonly MarkerMode[];
    dictionary: string;
    ids: readonly number[];
    frame_corner_offset: number;
    three_marker_fit_rms_px: number;
  }>;
  stabilizer: Readonly<{ frames: number; motion: number }>;
  /** Error code -> its one-line message, with {placeholders}. */
  errors: Readonly<Record<string, string>>;
  [key: string]: unknown;
}>;

/** Any failure this library reports: match `code`, never the message. */
export class SorobanError extends Error {
  constructor(code: string, message: string);
  readonly code: string;
}
/** The model, its contract or the runtime cannot be loaded or checked, or a source cannot be read. */
export class ContractError extends SorobanError {}
/** No soroban where we looked: no markers, two sorobans, a tiny image. */
export class FrameNotFound extends SorobanError {}
/** A bad argument: columns, markers or corners out of range. */
export class UsageError extends SorobanError {}

export interface CollectorOptions {
  /** The collect-server's base URL (soroban-vision collect-server), http:// or https://. */
  url: string;
  /** The server's write key, sent as `Authorization: Bearer KEY`. */
  apiKey: string;
  /** Any ids: the server stores only keyed hashes of them. */
  player?: string;
  session?: string;
  device?: string;
  fetch?: typeof fetch;
}

export interface CollectResult {
  stored: number;
  duplicates: number;
  needs_review: number;
  columns: { index: number; label: number; stored: boolean; id: number | null; status: string; model: { digit: number; confidence: number } }[];
}

export interface Collector {
  /**
   * Posts the crops `reading` classified (read it with `{ debug: true }`), column i labelled with
   * digit i of `correctNumber`, left-padded with zeros. Nothing is sent until this is called.
   */
  submit(reading: AbacusReading, correctNumber: number | bigint | string): Promise<CollectResult>;
}

/** A collector for one collect-server: the real-data loop's browser side. */
export function createCollector(options: CollectorOptions): Collector;
