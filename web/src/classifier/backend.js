// Which TF.js backend runs the model, chosen before any tensor exists. The wasm binaries come
// from our own origin, never a CDN.

import { ContractError, firstLine } from "../errors.js";

export const BACKENDS = ["wasm", "cpu", "webgl", "webgl-f16"];

/** The TF.js backend a backend of ours runs on (webgl-f16 is WebGL with half-float textures). */
export function backendName(backend) {
  return backend === "webgl-f16" ? "webgl" : backend;
}

/**
 * Switch TF.js to `backend` (wasm, cpu, webgl, or webgl-f16 = WebGL with half-float
 * textures) before any tensor exists. The wasm binaries come from `wasmPaths`, by default
 * web/node_modules next to this library: always our own origin, never a CDN.
 */
export async function useBackend(backend, { tf = globalThis.tf, wasmPaths } = {}) {
  if (!BACKENDS.includes(backend)) {
    throw new ContractError("bad_backend", `unknown backend '${backend}'; choose one of: ${BACKENDS.join(", ")}`);
  }
  const name = backendName(backend);
  const unavailable = (message) => new ContractError("backend_unavailable", message);
  if (tf.findBackendFactory(name) == null) {
    const hint = name === "wasm" ? " (include tf-backend-wasm.min.js after tf.min.js)" : "";
    throw unavailable(`the TensorFlow.js backend '${name}' is not registered${hint}`);
  }
  if (backend === "webgl-f16") {
    if ("webgl" in tf.engine().registry && !tf.env().getBool("WEBGL_FORCE_F16_TEXTURES")) {
      throw unavailable("webgl-f16 must be chosen before WebGL starts: WebGL already runs with float32 textures");
    }
    tf.env().set("WEBGL_FORCE_F16_TEXTURES", true);
  }
  if (name === "wasm" && !(name in tf.engine().registry)) {  // (tf.findBackend would initialise it)
    // must happen before the backend initialises, or TF.js fetches the binaries elsewhere
    const setWasmPaths = tf.wasm?.setWasmPaths;
    if (!setWasmPaths) throw unavailable("tf.wasm.setWasmPaths is missing: load tf-backend-wasm.min.js");
    setWasmPaths(wasmPaths ?? new URL("../../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url).href);
  }
  let ok;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    throw unavailable(`the '${backend}' backend failed to start: ${firstLine(e)}`);
  }
  if (!ok) throw unavailable(`the '${backend}' backend is not available in this browser`);
  await tf.ready();
  return tf.getBackend();
}
