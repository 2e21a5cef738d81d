"""The whole-soroban reader's spec (web/src/abacus/spec.json) means the same in both languages.

Node imports web/src/abacus/spec.js and prints what the browser code actually uses; Python
compares it with the spec as Python loads it. The rod count decision and the Stabilizer, pure
code on both sides, answer the same cases alike. No browser: a second or two.
"""

from __future__ import annotations

import json
import string

import numpy as np
import pytest

from tests.conftest import WEB, run_node

SPEC_JSON = WEB / "src" / "abacus" / "spec.json"

# What the browser's modules use: their exported constants, a default Stabilizer, the messages.
NODE_SCRIPT = """
import * as s from "./src/abacus/spec.js";
import { chooseCount, rodCounts } from "./src/abacus/rods.js";
import { Stabilizer } from "./src/abacus/stabilizer.js";
const fields = JSON.parse(process.argv[1]);
const { counts, sequences, warnings, profiles } = JSON.parse(process.argv[2]);
const { frames, minConfidence, motion } = new Stabilizer();
const stabilized = sequences.map(([options, seq]) => {
  const st = new Stabilizer(options);
  return seq.map(([n, c, corners, rods]) => [st.update(n, c, corners, rods), st.rodsVary]);
});
console.log(JSON.stringify({
  columns: [s.MIN_COLUMNS, s.MAX_COLUMNS],
  min_side: s.MIN_SIDE,
  work_side: s.WORK_SIDE,
  low_confidence: s.LOW_CONFIDENCE,
  marker_modes: s.MARKER_MODES,
  markers: s.MARKERS,
  rectify: s.RECTIFY,
  rods: s.RODS,
  layouts_read: s.LAYOUTS_READ,
  frame_search: s.spec.frame_search,
  edges: (await import("./src/abacus/edges.js")).EDGES,
  side_fracs: Array.from(s.SIDE_FRACS),
  stabilizer: { frames, min_confidence: minConfidence, motion },
  errors: Object.fromEntries(Object.entries(fields).map(([id, f]) => [id, s.message(id, f)])),
  count: s.COUNT,
  warnings: Object.fromEntries(Object.entries(warnings).map(([id, f]) => [id, s.warningText(id, f)])),
  rodCounts: profiles.map((p) => rodCounts(Float64Array.from(p))),
  choices: counts.map(([layouts, logs, given]) =>
    chooseCount(layouts.map(([rods, sideFrac, score]) => ({ rods, sideFrac, score })), logs, given)),
  stabilized,
}));
"""


def python_spec() -> tuple[dict, np.ndarray]:
    """The spec as Python loads it, and its rod-fit grid."""
    from soroban_vision.abacus import spec

    return spec.SPEC, spec.side_fracs()


def sample_fields(template: str) -> dict:
    """A value for each {placeholder} of a message, numbers and text alike."""
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    return {name: (40 + i if i % 2 == 0 else f"'value {i}'") for i, name in enumerate(names)}


@pytest.fixture(scope="module")
def spec() -> dict:
    return python_spec()[0]


# (layouts as fit_rods gives them, mean log confidences, count given): the model decides; a count
# that reads within switch_margin and fits better by fit_margin wins; ties; one layout; unsure
COUNT_CASES = [
    ([[13, 0.7, 9.8], [14, 0.3, 7.9], [12, 1.0, -0.05]], [0.0, -0.0654, -0.0018], False),
    ([[12, 1.0, -0.26], [13, 0.6, 2.22], [14, 0.3, 1.21]], [-0.0016, -0.0212, -0.0766], False),
    ([[11, 0.85, 7.21], [12, 0.35, 7.32], [10, 1.0, -0.11]], [0.0, -0.0386, -0.0577], False),
    ([[12, 0.975, 11.03], [13, 0.525, 7.66], [14, 0.3, -0.5]], [-0.3122, 0.0, -0.0117], False),
    ([[7, 0.5, 1.0], [8, 0.5, 1.0]], [-0.01, -0.01], False),
    ([[9, 0.5, 2.0], [10, 0.5, 2.3], [8, 0.5, 2.3]], [-0.02, -0.03, -0.04], False),
    ([[13, 0.6, 4.9]], [-0.0001], True),
    ([[5, 0.6, -1.0]], [-0.9], False),
]
CORNERS = [[0, 0], [100, 0], [100, 30], [0, 30]]
SURE, UNSURE = {"count": 13, "uncertain": False}, {"count": 13, "uncertain": True}
# (Stabilizer options, frames [number, confidences, corners, rods]): the rod count fed as a
# number, as a reading's rods, unsure, changing under the same number, and not at all
STABILIZER_CASES = [
    (
        {"frames": 3},
        [[42, [0.99], CORNERS, 13]] * 2 + [[42, [0.99], CORNERS, 12]] * 3 + [[42, [0.99], CORNERS]],
    ),
    ({"frames": 2}, [[7, [0.9], None, SURE], [7, [0.9], None, UNSURE], [7, [0.9], None, SURE]] * 2),
    (
        {"frames": 2},
        [[123, [0.9], None, 4], [123, [0.9], None, 3], [123, [0.9], None, 3], [None, [], None, None]],
    ),
    ({}, [[5, [0.95, 0.99], CORNERS]] * 6),
]


