// Loading the frame model as the column classifier is loaded: contract.json first (a frame
// model's roles), model.json and every shard checked against the contract's SHA-256, then the
// golden vectors on this backend. Anything that does not check out is a ContractError.
//
//   const detector = await loadFrameDetector("/models/frame/tfjs/", { backend: "wasm" });
//   const { present, corners } = await detector.detect(photo);  // photo: abacus/photo.js prepare

import { ContractError } from "../errors.js";
import { useBackend } from "../classifier/backend.js";
import { checkFrameContract } from "../classifier/contract.js";
import { fetchBytes, folderUrl, loadVerifiedGraphModel, parseJson } from "../classifier/load.js";
import { FrameDetector } from "./detector.js";

/** Load the exported frame model from `baseUrl`. Options: backend ("wasm"), tf, wasmPaths, tolerance. */
export async function loadFrameDetector(baseUrl, options = {}) {
  const tf = options.tf ?? globalThis.tf;
  if (!tf) throw new ContractError("no_tensorflow", "TensorFlow.js is not loaded: include tf.min.js before this library");
  const backend = options.backend ?? "wasm";
  const base = folderUrl(baseUrl);
  const contractUrl = new URL("contract.json", base);
  const bytes = await fetchBytes(contractUrl, "contract.json", () => `no contract.json at ${base}: export the frame model with \`soroban-vision export\``);
  const contract = parseJson(bytes, contractUrl);
  const heads = checkFrameContract(contract, contractUrl);
  await useBackend(backend, { tf, wasmPaths: options.wasmPaths });
  const model = await loadVerifiedGraphModel(tf, base, contract);
  let detector;
  try {
    detector = new FrameDetector(tf, model, contract, heads, backend);
    detector.golden = await detector.checkGolden(options.tolerance);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return detector;
}
