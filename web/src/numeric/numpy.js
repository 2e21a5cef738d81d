// numpy's float64 arithmetic, step for step: sums, means and deviations round as they do in
// Python, so the browser's rod fit and crops are bit-identical to abacus.py's.

/**
 * numpy's float64 sum of a[start .. start+n): pairwise in blocks of 8, as np.sum and
 * np.mean do over a contiguous axis, so means and deviations round as they do in Python.
 */
export function pairwiseSum(a, start, n) {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    let r0 = a[start], r1 = a[start + 1], r2 = a[start + 2], r3 = a[start + 3];
    let r4 = a[start + 4], r5 = a[start + 5], r6 = a[start + 6], r7 = a[start + 7];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      const p = start + i;
      r0 += a[p]; r1 += a[p + 1]; r2 += a[p + 2]; r3 += a[p + 3];
      r4 += a[p + 4]; r5 += a[p + 5]; r6 += a[p + 6]; r7 += a[p + 7];
    }
    let res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** np.mean of a whole array. */
export function mean(a) {
  return pairwiseSum(a, 0, a.length) / a.length;
}

/** np.std (ddof 0): the mean, the squared deviations, their mean, the root. */
export function std(a) {
  const m = mean(a);
  const sq = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - m;
    sq[i] = d * d;
  }
  return Math.sqrt(pairwiseSum(sq, 0, sq.length) / sq.length);
}

/** numpy.linspace(start, stop, num) */
export function linspace(start, stop, num) {
  const step = (stop - start) / (num - 1);
  const out = new Float64Array(num);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/** np.interp on the grid x = 0.5, 1.5, ... (spacing 1), ends clamped. */
export function interpGrid(x, profile) {
  const n = profile.length;
  if (x > n - 0.5) return profile[n - 1];
  if (x < 0.5) return profile[0];
  if (x === n - 0.5) return profile[n - 1];
  let j = Math.floor(x - 0.5); // exact: x - 0.5 is representable here
  if (j > n - 2) j = n - 2;
  const xj = j + 0.5;
  if (xj === x) return profile[j];
  const slope = (profile[j + 1] - profile[j]) / ((j + 1.5) - xj);
  let r = slope * (x - xj) + profile[j];
  if (Number.isNaN(r)) {
    r = slope * (x - (j + 1.5)) + profile[j + 1];
    if (Number.isNaN(r) && profile[j] === profile[j + 1]) r = profile[j];
  }
  return r;
}

/** np.percentile(values, q) of float64 values: linear, with numpy's lerp. */
export function percentile(values, q) {
  const v = Float64Array.from(values).sort();
  const index = (q / 100) * (v.length - 1), lo = Math.floor(index), t = index - lo;
  if (lo + 1 >= v.length) return v[lo];
  const a = v[lo], b = v[lo + 1], diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}
