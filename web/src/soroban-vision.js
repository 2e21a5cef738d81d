// soroban-vision in the browser: reads one soroban column per image with TensorFlow.js,
// following the model's contract.json. One ES module, no bundler; it uses the global `tf`
// of the UMD scripts (tf.min.js, and tf-backend-wasm.min.js for wasm) or a `tf` you pass.
//
//   const reader = await loadColumnClassifier("/model/", { backend: "wasm" });
//   const [r] = await reader.classify([img]);  // {digit, confidence, heaven: {active, p}, earth: {count, probs}}
//
// Python (src/soroban_vision/preprocess.py, contract.py) is the reference; tests check that
// both give the same pixels and the same probabilities.

export const CONTRACT_FORMAT = "soroban-vision/contract";
export const CONTRACT_VERSION = 1;
export const PRECISIONS = ["float32", "float16", "uint8"];
export const BACKENDS = ["wasm", "cpu", "webgl", "webgl-f16"];
// The decode rule this module implements; a contract asking for another rule is refused.
export const DECODE_RULE = {
  digit: "5 * (heaven >= threshold) + argmax(earth)",
  confidence: "max(heaven, 1 - heaven) * max(earth)",
};

/** Every failure to load or check a model; the message is one line that says what to fix. */
export class ContractError extends Error {
  constructor(message) {
    super(message);
    this.name = "ContractError";
  }
}

// ----------------------------------------------------------------------------- loading

/**
 * Load the exported column classifier from `baseUrl` (the folder holding contract.json,
 * model.json and the shards), check every file against the contract, and run the contract's
 * golden vectors once on this backend. Throws a ContractError if anything does not match.
 */
