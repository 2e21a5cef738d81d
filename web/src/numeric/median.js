// np.median without a full sort: the middle values picked by selection (Hoare's partition), which
// gives exactly the values a sort would, in linear time. The frame search takes thousands of
// medians per photo, and sorting them was most of its time.

/**
 * Reorder `a` so that a[k] holds the value a sort would put there, nothing before it larger and
 * nothing after it smaller. `a`: a typed array free of NaN.
 */
function select(a, k) {
  let lo = 0, hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    // median of three as the pivot: sorted and nearly sorted runs stay linear
    if (a[mid] < a[lo]) [a[mid], a[lo]] = [a[lo], a[mid]];
    if (a[hi] < a[lo]) [a[hi], a[lo]] = [a[lo], a[hi]];
    if (a[hi] < a[mid]) [a[hi], a[mid]] = [a[mid], a[hi]];
    const pivot = a[mid];
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/** The middle value of `a`, or its two middle values when its length is even; reorders `a`. */
function middles(a) {
  const n = a.length, h = n >> 1;
  for (let i = 0; i < n; i++) if (a[i] !== a[i]) return [NaN]; // numpy: NaN anywhere, NaN out
  select(a, h);
  if (n % 2) return [a[h]];
  let low = a[0]; // after select, the largest of a[0 .. h) is the other middle value
  for (let i = 1; i < h; i++) if (a[i] > low) low = a[i];
  return [low, a[h]];
}

/** np.median of numbers: the mean of the two middle ones when their count is even. */
export function median(values) {
  const m = middles(Float64Array.from(values));
  return m.length === 1 ? m[0] : (m[0] + m[1]) / 2;
}

/** np.median of float32 values in float32 (the float32 mean of the two middle ones). */
export function median32(values, inPlace = false) {
  const m = middles(inPlace ? values : Float32Array.from(values));
  return m.length === 1 ? m[0] : Math.fround(Math.fround(m[0] + m[1]) / 2);
}
