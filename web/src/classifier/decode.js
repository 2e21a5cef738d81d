// The contract's decode rule: the two heads' outputs -> a digit and a confidence per column.

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