export async function loadColumnClassifier(baseUrl, options = {}) {
  const tf = options.tf ?? globalThis.tf;
  if (!tf) throw new ContractError("TensorFlow.js is not loaded: include tf.min.js before soroban-vision.js");
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
 * Switch TF.js to `backend` (wasm, cpu, webgl, or webgl-f16 = WebGL with half-float
 * textures) before any tensor exists. The wasm binaries come from `wasmPaths`, by default
 * web/node_modules next to this file: always our own origin, never a CDN.
 */
export async function useBackend(backend, { tf = globalThis.tf, wasmPaths } = {}) {
  if (!BACKENDS.includes(backend)) {
    throw new ContractError(`unknown backend '${backend}'; choose one of: ${BACKENDS.join(", ")}`);
  }
  const name = backend === "webgl-f16" ? "webgl" : backend;
  if (tf.findBackendFactory(name) == null) {
    const hint = name === "wasm" ? " (include tf-backend-wasm.min.js after tf.min.js)" : "";
    throw new ContractError(`the TensorFlow.js backend '${name}' is not registered${hint}`);
  }
  if (backend === "webgl-f16") {
    if ("webgl" in tf.engine().registry && !tf.env().getBool("WEBGL_FORCE_F16_TEXTURES")) {
      throw new ContractError("webgl-f16 must be chosen before WebGL starts: WebGL already runs with float32 textures");
    }
    tf.env().set("WEBGL_FORCE_F16_TEXTURES", true);
  }
  if (name === "wasm" && !(name in tf.engine().registry)) {  // (tf.findBackend would initialise it)
    // must happen before the backend initialises, or TF.js fetches the binaries elsewhere
    const setWasmPaths = tf.wasm?.setWasmPaths;
    if (!setWasmPaths) throw new ContractError("tf.wasm.setWasmPaths is missing: load tf-backend-wasm.min.js");
    setWasmPaths(wasmPaths ?? new URL("../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url).href);
  }
  let ok;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    throw new ContractError(`the '${backend}' backend failed to start: ${firstLine(e)}`);
  }
  if (!ok) throw new ContractError(`the '${backend}' backend is not available in this browser`);
  await tf.ready();
  return tf.getBackend();
}

/**
 * Fetch model.json and every shard once, check each against the contract's SHA-256, and
 * build the graph model from memory (no second fetch that could bring different bytes).
 */
async function loadVerifiedGraphModel(tf, base, contract) {
  const files = contract.weights.files;
  if (!files || typeof files !== "object" || !("model.json" in files)) {
    throw new ContractError("the contract does not list model.json with its SHA-256");
  }
  const modelUrl = new URL("model.json", base);
  const modelBytes = await fetchBytes(modelUrl, "model.json");
  await verifyDigest("model.json", modelBytes, files["model.json"]);
  const modelJson = parseJson(modelBytes, modelUrl);
  const manifest = modelJson.weightsManifest ?? [];
  const paths = manifest.flatMap((group) => group.paths);
  for (const p of paths) {
    if (!(p in files)) throw new ContractError(`model.json uses ${p}, which the contract does not list`);
  }
  for (const name of Object.keys(files)) {
    if (name !== "model.json" && !paths.includes(name)) {
      throw new ContractError(`the contract lists ${name}, which model.json does not use: they are from different exports`);
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
    throw new ContractError(`model.json passed its checksum but TF.js cannot build it: ${firstLine(e)}`);
  }
}

function checkContract(contract, url) {
  if (contract?.format !== CONTRACT_FORMAT) throw new ContractError(`${url} is not a soroban-vision contract`);
  if (contract.version !== CONTRACT_VERSION) {
    throw new ContractError(`${url} has contract version ${contract.version}; this library knows ${CONTRACT_VERSION}`);
  }
  const precision = contract.weights?.precision;
  if (!PRECISIONS.includes(precision)) {
    throw new ContractError(`unsupported weight precision '${precision}' in ${url}; this library loads ${PRECISIONS.join(", ")}`);
  }
  const input = contract.input ?? {};
  const [, h, w, c] = input.shape ?? [];
  if (input.layout !== "NHWC" || input.dtype !== "float32" || c !== 1 || !(h > 0 && w > 0)) {
    throw new ContractError(`the contract's input (${JSON.stringify(input.shape)} ${input.layout} ${input.dtype}) is not a float32 NHWC gray image`);
  }
  for (const key of ["digit", "confidence"]) {
    if (contract.decode?.[key] !== DECODE_RULE[key]) {
      throw new ContractError(`the contract decodes ${key} as '${contract.decode?.[key]}'; this library implements '${DECODE_RULE[key]}'`);
    }
  }
}

/** The precision the contract states must be the one the shards hold. */
function checkPrecision(precision, manifest) {
  const seen = new Set();
  for (const group of manifest) {
    for (const w of group.weights) if (w.quantization) seen.add(w.quantization.dtype);
  }
  const ok = precision === "float32" ? seen.size === 0 : seen.size === 1 && seen.has(precision);
  if (!ok) {
    const found = seen.size ? [...seen].join("+") : "float32";
    throw new ContractError(`the contract says ${precision} weights but model.json holds ${found} weights`);
  }
}

function checkOutputs(contract) {
  const byRole = {};
  for (const [name, out] of Object.entries(contract.outputs ?? {})) byRole[out.role] = { name, ...out };
  const { heaven, earth } = byRole;
  if (!heaven || !earth) throw new ContractError("the contract must name a 'heaven' and an 'earth' output");
  if (heaven.activation !== "sigmoid" || earth.activation !== "softmax") {
    throw new ContractError(`expected a sigmoid heaven and a softmax earth output, the contract has ${heaven.activation} and ${earth.activation}`);
  }
  if (String(heaven.shape?.slice(1)) !== "1" || String(earth.shape?.slice(1)) !== "5") {
    throw new ContractError(`expected outputs heaven [N,1] and earth [N,5], the contract has ${JSON.stringify(heaven.shape)} and ${JSON.stringify(earth.shape)}`);
  }
  const threshold = contract.decode?.threshold ?? heaven.threshold;
  if (typeof threshold !== "number") throw new ContractError("the contract gives no heaven threshold");
  return { heaven: heaven.name, earth: earth.name, threshold };
}

/** The contract's preprocessing, checked: any method this module does not implement is refused. */
function checkPreprocessing(p) {
  const refuse = (what, got, known) => {
    throw new ContractError(`the contract asks for ${what} ${JSON.stringify(got)}; this library implements ${known}`);
  };
  if (!p || p.version !== 1) refuse("preprocessing version", p?.version, "1");
  if (p.layout !== "NHWC") refuse("layout", p.layout, "NHWC");
  if (p.dtype !== "float32") refuse("dtype", p.dtype, "float32");
  const g = p.grayscale ?? {};
  if (g.method !== "luma") refuse("grayscale method", g.method, "luma");
  if (!Array.isArray(g.coefficients) || g.coefficients.length !== 3 || !g.coefficients.every(Number.isFinite)) {
    refuse("luma coefficients", g.coefficients, "three numbers");
  }
  if (g.single_channel_inputs !== "used as they are") refuse("single-channel handling", g.single_channel_inputs, "'used as they are'");
  const background = p.alpha?.composite_over;
  if (!(background >= 0 && background <= 255)) refuse("alpha background", background, "a gray level 0-255");
  const r = p.resize ?? {};
  if (r.method !== "bilinear") refuse("resize method", r.method, "bilinear");
  if (r.half_pixel_centers !== true || r.align_corners !== false) refuse("resize sampling", { half_pixel_centers: r.half_pixel_centers, align_corners: r.align_corners }, "half-pixel centres without align_corners");
  if (r.antialias !== false) refuse("resize antialias", r.antialias, "none");
  if (r.edge !== "clamp") refuse("resize edge", r.edge, "clamp");
  if (!(Number.isInteger(r.width) && Number.isInteger(r.height) && r.width > 0 && r.height > 0)) refuse("resize size", [r.width, r.height], "a width and height");
  const divide = p.scale?.divide_by;
  if (!(divide > 0)) refuse("scale", p.scale, "divide_by > 0");
  return { coefficients: g.coefficients, background, width: r.width, height: r.height, divideBy: divide };
}

// ----------------------------------------------------------------------------- the classifier

class ColumnClassifier {
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
        throw new ContractError(`the model has no ${what} named '${absent.join("', '")}' (it has: ${Object.keys(entries).join(", ")}): contract and model do not belong together`);
      }
    };
    missing([this.inputName], sig.inputs, "input");
    missing([heads.heaven, heads.earth], sig.outputs, "output");
    const [, h, w] = contract.input.shape;
    if (h !== spec.height || w !== spec.width) {
      throw new ContractError(`the contract resizes to ${spec.width}x${spec.height} but the model takes ${w}x${h}`);
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
    const readings = decode(heaven, earth, this.heads.threshold);
    return many ? readings : readings[0];
  }

  /** Raw head outputs for a preprocessed batch: {heaven: Float32Array [N], earth: Float32Array [N*5]}. */
  async infer(x, n) {
    const tf = this.tf;
    if (!this.model) throw new ContractError("this classifier was disposed");
    if (tf.getBackend() !== backendName(this.backend)) {
      throw new ContractError(`this classifier was loaded on ${this.backend} but TF.js now runs ${tf.getBackend()}: one backend per page`);
    }
    const { width, height } = this.spec;
    const names = [this.heads.heaven, this.heads.earth];
    // outputs by name, never by position: the converter's output order is not stable
    const outs = tf.tidy(() => {
      const input = tf.tensor4d(x, [n, height, width, 1], "float32");
      const result = this.model.execute({ [this.inputName]: input }, names);
      return Array.isArray(result) ? result : [result];
    });
    try {
      const expected = [[n, 1], [n, 5]];
      outs.forEach((t, i) => {
        if (String(t.shape) !== String(expected[i])) {
          throw new ContractError(`output '${names[i]}' has shape [${t.shape}], the contract says [${expected[i]}]`);
        }
      });
      const [heaven, earth] = await Promise.all(outs.map((t) => t.data()));
      return { heaven, earth };
    } finally {
      tf.dispose(outs);
    }
  }

  /** Run the contract's golden vectors; throw if any probability strays beyond the tolerance. */
  async checkGolden(toleranceOverride) {
    const golden = this.contract.golden ?? {};
    const vectors = golden.vectors ?? [];
    if (vectors.length === 0) throw new ContractError("the contract has no golden vectors to check this backend with");
    const tolerance = toleranceOverride ?? golden.tolerance?.[this.backend];
    if (typeof tolerance !== "number") {
      throw new ContractError(`the contract gives no golden tolerance for backend '${this.backend}' (it has: ${Object.keys(golden.tolerance ?? {}).join(", ")})`);
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
      throw new ContractError(
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

// ----------------------------------------------------------------------------- decoding

/**
 * Head outputs -> readings, exactly the contract's rule:
 * digit = 5 * (heaven >= threshold) + argmax(earth); confidence = max(p, 1 - p) * max(earth).
 * `heaven` has N values, `earth` N*5 (flat, row-major).
 */
export function decode(heaven, earth, threshold = 0.5) {
  const readings = [];
  for (let i = 0; i < heaven.length; i++) {
    const p = heaven[i];
    const probs = Array.from(earth.slice(5 * i, 5 * i + 5));
    let count = 0;
    for (let k = 1; k < 5; k++) if (probs[k] > probs[count]) count = k; // first maximum, like numpy
    const active = p >= threshold;
    readings.push({
      digit: 5 * (active ? 1 : 0) + count,
      confidence: Math.max(p, 1 - p) * probs[count],
      heaven: { active, p },
      earth: { count, probs },
    });
  }
  return readings;
}

// ----------------------------------------------------------------------------- preprocessing
//
// The same float64 operations, in the same order, as preprocess.py; one rounding to float32
// at the end. So the browser produces the same bits as numpy for the same decoded pixels.

/** RGBA pixels -> model input for one image: Float32Array [height*width]. */
export function preprocessPixels(rgba, width, height, spec) {
  const gray = toGray(rgba, width, height, spec);
  const sized = resizeBilinear(gray, width, height, spec.width, spec.height);
  const out = new Float32Array(sized.length);
  for (let i = 0; i < sized.length; i++) out[i] = Math.fround(sized[i] / spec.divideBy);
  return out;
}

/**
 * RGBA (Uint8ClampedArray, width*height*4) -> Float64Array gray in 0..255.
 * Alpha is composited over `background`, then luma with the contract's coefficients.
 * An opaque pixel with R == G == B is a single-channel value and is used as it is: this is
 * what Python does for gray (mode L) files, and it is the exact luma of such a pixel (the
 * weights sum to 1), where the float sum could be 1 ulp off.
 */
export function toGray(rgba, width, height, { coefficients, background = 255 }) {
  const [kr, kg, kb] = coefficients;
  const n = width * height;
  const gray = new Float64Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    let r = rgba[j], g = rgba[j + 1], b = rgba[j + 2];
    const a = rgba[j + 3];
    if (a === 255 && r === g && g === b) {
      gray[i] = r;
      continue;
    }
    const alpha = a / 255;
    r = r * alpha + background * (1 - alpha);
    g = g * alpha + background * (1 - alpha);
    b = b * alpha + background * (1 - alpha);
    gray[i] = kr * r + kg * g + kb * b;
  }
  return gray;
}

function axisWeights(nIn, nOut) {
  const ratio = nIn / nOut;
  const lo = new Int32Array(nOut), hi = new Int32Array(nOut), frac = new Float64Array(nOut);
  for (let i = 0; i < nOut; i++) {
    const src = Math.min(Math.max((i + 0.5) * ratio - 0.5, 0), nIn - 1);
    const l = Math.floor(src);
    lo[i] = l;
    hi[i] = Math.min(l + 1, nIn - 1);
    frac[i] = src - l;
  }
  return { lo, hi, frac };
}

/** Float64Array gray [height*width] -> [outHeight*outWidth]: bilinear, half-pixel centres, no antialias, edges clamped. */
export function resizeBilinear(gray, width, height, outWidth, outHeight) {
  if (width === outWidth && height === outHeight) return gray;
  const ys = axisWeights(height, outHeight), xs = axisWeights(width, outWidth);
  const out = new Float64Array(outWidth * outHeight);
  for (let y = 0; y < outHeight; y++) {
    const r0 = ys.lo[y] * width, r1 = ys.hi[y] * width, fy = ys.frac[y];
    for (let x = 0; x < outWidth; x++) {
      const x0 = xs.lo[x], x1 = xs.hi[x], fx = xs.frac[x];
      const tl = gray[r0 + x0], tr = gray[r0 + x1], bl = gray[r1 + x0], br = gray[r1 + x1];
      const top = tl + (tr - tl) * fx;
      const bot = bl + (br - bl) * fx;
      out[y * outWidth + x] = top + (bot - top) * fy;
    }
  }
  return out;
}

// ----------------------------------------------------------------------------- pixels

let scratch = null;

function scratchContext(width, height) {
  if (!scratch) {
    const canvas = typeof OffscreenCanvas !== "undefined"
      ? new OffscreenCanvas(width, height)
      : Object.assign(document.createElement("canvas"), { width, height });
    scratch = canvas.getContext("2d", { willReadFrequently: true, colorSpace: "srgb" });
  }
  const canvas = scratch.canvas;
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  scratch.clearRect(0, 0, width, height);
  return scratch;
}

function sizeOf(source) {
  const is = (name) => typeof globalThis[name] === "function" && source instanceof globalThis[name];
  if (is("HTMLImageElement")) {
    if (!source.complete || source.naturalWidth === 0) {
      throw new ContractError(`image ${shortUrl(source.currentSrc || source.src)} is not loaded (or is broken)`);
    }
    return [source.naturalWidth, source.naturalHeight];
  }
  if (is("HTMLVideoElement")) {
    if (source.readyState < 2 || source.videoWidth === 0) throw new ContractError("the video has no frame to read yet");
    return [source.videoWidth, source.videoHeight];
  }
  if (is("VideoFrame")) return [source.displayWidth, source.displayHeight];
  if (is("HTMLCanvasElement") || is("OffscreenCanvas") || is("ImageBitmap")) return [source.width, source.height];
  return null;
}

/** Decoded 8-bit RGBA of a source at its natural size, without colour management where the browser allows. */
export async function pixelsOf(source, index = 0) {
  if (typeof ImageData !== "undefined" && source instanceof ImageData) {
    return { data: source.data, width: source.width, height: source.height };
  }
  const size = sizeOf(source);
  if (!size) throw new ContractError(`source ${index} is not an image, canvas, bitmap, video or ImageData`);
  const [width, height] = size;
  if (!(width > 0 && height > 0)) throw new ContractError(`source ${index} is empty (${width}x${height})`);
  let drawable = source, temporary = null;
  if (typeof HTMLImageElement !== "undefined" && source instanceof HTMLImageElement) {
    // re-decode without the image's colour profile, as Python (Pillow) reads it
    try {
      temporary = await createImageBitmap(source, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
      drawable = temporary;
    } catch {
      drawable = source;
    }
  }
  try {
    const ctx = scratchContext(width, height);
    // Canvas 2D stores premultiplied alpha: opaque pixels come back exact, translucent ones
    // may be off by a rounding step before they are composited over the background.
    ctx.drawImage(drawable, 0, 0, width, height);
    return { data: ctx.getImageData(0, 0, width, height).data, width, height };
  } catch (e) {
    if (e?.name === "SecurityError") throw new ContractError(`source ${index} is cross-origin without CORS: its pixels cannot be read`);
    throw e;
  } finally {
    temporary?.close();
  }
}

async function bitmapFromUrl(url) {
  const blob = await (await fetch(url)).blob();
  return createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
}

// ----------------------------------------------------------------------------- small things

function backendName(backend) {
  return backend === "webgl-f16" ? "webgl" : backend;
}

function folderUrl(baseUrl) {
  const s = String(baseUrl);
  return new URL(s.endsWith("/") ? s : s + "/", globalThis.location?.href);
}

async function fetchBytes(url, name, missing) {
  let res;
  try {
    res = await fetch(url, { cache: "no-store" });
  } catch (e) {
    throw new ContractError(`cannot fetch ${name} from ${url}: ${firstLine(e)}`);
  }
  if (res.status === 404 && missing) throw new ContractError(missing());
  if (!res.ok) throw new ContractError(`cannot fetch ${name}: ${url} answered HTTP ${res.status}`);
  return res.arrayBuffer();
}

function parseJson(bytes, url) {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new ContractError(`${url} is not valid JSON (${firstLine(e)})`);
  }
}

async function verifyDigest(name, bytes, expected) {
  if (!globalThis.crypto?.subtle) {
    throw new ContractError("checking the model needs crypto.subtle: serve the page over https or from localhost");
  }
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  if (hex !== String(expected).toLowerCase()) {
    throw new ContractError(`${name} does not match the contract's SHA-256 (${bytes.byteLength} bytes): the file is corrupt, truncated, or from another model`);
  }
}

function firstLine(e) {
  return String(e?.message ?? e).split("\n")[0];
}

function shortUrl(url) {
  return url.startsWith("data:") ? url.slice(0, 32) + "..." : url;
}
