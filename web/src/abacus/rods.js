// The rods (abacus.column_profile, rod_counts, fit_rods, choose_count): the rectified frame's
// column profile, its period, the (rods, side rail) layouts that fit it, best first, and which
// layout's count wins once the model has read them, and how sure that is.

import { interpGrid, mean, std } from "../numeric/numpy.js";
import { COUNT, FLAGS, MAX_COLUMNS, MIN_COLUMNS, RODS, SIDE_FRACS } from "./spec.js";

const ALL_COUNTS = Array.from({ length: MAX_COLUMNS - MIN_COLUMNS + 1 }, (_, i) => MIN_COLUMNS + i);

/** Mean brightness per column of the rectified frame, rails and bar excluded (rows 10-90%). */
export function columnProfile(rect, width, height) {
  const [top, bottom] = RODS.profile_rows;
  const r0 = Math.trunc(top * height), r1 = Math.trunc(bottom * height);
  const profile = new Float64Array(width);
  for (let r = r0; r < r1; r++) {
    const row = r * width;
    for (let x = 0; x < width; x++) profile[x] += rect[row + x]; // numpy adds row after row
  }
  const n = r1 - r0;
  for (let x = 0; x < width; x++) profile[x] /= n;
  return profile;
}

/**
 * Rod counts consistent with the profile's period (its autocorrelation's first strong peak), and
 * with a stronger peak at about twice it, which may be the true period (rods.py rod_counts).
 */
export function rodCounts(profile) {
  const width = profile.length;
  const a = Math.trunc(RODS.period_window[0] * width), b = Math.trunc(RODS.period_window[1] * width);
  const inner = profile.slice(a, b);
  const m = mean(inner);
  for (let i = 0; i < inner.length; i++) inner[i] -= m;
  const n = inner.length;
  const ac = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let s = 0;
    for (let i = 0; i + k < n; i++) s += inner[i + k] * inner[i];
    ac[k] = s;
  }
  const norm = ac[0] + 1e-9;
  for (let k = 0; k < n; k++) ac[k] /= norm;
  const lo = Math.max(RODS.min_lag, Math.trunc(width / (MAX_COLUMNS + 2)));
  const hi = Math.min(n - 2, Math.trunc(width / RODS.max_lag_divisor));
  const peaks = [];
  for (let k = lo; k < hi; k++) if (ac[k] >= ac[k - 1] && ac[k] >= ac[k + 1] && ac[k] > 0) peaks.push(k);
  if (peaks.length === 0) return ALL_COUNTS.slice();
  const strongest = Math.max(...peaks.map((k) => ac[k]));
  const period = peaks.find((k) => ac[k] >= RODS.peak_share * strongest);
  const twice = peaks.find((k) => k >= RODS.double_period[0] * period && k <= RODS.double_period[1] * period);
  const periods = twice !== undefined && ac[twice] > ac[period] ? [period, twice] : [period];
  const [low, high] = RODS.period_ratio;
  const counts = ALL_COUNTS.filter((c) => periods.some((p) => {
    const ratio = (width / (c + RODS.rails_in_pitches)) / p;
    return ratio >= low && ratio <= high;
  }));
  return counts.length ? counts : ALL_COUNTS.slice();
}

/**
 * Candidate {rods, sideFrac, score} for a profile, best first, one per rod count
 * (abacus.fit_rods: how strongly the profile differs between rods and gaps, minus beads
 * on the side rails).
 */
export function fitRods(profile, columns = null) {
  const width = profile.length;
  const spread = std(profile) + 1e-9;
  const out = [];
  for (const n of columns ? [columns] : rodCounts(profile)) {
    let best = { rods: n, sideFrac: 0, score: -Infinity };
    const rods = new Float64Array(n), gaps = new Float64Array(n + 1), diffs = new Float64Array(n);
    for (const sideFrac of SIDE_FRACS) {
      const pitch = width / (n + 2 * sideFrac);
      const side = sideFrac * pitch;
      for (let i = 0; i < n; i++) rods[i] = interpGrid(side + pitch * (i + 0.5), profile);
      for (let i = 0; i <= n; i++) gaps[i] = interpGrid(side + pitch * i, profile);
      const inner = n > 1 ? gaps.subarray(1, n) : gaps;
      for (let i = 0; i < n; i++) diffs[i] = rods[i] - 0.5 * (gaps[i] + gaps[i + 1]);
      const consistency = Math.abs(mean(diffs)) / (std(diffs) + RODS.spread_share * spread);
      const cut = Math.max(1, Math.trunc(side));
      const ends = new Float64Array(2 * cut);
      ends.set(profile.subarray(0, cut));
      ends.set(profile.subarray(width - cut), cut);
      const flat = std(ends) / spread;
      const score = consistency * Math.abs(mean(rods) - mean(inner)) / spread - RODS.rail_beads_weight * flat;
      if (score > best.score) best = { rods: n, sideFrac, score };
    }
    out.push(best);
  }
  // Python's sorted(key=-score) is stable
  return out.map((c, i) => [c, i]).sort(([a, i], [b, j]) => (-a.score < -b.score ? -1 : -a.score > -b.score ? 1 : i - j)).map(([c]) => c);
}