def _profile(rods: int, width: int, harmonic: float) -> np.ndarray:
    """A column profile of `rods` rods (rails 0.65 pitches wide) whose bead edges repeat at half
    the pitch `harmonic` times as strongly as the rods themselves."""
    pitch = width / (rods + 1.3)
    x = np.arange(width) + 0.5 - 0.65 * pitch
    return 100 + 10 * np.cos(2 * np.pi * x / pitch) + 10 * harmonic * np.cos(4 * np.pi * x / pitch)


# (rods, profile): plain rods, and rods whose half-pitch pattern is the first strong peak
PROFILES = [(13, _profile(13, 700, 0.5)), (13, _profile(13, 700, 3.0)), (27, _profile(27, 700, 0.5))]


@pytest.fixture(scope="module")
def js(spec) -> dict:
    fields = {eid: sample_fields(text) for eid, text in spec["errors"].items()}
    cases = {
        "counts": COUNT_CASES,
        "profiles": [p.tolist() for _, p in PROFILES],
        "sequences": STABILIZER_CASES,
        "warnings": {wid: sample_fields(text) for wid, text in spec["warnings"].items()},
    }
    return run_node(NODE_SCRIPT, json.dumps(fields), json.dumps(cases))


def test_python_loads_the_one_spec_file(spec):
    assert spec == json.loads(SPEC_JSON.read_text())


def test_the_constants_are_the_same(js, spec):
    assert js["columns"] == [spec["columns"]["min"], spec["columns"]["max"]]
    assert js["min_side"] == spec["photo"]["min_side"]
    assert js["work_side"] == spec["photo"]["work_side"]
    assert js["low_confidence"] == spec["low_confidence"]
    assert js["marker_modes"] == spec["markers"]["modes"] == ["auto", "on", "off"]
    assert js["markers"] == spec["markers"]
    assert js["rectify"] == spec["rectify"]
    assert js["rods"] == spec["rods"]
    assert js["layouts_read"] == spec["rods"]["layouts_read"]
    assert js["frame_search"] == spec["frame_search"] and js["edges"] == spec["frame_search"]["edges"]


def test_the_frame_search_runs_on_the_spec_s_numbers(spec):
    """Python's frame search takes its numbers from the spec, as the browser's does."""
    import importlib

    from soroban_vision.abacus import edges, score
    from soroban_vision.frame import locate as model_locate
    from soroban_vision.frame import refine

    search = spec["frame_search"]
    assert tuple(search["edges"][k] for k in ("reach", "tilts", "switch_margin")) == (
        edges.REACH,
        edges.TILTS,
        edges.SWITCH_MARGIN,
    )
    assert (
        search["score"]["beyond"],
        search["score"]["lopsided_weight"],
    ) == (score.BEYOND, score.LOPSIDED_WEIGHT)
    assert (search["snap"]["reach_end"], search["snap"]["outermost"]) == (refine.REACH_END, refine.OUTERMOST)
    assert (
        search["model"]["paint_out"],
        search["model"]["two_sorobans"],
    ) == (model_locate.PAINT_OUT, model_locate.TWO_SOROBANS)
    locate = importlib.import_module(
        "soroban_vision.abacus.locate"
    )  # the package exports a function of that name
    assert search["accept"]["looks_like_a_frame"] == locate.LOOKS_LIKE_A_FRAME


def test_the_stabilizer_defaults_are_the_same(js, spec):
    want = {
        "frames": spec["stabilizer"]["frames"],
        "min_confidence": spec["low_confidence"],
        "motion": spec["stabilizer"]["motion"],
    }
    assert js["stabilizer"] == want


def test_the_rod_fit_grid_is_bit_equal(js):
    ours = np.array(js["side_fracs"], np.float64)  # JSON carries each double exactly
    _, grid = python_spec()
    assert ours.shape == (57,)
    np.testing.assert_array_equal(ours, grid)
    np.testing.assert_array_equal(ours, np.linspace(0.3, 1.0, 57))


