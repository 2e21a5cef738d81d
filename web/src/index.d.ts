// Types of the public surface (index.js). Everything else under src/ is internal.
// TF.js is a peer dependency: pass your `tf` as an option, or load tf.min.js so that it is global.

import type * as tfjs from "@tensorflow/tfjs";

/** The TensorFlow.js namespace: `import * as tf from "@tensorflow/tfjs"`, or the page's global `tf`. */
export type TensorFlow = typeof tfjs;

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

export interface ClassifierOptions {
  /** Default "wasm". One backend per page: it is chosen before any tensor exists. */
  backend?: Backend;
  /** The TF.js namespace to use; default: the global `tf`. */
  tf?: TensorFlow;
  /** Folder URL of tfjs-backend-wasm's .wasm files, served from your own origin. */
  wasmPaths?: string;
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
 * Rejects with a ContractError when anything does not match.
 */
export function loadColumnClassifier(baseUrl: string | URL, options?: ClassifierOptions): Promise<ColumnClassifier>;

/** The contract's decode rule on raw head outputs: `heaven` [N], `earth` [N*5] row-major. */
export function decode(
  heaven: ArrayLike<number>,
  earth: Float32Array | Float64Array | number[],
  threshold?: number,
): ColumnReading[];

export interface AbacusReaderOptions extends ClassifierOptions {
  /** The default for `read`; "auto" unless given. */
  markers?: MarkerMode;
  /** Columns below this confidence are flagged (default: the spec's low_confidence, 0.8). */
  threshold?: number;
  /** An already loaded column classifier to share (it is then not disposed with the reader). */
  classifier?: ColumnClassifier;
  /** Folder URL of js-aruco2's src/ (cv.js, aruco.js, dictionaries/), served from your own origin. */
  arucoUrl?: string;
}

export interface ReadOptions {
  /** Rods on the soroban (1-17); default: fitted from the rod spacing. */
  columns?: number;
  /** The frame's four corners, clockwise from the top-left: always used as given. */
  corners?: Point[];
  markers?: MarkerMode;
  threshold?: number;
  /** Video: look for the markers where they were in the previous frame first. */
  track?: boolean;
  /** Adds the candidate layouts and the chosen layout's crops as `debug`. */
  debug?: boolean;
}

export interface AbacusColumn extends ColumnReading {
  index: number;
  /** The column's crop in the source's pixels, clockwise from the top-left. */
  quad: Point[];
  lowConfidence: boolean;
}

export interface AbacusReading {
  /** The number shown; a BigInt above 2^53 (`text` always holds the digits). */
  number: number | bigint;
  text: string;
  /** Most significant first. */
  digits: number[];
  columns: AbacusColumn[];
  /** The frame, clockwise from the top-left, in the source's pixels. */
  corners: Point[];
  method: "markers" | "markers-3" | "corners";
  /** The rod count and how sure it is; `uncertain` readings carry a warning and never make a steady number. */
  rods: {
    count: number;
    confidence: number;
    uncertain: boolean;
    given: boolean;
    rival: number | null;
    candidates: number[];
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
  /** Frees the classifier too, unless it was given as an option. */
  dispose(): void;
}

/** Load the column classifier (unless given) and, unless markers are "off", the marker detector. */
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
  /** One frame's reading -> the number once it is steady, else null. `rods`: the count, or the reading's `rods`. */
  update<N extends number | bigint>(
    number: N | null | undefined,
    confidences: number[],
    corners?: Point[] | null,
    rods?: number | AbacusReading["rods"] | null,
  ): N | null;
  /** How far along the current candidate is, 0..1. */
  readonly progress: number;
}

/** The reader's spec (spec.json, shared with Python), frozen. */
export const spec: Readonly<{
  format: string;
  version: number;
  columns: Readonly<{ min: number; max: number }>;
  low_confidence: number;
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
