// The model's contract.json, checked field by field against what this library implements:
// any format, rule or method it does not know is refused with a ContractError, never guessed.
// Python (src/soroban_vision/contract.py, preprocess.py) writes the contract.

import { ContractError } from "../errors.js";

export const CONTRACT_FORMAT = "soroban-vision/contract";
export const CONTRACT_VERSION = 1;
export const PRECISIONS = ["float32", "float16", "uint8"];
// The decode rule this library implements; a contract asking for another rule is refused.
export const DECODE_RULE = {
  digit: "5 * (heaven >= threshold) + argmax(earth)",
  confidence: "max(heaven, 1 - heaven) * max(earth)",
};

/** The contract's format, version, precision, input and decode rule. */
export function checkContract(contract, url) {
  checkDocument(contract, url);
  for (const key of ["digit", "confidence"]) {
    if (contract.decode?.[key] !== DECODE_RULE[key]) {
      throw new ContractError("contract_unsupported", `the contract decodes ${key} as '${contract.decode?.[key]}'; this library implements '${DECODE_RULE[key]}'`);
    }
  }
}

// The frame model's outputs by role (Python: contract.FRAME_OUTPUTS), and the decode it states.
export const CORNER_ORDER = ["top-left", "top-right", "bottom-right", "bottom-left"];
export const FRAME_DECODE = { present: "frame >= threshold" };

/**
 * A frame model's contract: the same document checks, then its roles: `corners` [N,4,2] in the
 * stated order and a sigmoid `frame` [N,1] with decode.threshold. Returns {corners, frame, threshold}.
 */
export function checkFrameContract(contract, url) {
  checkDocument(contract, url);
  const byRole = {};
  for (const [name, out] of Object.entries(contract.outputs ?? {})) byRole[out.role] = { name, ...out };
  const { corners, frame } = byRole;
  const refuse = (message) => {
    throw new ContractError("contract_unsupported", message);
  };
  if (!corners || !frame) refuse(`${url} is not a frame model's contract: it must name a 'corners' and a 'frame' output`);
  if (String(corners.shape?.slice(1)) !== "4,2" || String(frame.shape?.slice(1)) !== "1") {
    refuse(`expected outputs corners [N,4,2] and frame [N,1], the contract has ${JSON.stringify(corners.shape)} and ${JSON.stringify(frame.shape)}`);
  }
  if (String(corners.order) !== String(CORNER_ORDER)) refuse(`the contract orders the corners ${JSON.stringify(corners.order)}; this library implements ${CORNER_ORDER.join(", ")}`);
  if (frame.activation !== "sigmoid") refuse(`expected a sigmoid frame output, the contract has ${frame.activation}`);
  if (contract.decode?.present !== FRAME_DECODE.present) refuse(`the contract decodes present as '${contract.decode?.present}'; this library implements '${FRAME_DECODE.present}'`);
  const threshold = contract.decode?.threshold;
  if (typeof threshold !== "number") refuse("the contract gives no frame threshold");
  return { corners: corners.name, frame: frame.name, threshold };
}

/** Format, version, weight precision and a float32 NHWC gray input: what every contract has. */
function checkDocument(contract, url) {
  if (contract?.format !== CONTRACT_FORMAT) throw new ContractError("not_a_contract", `${url} is not a soroban-vision contract`);
  if (contract.version !== CONTRACT_VERSION) {
    throw new ContractError("contract_version", `${url} has contract version ${contract.version}; this library knows ${CONTRACT_VERSION}`);
  }
  const precision = contract.weights?.precision;
  if (!PRECISIONS.includes(precision)) {
    throw new ContractError("contract_unsupported", `unsupported weight precision '${precision}' in ${url}; this library loads ${PRECISIONS.join(", ")}`);
  }
  const input = contract.input ?? {};
  const [, h, w, c] = input.shape ?? [];
  if (input.layout !== "NHWC" || input.dtype !== "float32" || c !== 1 || !(h > 0 && w > 0)) {
    throw new ContractError("contract_unsupported", `the contract's input (${JSON.stringify(input.shape)} ${input.layout} ${input.dtype}) is not a float32 NHWC gray image`);
  }
}

/** The precision the contract states must be the one the shards hold. */
export function checkPrecision(precision, manifest) {
  const seen = new Set();
  for (const group of manifest) {
    for (const w of group.weights) if (w.quantization) seen.add(w.quantization.dtype);
  }
  const ok = precision === "float32" ? seen.size === 0 : seen.size === 1 && seen.has(precision);
  if (!ok) {
    const found = seen.size ? [...seen].join("+") : "float32";
    throw new ContractError("contract_mismatch", `the contract says ${precision} weights but model.json holds ${found} weights`);
  }
}

/** The heads by role: {heaven: output name, earth: output name, threshold}. */
export function checkOutputs(contract) {
  const byRole = {};
  for (const [name, out] of Object.entries(contract.outputs ?? {})) byRole[out.role] = { name, ...out };
  const { heaven, earth } = byRole;
  const refuse = (message) => {
    throw new ContractError("contract_unsupported", message);
  };
  if (!heaven || !earth) refuse("the contract must name a 'heaven' and an 'earth' output");
  if (heaven.activation !== "sigmoid" || earth.activation !== "softmax") {
    refuse(`expected a sigmoid heaven and a softmax earth output, the contract has ${heaven.activation} and ${earth.activation}`);
  }
  if (String(heaven.shape?.slice(1)) !== "1" || String(earth.shape?.slice(1)) !== "5") {
    refuse(`expected outputs heaven [N,1] and earth [N,5], the contract has ${JSON.stringify(heaven.shape)} and ${JSON.stringify(earth.shape)}`);
  }
  const threshold = contract.decode?.threshold ?? heaven.threshold;
  if (typeof threshold !== "number") refuse("the contract gives no heaven threshold");
  return { heaven: heaven.name, earth: earth.name, threshold, calibration: checkCalibration(contract.decode?.calibration) };
}

/**
 * The decode section's calibration: {heaven, earth} temperatures (temperature scaling), or null
 * for a contract without one (temperatures of 1, as every contract before it meant).
 */
export function checkCalibration(c) {
  if (c == null) return null;
  const t = [c.heaven ?? 1, c.earth ?? 1];
  if (c.method !== "temperature" || !t.every((v) => typeof v === "number" && v > 0 && Number.isFinite(v))) {
    throw new ContractError("contract_unsupported", `the contract's calibration ${JSON.stringify(c)} is not temperature scaling with two positive temperatures (heaven, earth)`);
  }
  return { heaven: t[0], earth: t[1] };
}

/** The contract's preprocessing, checked: any method this library does not implement is refused. */
export function checkPreprocessing(p) {
  const refuse = (what, got, known) => {
    throw new ContractError("contract_unsupported", `the contract asks for ${what} ${JSON.stringify(got)}; this library implements ${known}`);
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
  // files upright by their EXIF orientation, as the browser decodes them; contracts written
  // before the field existed meant the same
  const orientation = p.orientation ?? "exif";
  if (orientation !== "exif") refuse("orientation", p.orientation, "'exif' (files upright by their EXIF orientation, as the browser decodes them)");
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