/**
 * abacus.choose_count: the index of the layout to read, given each layout's mean log
 * confidence, and the rod count {count, confidence, uncertain, given, rival, candidates}.
 * The model decides, unless another count reads within switch_margin and its rods fit
 * plainly better (fitUnit); confidence (0..1, 1 when sure) is, over the other counts, the
 * least of the larger of how much worse each reads (in sure_margins) and fits (in fitUnits).
 */
export function chooseCount(layouts, meanLogs, given = false) {
  const n = layouts.length;
  let best = 0;
  for (let i = 1; i < n; i++) if (meanLogs[i] > meanLogs[best]) best = i; // the first on a tie
  let chosen = best;
  let closeScore = -Infinity;
  for (let o = 0; o < n; o++) {
    const close = meanLogs[best] - meanLogs[o] < COUNT.switch_margin && layouts[o].score - layouts[best].score >= fitUnit(layouts[best].score);
    if (close && layouts[o].score > closeScore) {
      chosen = o;
      closeScore = layouts[o].score;
    }
  }
  let rival = null, least = Infinity;
  for (let o = 0; o < n; o++) {
    if (o === chosen) continue;
    const worse = Math.max(
      (meanLogs[chosen] - meanLogs[o]) / COUNT.sure_margin,
      (layouts[chosen].score - layouts[o].score) / fitUnit(layouts[chosen].score),
    );
    if (worse < least) {
      least = worse;
      rival = layouts[o].rods;
    }
  }
  const confidence = rival === null ? 1 : Math.min(Math.max(least, 0), 1);
  const candidates = layouts.map(({ rods, sideFrac, score }, i) => ({ rods, sideFrac, score, meanLogConfidence: meanLogs[i] }));
  const rods = { count: layouts[chosen].rods, confidence, uncertain: confidence < 1, given, rival, candidates };
  return { chosen, rods: withDoubt({ ...rods, hiddenShare: 0, endHidden: false, beyondEnd: false }) }; // RodCount's defaults
}

/**
 * RodCount.doubt: why the count is unsure, the first that holds ("rival", "beyond_end",
 * "many_hidden": more than COUNT.hidden_share of its columns, "end_hidden", "hidden"), or null
 * when it is sure; set on every rod count these functions make.
 */
function withDoubt(rods) {
  let doubt = null;
  if (rods.uncertain) {
    if (rods.confidence < 1) doubt = "rival";
    else if (rods.beyondEnd) doubt = "beyond_end";
    else if (rods.hiddenShare > COUNT.hidden_share) doubt = "many_hidden";
    else doubt = rods.endHidden ? "end_hidden" : "hidden";
  }
  return { ...rods, doubt };
}

/**
 * RodCount.with_hidden: the rod count once it is known which of its columns (`hidden`, booleans)
 * read below the flag threshold; unsure when any does (never when given).
 */
export function withHidden(rods, hidden) {
  const n = hidden.length;
  const hiddenShare = n ? hidden.filter(Boolean).length / n : 0;
  const endHidden = n > 0 && (hidden[0] || hidden[n - 1]);
  const unsure = rods.uncertain || (!rods.given && hiddenShare > 0);
  return withDoubt({ ...rods, uncertain: unsure, hiddenShare, endHidden });
}

/**
 * RodCount.with_beyond: the rod count once the crops one pitch past its end rods are read; unsure
 * when one inside the image (`outsides`: the share of each crop outside it) reads at least
 * COUNT.beyond_end sure, as the frame may be cut short (never when given).
 */
export function withBeyond(rods, confidences, outsides) {
  const beyondEnd = confidences.some((c, i) => c >= COUNT.beyond_end && outsides[i] <= FLAGS.out_of_frame_share);
  return withDoubt({ ...rods, uncertain: rods.uncertain || (beyondEnd && !rods.given), beyondEnd });
}

/** abacus.rods._fit_unit: the fit score gap that counts, fit_margin or fit_share of the score. */
function fitUnit(score) {
  return Math.max(COUNT.fit_margin, COUNT.fit_share * Math.abs(score));
}
