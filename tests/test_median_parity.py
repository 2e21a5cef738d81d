"""The browser's medians (web/src/numeric/median.js, by selection rather than a sort) are numpy's
np.median to the bit, in float64 and in float32, on the arrays that trip selection up: sorted,
reversed, constant, few distinct values, even and odd lengths, one value, NaN and none."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np

from tests.conftest import run_node

NODE_SCRIPT = """
import fs from "node:fs";
const { median, median32 } = await import("./src/numeric/median.js");
const cases = JSON.parse(fs.readFileSync(process.argv[1]));
const show = (v) => (Number.isNaN(v) ? "nan" : v);
console.log(JSON.stringify(cases.map((c) => {
  const values = c.values.map((v) => (v === "nan" ? NaN : v));
  const f32 = Float32Array.from(values);
  const inPlace = Float32Array.from(values);
  return { f64: show(median(values)), f32: show(median32(f32)), inPlace: show(median32(inPlace, true)) };
})));
"""


def _arrays() -> list[np.ndarray]:
    rng = np.random.default_rng(20261203)
    out = [
        np.array([3.0]),
        np.array([2.0, 1.0]),
        np.arange(64, dtype=np.float64),
        np.arange(65, dtype=np.float64)[::-1],
        np.full(50, 7.25),
        np.array([np.nan, 1.0, 2.0]),
        np.array([1.0, np.nan, 2.0, 3.0]),
        np.array([]),
    ]
    for n in (5, 6, 31, 32, 199, 256):
        out.append(rng.normal(0, 30, n))
        out.append(rng.integers(-3, 4, n).astype(np.float64))  # few distinct values, many ties
        out.append(np.sort(rng.normal(0, 1, n)))
    out.append(np.array([1e-7, 3.1, -2.2, 16777217.0, 0.1, 0.3]))  # a float32 mean that rounds
    return out


def _numpy(a: np.ndarray, dtype) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the median of nothing is nan
        return float(np.median(a.astype(dtype)))


def test_the_browser_s_medians_are_numpy_s_to_the_bit(tmp_path):
    arrays = _arrays()
    cases = [{"values": ["nan" if math.isnan(v) else v for v in a.tolist()]} for a in arrays]
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    for a, got in zip(arrays, run_node(NODE_SCRIPT, tmp_path / "cases.json"), strict=True):
        want64, want32 = _numpy(a, np.float64), _numpy(a, np.float32)
        for key, want in (("f64", want64), ("f32", want32), ("inPlace", want32)):
            value = float("nan") if got[key] == "nan" else got[key]
            assert (math.isnan(want) and math.isnan(value)) or value == want, (key, a.tolist(), value, want)
