// Runs a TF.js graph model in Node (pure @tensorflow/tfjs, cpu or wasm backend) for Python.
// Protocol: one JSON request per stdin line, one JSON answer per stdout line.
//   first answer: {"ready": true, "backend", "inputs": [...], "outputs": [...]} (model.json order)
//   request:  {"inputs": {name: {"shape": [...], "dtype": "float32", "b64": "..."}}, "outputs": [names]}
//   answer:   {"outputs": {name: {"shape", "dtype", "b64"}}, "ms": number} or {"error": "..."}
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";

const require = createRequire(import.meta.url);
const tf = require("@tensorflow/tfjs");
const wasm = require("@tensorflow/tfjs-backend-wasm");

const [modelDir, backend = "wasm"] = process.argv.slice(2);
const send = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const DTYPES = { DT_FLOAT: "float32", DT_INT32: "int32", DT_BOOL: "bool", DT_STRING: "string", DT_INT64: "int64" };
const TYPED = { float32: Float32Array, int32: Int32Array, bool: Uint8Array };

function decodeTensor({ shape, dtype, b64 }) {
  const bytes = Buffer.from(b64, "base64");
  const Typed = TYPED[dtype];
  if (!Typed) throw new Error(`unsupported input dtype ${dtype}`);
  const data = new Typed(bytes.buffer, bytes.byteOffset, bytes.byteLength / Typed.BYTES_PER_ELEMENT);
  return tf.tensor(data, shape, dtype);
}

async function encodeTensor(t) {
  const data = await t.data();
  const typed = data instanceof Float32Array || data instanceof Int32Array ? data : Float32Array.from(data);
  return { shape: t.shape, dtype: t.dtype, b64: Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength).toString("base64") };
}

async function main() {
  const wasmDir = join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm")), "/");
  wasm.setWasmPaths(wasmDir);
  await tf.setBackend(backend);
  await tf.ready();
  const modelJson = JSON.parse(readFileSync(join(modelDir, "model.json"), "utf8"));
  const artifacts = await tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
    const specs = [];
    const buffers = [];
    for (const group of manifest) {
      specs.push(...group.weights);
      for (const p of group.paths) {
        const b = readFileSync(join(modelDir, p));
        buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      }
    }
    return [specs, tf.io.concatenateArrayBuffers(buffers)];
  });
  const model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
  const sig = modelJson.signature || {};
  const info = (entries) => Object.entries(entries || {}).map(([name, v]) => ({
    name,
    dtype: DTYPES[v.dtype] || (v.dtype || "").replace("DT_", "").toLowerCase(),
    shape: (v.tensorShape?.dim || []).map((d) => (d.size === undefined || Number(d.size) < 0 ? null : Number(d.size))),
  }));
  send({ ready: true, backend: tf.getBackend(), inputs: info(sig.inputs), outputs: info(sig.outputs) });

  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    try {
      const req = JSON.parse(line);
      const feed = Object.fromEntries(Object.entries(req.inputs).map(([k, v]) => [k, decodeTensor(v)]));
      const t0 = performance.now();
      let out = model.execute(feed, req.outputs);
      if (!Array.isArray(out)) out = [out];
      const encoded = {};
      for (let i = 0; i < out.length; i++) encoded[req.outputs[i]] = await encodeTensor(out[i]);
      const ms = performance.now() - t0;
      tf.dispose([...Object.values(feed), ...out]);
      send({ outputs: encoded, ms, numTensors: tf.memory().numTensors });
    } catch (e) {
      send({ error: String(e && e.message ? e.message : e).split("\n")[0] });
    }
  }
}

main().catch((e) => {
  send({ error: String(e && e.message ? e.message : e).split("\n")[0] });
  process.exit(1);
});
