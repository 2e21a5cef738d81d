// The loaded frame model: a photo's working gray -> the frame-present score and the frame's four
// corners, following its contract. Made by loadFrameDetector (load.js) once every file and the
// golden vectors have checked out.

import { ContractError } from "../errors.js";
import { bitmapFromUrl, pixelsOf } from "../classifier/pixels.js";
import { runByName } from "../classifier/run.js";
import { FRAME_HEIGHT, FRAME_WIDTH, frameInput, toPixels } from "./input.js";

export class FrameDetector {
  constructor(tf, model, contract, heads, backend) {
    this.tf = tf;
    this.model = model;
    this.contract = contract;
    this.heads = heads; // {corners, frame, threshold}: output names by role
    this.backend = backend;
    this.inputName = contract.input.name;
    this.golden = null;
    const sig = model.modelSignature ?? {};
    for (const [name, what] of [[this.inputName, "inputs"], [heads.corners, "outputs"], [heads.frame, "outputs"]]) {
      if (sig[what] && !(name in sig[what])) {
        throw new ContractError("contract_mismatch", `the frame model has no ${what.slice(0, -1)} named '${name}': contract and model do not belong together`);
      }
    }
    const [, h, w] = contract.input.shape;
    if (h !== FRAME_HEIGHT || w !== FRAME_WIDTH) {
      throw new ContractError("contract_mismatch", `the frame model takes ${w}x${h}; the abacus spec's frame_model says ${FRAME_WIDTH}x${FRAME_HEIGHT}`);
    }
  }

  /** Raw outputs for a batch of inputs: {corners: Float32Array [N*8], frame: Float32Array [N]}. */
  async infer(x, n) {
    const [corners, frame] = await runByName(this.tf, this.model, {
      what: "frame detector",
      backend: this.backend,
      inputName: this.inputName,
      names: [this.heads.corners, this.heads.frame],
      x,
      shape: [n, FRAME_HEIGHT, FRAME_WIDTH, 1],
      expected: [[n, 4, 2], [n, 1]],
    });
    return { corners, frame };
  }

  /**
   * The frame in a photo's working gray (abacus/photo.js prepare): {score, present, corners}, the
   * corners in the gray's pixels, clockwise from the top-left.
   */
  async detect(photo) {
    const { corners, frame } = await this.infer(frameInput(photo.gray, photo.width, photo.height), 1);
    const normalized = [0, 1, 2, 3].map((k) => [corners[2 * k], corners[2 * k + 1]]);
    return { score: frame[0], present: frame[0] >= this.heads.threshold, corners: toPixels(normalized, photo.width, photo.height) };
  }

  /** Run the contract's golden vectors; throw if a corner or score strays beyond the tolerance. */
  async checkGolden(toleranceOverride) {
    const golden = this.contract.golden ?? {};
    const vectors = golden.vectors ?? [];
    if (vectors.length === 0) throw new ContractError("no_golden", "the frame contract has no golden vectors to check this backend with");
    const tolerance = toleranceOverride ?? golden.tolerance?.[this.backend];
    if (typeof tolerance !== "number") throw new ContractError("no_golden", `the frame contract gives no golden tolerance for backend '${this.backend}'`);
    const size = FRAME_WIDTH * FRAME_HEIGHT;
    const x = new Float32Array(vectors.length * size);
    for (let i = 0; i < vectors.length; i++) {
      const bitmap = await bitmapFromUrl(vectors[i].image);
      try {
        const { data, width, height } = await pixelsOf(bitmap);
        if (width !== FRAME_WIDTH || height !== FRAME_HEIGHT) throw new ContractError("no_golden", `golden image ${i} is ${width}x${height}`);
        for (let p = 0; p < size; p++) x[i * size + p] = Math.fround(data[4 * p] / 255); // gray PNG: R = G = B
      } finally {
        bitmap.close?.();
      }
    }
    const out = await this.infer(x, vectors.length);
    let worst = 0;
    vectors.forEach((v, i) => {
      v.corners.flat().forEach((want, k) => (worst = Math.max(worst, Math.abs(out.corners[8 * i + k] - want))));
      worst = Math.max(worst, Math.abs(out.frame[i] - v.frame[0]));
    });
    if (!(worst <= tolerance)) {
      throw new ContractError("golden_mismatch", `golden self-check FAILED on ${this.backend}: the frame model's outputs differ from the contract's by ${worst.toExponential(2)} (> tolerance ${tolerance}); do not trust this backend's corners`);
    }
    return { vectors: vectors.length, maxDiff: worst, tolerance };
  }

  dispose() {
    this.model?.dispose();
    this.model = null;
  }
}
