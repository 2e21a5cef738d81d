// The contract's preprocessing, executed: luma gray, bilinear resize, scale. The same float64
// operations, in the same order, as preprocess.py; one rounding to float32 at the end. So the
// browser produces the same bits as numpy for the same decoded pixels.

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
    if (a === 255) { // v * 1 + background * 0 is v: an opaque pixel needs no compositing
      gray[i] = r === g && g === b ? r : kr * r + kg * g + kb * b;
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
