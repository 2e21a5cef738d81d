// The contract's decode rule: the two heads' outputs -> a digit and a confidence per column.

const EPS = 1e-12; // probabilities kept off 0 and 1 before their logarithms (contract.py's _EPS)

/**
 * Head outputs -> readings, exactly the contract's rule:
 * digit = 5 * (heaven >= threshold) + argmax(earth); confidence = max(p, 1 - p) * max(earth),
 * on probabilities tempered by `calibration` ({heaven, earth} temperatures, the contract's
 * decode.calibration; none means 1): heaven = sigmoid(logit / T), earth = softmax(log / T).
 * `heaven` has N values, `earth` N*5 (flat, row-major).
 */
export function decode(heaven, earth, threshold = 0.5, calibration = null) {
  const tHeaven = calibration?.heaven ?? 1, tEarth = calibration?.earth ?? 1;
  const readings = [];
  for (let i = 0; i < heaven.length; i++) {
    const p = tHeaven === 1 ? heaven[i] : temperedHeaven(heaven[i], tHeaven);
    const raw = Array.from(earth.slice(5 * i, 5 * i + 5));
    const probs = tEarth === 1 ? raw : temperedEarth(raw, tEarth);
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

function temperedHeaven(p, t) {
  const q = Math.min(Math.max(p, EPS), 1 - EPS);
  return 1 / (1 + Math.exp(-Math.log(q / (1 - q)) / t));
}

function temperedEarth(probs, t) {
  const z = probs.map((v) => Math.log(Math.min(Math.max(v, EPS), 1)) / t);
  const top = Math.max(...z);
  const e = z.map((v) => Math.exp(v - top));
  let sum = 0;
  for (const v of e) sum += v; // in order, as numpy sums 5 values
  return e.map((v) => v / sum);
}
