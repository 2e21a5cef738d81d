// The loaded column classifier: one column crop -> digit, following the contract. Made by
// loadColumnClassifier (load.js) once every file and the golden vectors have checked out.

import { ContractError } from "../errors.js";
import { decode } from "./decode.js";
import { bitmapFromUrl, pixelsOf } from "./pixels.js";
import { preprocessPixels } from "./preprocess.js";
import { runByName } from "./run.js";

export class ColumnClassifier {
  constructor(tf, model, contract, spec, heads, backend) {
    this.tf = tf;
    this.model = model;
    this.contract = contract;
    this.spec = spec;
    this.heads = heads;
    this.backend = backend;
    this.inputName = contract.input.name;
    this.golden = null; // {vectors, maxDiff, tolerance} once checked
    const sig = model.modelSignature ?? {};
    const missing = (names, entries, what) => {
      const absent = entries ? names.filter((n) => !(n in entries)) : [];
      if (absent.length) {
        throw new ContractError("contract_mismatch", `the model has no ${what} named '${absent.join("', '")}' (it has: ${Object.keys(entries).join(", ")}): contract and model do not belong together`);
      }
    };
    missing([this.inputName], sig.inputs, "input");
    missing([heads.heaven, heads.earth], sig.outputs, "output");
    const [, h, w] = contract.input.shape;
    if (h !== spec.height || w !== spec.width) {
      throw new ContractError("contract_mismatch", `the contract resizes to ${spec.width}x${spec.height} but the model takes ${w}x${h}`);
    }
  }

  /** Model inputs for one or many sources: Float32Array [N*H*W] (NHWC, one channel). */
  async preprocess(sources) {
    const list = Array.isArray(sources) ? sources : [sources];
    const { width, height } = this.spec;
    const out = new Float32Array(list.length * width * height);
    for (let i = 0; i < list.length; i++) {
      const { data, width: w, height: h } = await pixelsOf(list[i], i);
      out.set(preprocessPixels(data, w, h, this.spec), i * width * height);
    }
    return out;
  }

  /**
   * Read one source (-> one reading) or an array of sources (-> an array, one batch).
   * Sources: ImageData, HTMLImageElement, HTMLCanvasElement, OffscreenCanvas, ImageBitmap,
   * HTMLVideoElement (its current frame) or VideoFrame, each one column crop.
   */
  async classify(sources) {
    const many = Array.isArray(sources);
    const list = many ? sources : [sources];
    if (list.length === 0) return [];
    const x = await this.preprocess(list);
    const { heaven, earth } = await this.infer(x, list.length);
    const readings = decode(heaven, earth, this.heads.threshold, this.heads.calibration);
    return many ? readings : readings[0];
  }

  /** Raw head outputs for a preprocessed batch: {heaven: Float32Array [N], earth: Float32Array [N*5]}. */
  async infer(x, n) {
    const { width, height } = this.spec;
    const [heaven, earth] = await runByName(this.tf, this.model, {
      what: "classifier",
      backend: this.backend,
      inputName: this.inputName,
      names: [this.heads.heaven, this.heads.earth],
      x,
      shape: [n, height, width, 1],
      expected: [[n, 1], [n, 5]],
    });
    return { heaven, earth };
  }

  /** Run the contract's golden vectors; throw if any probability strays beyond the tolerance. */
  async checkGolden(toleranceOverride) {
    const golden = this.contract.golden ?? {};
    const vectors = golden.vectors ?? [];
    if (vectors.length === 0) throw new ContractError("no_golden", "the contract has no golden vectors to check this backend with");
    const tolerance = toleranceOverride ?? golden.tolerance?.[this.backend];
    if (typeof tolerance !== "number") {
      throw new ContractError("no_golden", `the contract gives no golden tolerance for backend '${this.backend}' (it has: ${Object.keys(golden.tolerance ?? {}).join(", ")})`);
    }
    const images = await Promise.all(vectors.map((v) => bitmapFromUrl(v.image)));
    let out;
    try {
      out = await this.infer(await this.preprocess(images), images.length);
    } finally {
      images.forEach((b) => b.close?.());
    }
    let worst = { diff: 0 };
    vectors.forEach((v, i) => {
      const got = { heaven: [out.heaven[i]], earth: Array.from(out.earth.subarray(5 * i, 5 * i + 5)) };
      for (const head of ["heaven", "earth"]) {
        v[head].forEach((want, k) => {
          const diff = Math.abs(got[head][k] - want);
          if (!(diff <= worst.diff)) worst = { diff, label: v.label, head, k, want, got: got[head][k] };
        });
      }
    });
    if (!(worst.diff <= tolerance)) {
      throw new ContractError("golden_mismatch",
        `golden self-check FAILED on ${this.backend}: vector ${worst.label} ${worst.head}[${worst.k}] = ${worst.got} ` +
        `but the reference is ${worst.want} (|diff| ${worst.diff.toExponential(2)} > tolerance ${tolerance}); ` +
        `this backend does not reproduce the model, do not trust its answers`);
    }
    return { vectors: vectors.length, maxDiff: worst.diff, tolerance };
  }

  dispose() {
    this.model?.dispose();
    this.model = null;
  }
}