def test_the_error_messages_are_the_same(js, spec):
    assert set(js["errors"]) == set(spec["errors"])
    from soroban_vision.abacus.spec import message

    for eid, text in spec["errors"].items():
        assert js["errors"][eid] == message(eid, **sample_fields(text)), eid
        assert "{" not in js["errors"][eid], eid


def test_the_rod_count_thresholds_are_the_same(js, spec):
    count = spec["rods"]["count"]
    assert js["count"] == count
    assert 0 < count["switch_margin"] < count["sure_margin"] and count["fit_margin"] > 0


def test_the_warnings_are_the_same(js, spec):
    # every RodCount.doubt has its warning
    doubts = {f"rods_{d}" for d in ("rival", "beyond_end", "many_hidden", "end_hidden", "hidden")}
    assert set(js["warnings"]) == set(spec["warnings"]) >= doubts
    assert set(spec["stabilizer"]["forgiven_doubts"]) == {"hidden", "end_hidden"}
    for wid, text in spec["warnings"].items():
        assert js["warnings"][wid] == text.format(**sample_fields(text)), wid
        assert "{" not in js["warnings"][wid], wid


def test_the_rod_count_is_chosen_alike(js):
    """rods.choose_count and rods.js chooseCount: the same layout, count, confidence and rival."""
    from soroban_vision.abacus.rods import choose_count

    for (layouts, logs, given), theirs in zip(COUNT_CASES, js["choices"], strict=True):
        chosen, ours = choose_count([tuple(lay) for lay in layouts], logs, given)
        what = (layouts, logs)
        assert theirs["chosen"] == chosen, what
        got = theirs["rods"]
        assert (got["count"], got["uncertain"], got["given"], got["rival"]) == (
            ours.count,
            ours.uncertain,
            ours.given,
            ours.rival,
        ), what
        assert got["confidence"] == pytest.approx(ours.confidence, abs=1e-12), what
        assert [(c["rods"], c["meanLogConfidence"]) for c in got["candidates"]] == [
            (c["rods"], c["mean_log_confidence"]) for c in ours.candidates
        ], what
    # and the cases mean what they say: the model decides, the fit overrules a near tie, doubt shows
    choices = [(c["chosen"], c["rods"]["uncertain"]) for c in js["choices"]]
    assert choices[0] == (0, False)  # 12 rods read almost as well, but fit far worse: sure
    assert choices[1] == (1, False)  # a hand: 12 reads a little better, 13 fits far better
    assert choices[2] == (0, True)  # 12 reads 0.039 worse per column and fits as well: unsure
    assert choices[3] == (1, False)  # 12 fits better but reads far worse: the model decides
    assert choices[6] == (0, False) and js["choices"][6]["rods"]["given"]


def test_the_stabilizer_answers_alike(js):
    """abacus.Stabilizer and stabilizer.js, fed rod counts: the same answers and rods_vary."""
    from soroban_vision.abacus.stabilizer import Stabilizer

    for (options, frames), theirs in zip(STABILIZER_CASES, js["stabilized"], strict=True):
        s = Stabilizer(**{"min_confidence" if k == "minConfidence" else k: v for k, v in options.items()})
        ours = [[s.update(*frame), s.rods_vary] for frame in frames]
        assert theirs == ours, options
    first, unsure, leading_zero, old = js["stabilized"]
    assert [a for a, _ in first] == [None, None, None, None, 42, None]  # 12 rods: counted again
    assert first[2][1] and not first[4][1]  # the count varied, then held
    assert [a for a, _ in unsure] == [None, None, None, 7, None, None]  # unsure frames are not counted
    assert [a for a, _ in leading_zero] == [None, None, 123, None]  # 0123 on 4 rods is not 123 on 3
    assert [a for a, _ in old][-2:] == [5, 5]  # no count fed: as before


def test_a_half_pitch_pattern_leaves_the_true_rod_count_a_candidate(js):
    """Bead edges repeating at half the pitch make the autocorrelation's first strong peak half
    the period; the true period's stronger peak keeps its counts among the candidates, in both
    runtimes alike, and a true 27-rod profile still gives 27."""
    from soroban_vision.abacus.rods import rod_counts

    for (rods, profile), theirs in zip(PROFILES, js["rodCounts"], strict=True):
        ours = rod_counts(profile)
        assert rods in ours and theirs == ours, (rods, ours, theirs)
    assert 13 not in rod_counts(PROFILES[2][1])
