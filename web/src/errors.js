// The library's errors: one family, each with a stable `code` to act on (the demo and the
// Python tests match codes, never message text) and a one-line message for people.
// The codes are listed in web/README.md; the whole-soroban reader's come from abacus/spec.json.

/** Any failure this library reports: `code` is a stable id, the message one line that says what to fix. */
export class SorobanError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "SorobanError";
    this.code = code;
  }
}

/** The model, its contract or the runtime cannot be loaded or checked, or a source cannot be read. */
export class ContractError extends SorobanError {
  constructor(code, message) {
    super(code, message);
    this.name = "ContractError";
  }
}

/** No soroban where we looked: no markers, two sorobans, a tiny image. Python knows it by this name. */
export class FrameNotFound extends SorobanError {
  constructor(code, message) {
    super(code, message);
    this.name = "FrameNotFound";
  }
}

/** A bad argument from the caller: columns, markers or corners out of range. */
export class UsageError extends SorobanError {
  constructor(code, message) {
    super(code, message);
    this.name = "UsageError";
  }
}

/** The first line of a caught error's message, to quote inside one of ours. */
export function firstLine(e) {
  return String(e?.message ?? e).split("\n")[0];
}
