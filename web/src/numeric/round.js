// Rounding as Python and numpy do it (half to even), where JavaScript rounds half up.

/** np.rint: round half to even. */
export function rint(x) {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Python's round(x, 2): half to even on the exact binary value. */
export function round2(x) {
  if (Number.isInteger(x * 8) && !Number.isInteger(x * 4)) { // an exact tie at the third decimal
    const y = x * 100, f = Math.floor(y);
    return (f % 2 === 0 ? f : f + 1) / 100;
  }
  return Number(x.toFixed(2));
}

/** Points [[x, y], ...] rounded to 0.01, as abacus._round does. */
export function roundPoints(points) {
  return points.map(([x, y]) => [round2(x), round2(y)]);
}
