// soroban-vision in the browser: the public surface. ES modules, no bundler; TF.js comes from
// the page (tf.min.js, and tf-backend-wasm.min.js for wasm) or as the `tf` option.
//
//   const classifier = await loadColumnClassifier("/model/", { backend: "wasm" });
//   const [r] = await classifier.classify([img]);      // one column crop -> {digit, confidence, ...}
//   const reader = await loadAbacusReader("/model/", { classifier });
//   const reading = await reader.read(videoOrImage);   // a whole soroban -> {number, text, columns, ...}
//
// Everything else under src/ is internal: the numeric ports (numeric/), the contract's
// checks and preprocessing (classifier/), the reader's steps (abacus/).

export { loadColumnClassifier } from "./classifier/load.js";
export { decode } from "./classifier/decode.js";
export { loadAbacusReader } from "./abacus/reader.js";
export { loadFrameDetector } from "./frame/load.js";
export { Stabilizer } from "./abacus/stabilizer.js";
export { createCollector } from "./collector.js";
export { spec } from "./abacus/spec.js";
export { ContractError, FrameNotFound, SorobanError, UsageError } from "./errors.js";
