// Running a loaded graph model the contract's way, for the column classifier and the frame
// detector alike: on the backend it was loaded on, outputs fetched by name (the converter's
// output order is not stable), and each output's shape checked against the contract.

import { ContractError } from "../errors.js";
import { backendName } from "./backend.js";

/**
 * The outputs `names` of `model` for the float32 input `x` of `shape`, as typed arrays in the
 * order of `names`. `what` names the model in errors; `expected` holds each output's shape.
 */
export async function runByName(tf, model, { what, backend, inputName, names, x, shape, expected }) {
  if (!model) throw new ContractError("disposed", `this ${what} was disposed`);
  if (tf.getBackend() !== backendName(backend)) {
    throw new ContractError("backend_changed", `this ${what} was loaded on ${backend} but TF.js now runs ${tf.getBackend()}: one backend per page`);
  }
  const outs = tf.tidy(() => {
    const result = model.execute({ [inputName]: tf.tensor4d(x, shape, "float32") }, names);
    return Array.isArray(result) ? result : [result];
  });
  try {
    outs.forEach((t, i) => {
      if (String(t.shape) !== String(expected[i])) {
        throw new ContractError("contract_mismatch", `output '${names[i]}' has shape [${t.shape}], the contract says [${expected[i]}]`);
      }
    });
    return await Promise.all(outs.map((t) => t.data()));
  } finally {
    tf.dispose(outs);
  }
}
