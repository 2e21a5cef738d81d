// Loading the column classifier the way a web page must: contract.json first, then model.json
// and every shard fetched once and checked against the contract's SHA-256, then the golden
// vectors run on this backend. Anything that does not check out is a ContractError.
//
//   const classifier = await loadColumnClassifier("/model/", { backend: "wasm" });
//   const [r] = await classifier.classify([img]);  // {digit, confidence, heaven: {active, p}, earth: {count, probs}}

import { ContractError, firstLine } from "../errors.js";
import { useBackend } from "./backend.js";
import { ColumnClassifier } from "./classifier.js";
import { checkContract, checkOutputs, checkPrecision, checkPreprocessing } from "./contract.js";

/**
 * Load the exported column classifier from `baseUrl` (the folder holding contract.json,
 * model.json and the shards), check every file against the contract, and run the contract's
 * golden vectors once on this backend. Throws a ContractError if anything does not match.
 * Options: backend ("wasm"), tf (else the global of tf.min.js), wasmPaths, tolerance.
 */
export async function loadColumnClassifier(baseUrl, options = {}) {
  const tf = options.tf ?? globalThis.tf;
  if (!tf) throw new ContractError("no_tensorflow", "TensorFlow.js is not loaded: include tf.min.js before this library");
  const backend = options.backend ?? "wasm";
  const base = folderUrl(baseUrl);

  const contractUrl = new URL("contract.json", base);
  const contractBytes = await fetchBytes(contractUrl, "contract.json", () =>
    `no contract.json at ${base}: export the model with \`soroban-vision export\``);
  const contract = parseJson(contractBytes, contractUrl);
  checkContract(contract, contractUrl);
  const spec = checkPreprocessing(contract.preprocessing);
  const heads = checkOutputs(contract);

  await useBackend(backend, { tf, wasmPaths: options.wasmPaths }); // before any weight tensor exists
  const model = await loadVerifiedGraphModel(tf, base, contract);
  let classifier;
  try {
    classifier = new ColumnClassifier(tf, model, contract, spec, heads, backend);
    classifier.golden = await classifier.checkGolden(options.tolerance);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return classifier;
}

/**
 * Fetch model.json and every shard once, check each against the contract's SHA-256, and
 * build the graph model from memory (no second fetch that could bring different bytes).
 */
export async function loadVerifiedGraphModel(tf, base, contract) {
  const files = contract.weights.files;
  if (!files || typeof files !== "object" || !("model.json" in files)) {
    throw new ContractError("contract_mismatch", "the contract does not list model.json with its SHA-256");
  }
  const modelUrl = new URL("model.json", base);
  const modelBytes = await fetchBytes(modelUrl, "model.json");
  await verifyDigest("model.json", modelBytes, files["model.json"]);
  const modelJson = parseJson(modelBytes, modelUrl);
  const manifest = modelJson.weightsManifest ?? [];
  const paths = manifest.flatMap((group) => group.paths);
  for (const p of paths) {
    if (!(p in files)) throw new ContractError("contract_mismatch", `model.json uses ${p}, which the contract does not list`);
  }
  for (const name of Object.keys(files)) {
    if (name !== "model.json" && !paths.includes(name)) {
      throw new ContractError("contract_mismatch", `the contract lists ${name}, which model.json does not use: they are from different exports`);
    }
  }
  checkPrecision(contract.weights.precision, manifest);

  const shards = await Promise.all(paths.map(async (p) => {
    const bytes = await fetchBytes(new URL(p, modelUrl), p);
    await verifyDigest(p, bytes, files[p]);
    return bytes;
  }));
  const artifacts = await tf.io.getModelArtifactsForJSON(modelJson, async (groups) => [
    groups.flatMap((group) => group.weights),
    tf.io.concatenateArrayBuffers(shards),
  ]);
  try {
    return await tf.loadGraphModel(tf.io.fromMemory(artifacts));
  } catch (e) {
    throw new ContractError("bad_model", `model.json passed its checksum but TF.js cannot build it: ${firstLine(e)}`);
  }
}

export function folderUrl(baseUrl) {
  const s = String(baseUrl);
  return new URL(s.endsWith("/") ? s : s + "/", globalThis.location?.href);
}

export async function fetchBytes(url, name, missing) {
  let res;
  try {
    res = await fetch(url, { cache: "no-store" });
  } catch (e) {
    throw new ContractError("fetch_failed", `cannot fetch ${name} from ${url}: ${firstLine(e)}`);
  }
  if (res.status === 404 && missing) throw new ContractError("missing_file", missing());
  if (!res.ok) throw new ContractError("missing_file", `cannot fetch ${name}: ${url} answered HTTP ${res.status}`);
  return res.arrayBuffer();
}

export function parseJson(bytes, url) {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new ContractError("bad_json", `${url} is not valid JSON (${firstLine(e)})`);
  }
}

async function verifyDigest(name, bytes, expected) {
  if (!globalThis.crypto?.subtle) {
    throw new ContractError("no_crypto", "checking the model needs crypto.subtle: serve the page over https or from localhost");
  }
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  if (hex !== String(expected).toLowerCase()) {
    throw new ContractError("hash_mismatch", `${name} does not match the contract's SHA-256 (${bytes.byteLength} bytes): the file is corrupt, truncated, or from another model`);
  }
}
