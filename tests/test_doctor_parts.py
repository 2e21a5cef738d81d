"""The doctor's parts that need no runtime: comparing (compare.py) and naming browser
preprocessing mistakes (pitfalls.py), on arrays built by hand (model.json is test_doctor_graph.py's).
Fast: no TensorFlow, no converter, no browser."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from soroban_vision.doctor import compare, paired, pitfalls
from soroban_vision.doctor.checks import quantization, wording
from soroban_vision.doctor.jsonable import plain, tensor_json
from soroban_vision.doctor.runtimes import runtime_reason
from soroban_vision.errors import SorobanError
from soroban_vision.preprocess import HEIGHT, WIDTH, load_rgba_or_gray, preprocess_file
from soroban_vision.runners.base import TensorInfo

# --------------------------------------------------------------------------- compare: ranges


def test_ranges_print_and_compare():
    assert compare.fmt_range((0.0, 1.0)) == "[0,1]"
    assert compare.fmt_range([-1, 1]) == "[-1,1]"
    assert compare.fmt_range((0, 0.5)) == "[0,0.5]"
    assert compare.same_range((0, 255), (0.0, 255.0 + 1e-4))  # relative tolerance on large ends
    assert not compare.same_range((0, 1), (0, 1.01))
    assert not compare.same_range(None, (0, 1)) and not compare.same_range((0, 1), None)


@pytest.mark.parametrize(
    ("scale", "offset", "expects", "maps_to"),
    [
        (2.0, -1.0, [0.0, 1.0], [-1.0, 1.0]),  # Rescaling(2, -1): [0,1] -> [-1,1]
        (1 / 255, 0.0, [0.0, 255.0], [0.0, 1.0]),
        (1 / 127.5, -1.0, [0.0, 255.0], [-1.0, 1.0]),
        (0.5, 0.5, [-1.0, 1.0], [0.0, 1.0]),
        (3.0, 0.0, None, None),  # maps nothing onto a canonical range
    ],
)
def test_affine_expectation_names_the_range_a_first_step_expects(scale, offset, expects, maps_to):
    got = compare.affine_expectation(scale, offset)
    assert got == {"identity": False, "expects": expects, "maps_to": maps_to}


def test_affine_expectation_identity_and_per_channel_means():
    assert compare.affine_expectation(1.0, 0.0) == {"identity": True, "expects": None, "maps_to": None}
    assert compare.affine_expectation([1.0, 1.0, 1.0], [0.0, 0.0, 0.0])["identity"]
    # per-channel constants are judged by their mean
    assert compare.affine_expectation([1.9, 2.0, 2.1], [-1.0, -1.0, -1.0])["expects"] == [0.0, 1.0]


def test_apply_range_maps_unit_images_linearly():
    x = np.array([0.0, 0.25, 1.0], np.float32)
    np.testing.assert_allclose(compare.apply_range(x, (-1, 1)), [-1.0, -0.5, 1.0])
    np.testing.assert_allclose(compare.apply_range(x, (0, 255)), [0.0, 63.75, 255.0])
    assert compare.apply_range(x, (0, 2)).dtype == np.float32


# --------------------------------------------------------------------------- compare: tolerances


def test_diff_stats_gives_the_tolerances_that_would_pass():
    ref = np.array([[1.0, 2.0, -4.0]])
    out = np.array([1.5, 2.0, -5.0])  # reshaped to the reference's shape
    s = compare.diff_stats(ref, out)
    assert s == {"max_abs_diff": 1.0, "mean_abs_diff": 0.5, "required_atol": 1.0, "required_rtol": 0.5}
    # 0.5 off 1.0 needs rtol 0.5, more than 1.0 off 4.0 does; an element passes on atol OR rtol
    assert compare.within(s, 1.0) and compare.within(s, 0.5) and not compare.within(s, 0.49)
    assert compare.within({"required_atol": 5.0, "required_rtol": 1e-6}, 1e-5)


def test_diff_stats_on_zeros_and_empty_arrays():
    s = compare.diff_stats(np.zeros(3), np.zeros(3))
    assert s == {"max_abs_diff": 0.0, "mean_abs_diff": 0.0, "required_atol": 0.0, "required_rtol": 0.0}
    s = compare.diff_stats(np.array([0.0, 1.0]), np.array([1e-3, 1.0]))
    assert s["required_rtol"] == np.inf  # no relative tolerance passes a difference from zero
    assert compare.diff_stats(np.zeros((0, 5)), np.zeros((0, 5)))["mean_abs_diff"] == 0.0


# --------------------------------------------------------------------------- compare: decisions


def test_digits_and_confidences_follow_the_contract():
    heaven = np.array([[0.9], [0.1], [0.5]])
    earth = np.array([[0, 0, 0.8, 0.2, 0], [0.6, 0.4, 0, 0, 0], [0, 0, 0, 0, 1.0]])
    outputs = {"h": heaven, "e": earth}
    roles = {"heaven": "h", "earth": "e"}
    assert compare.digits(outputs, roles).tolist() == [7, 0, 9]
    np.testing.assert_allclose(compare.confidences(outputs, roles), [0.9 * 0.8, 0.9 * 0.6, 0.5])


def test_decisions_agree_or_not_item_by_item():
    roles = {"heaven": "heaven", "earth": "earth"}
    earth = np.eye(5)[[1, 2, 3]]
    a = {"heaven": np.array([[0.2], [0.8], [0.51]]), "earth": earth}
    b = {"heaven": np.array([[0.3], [0.7], [0.49]]), "earth": earth}  # the third flips 8 -> 3
    assert (compare.digits(a, roles) != compare.digits(b, roles)).tolist() == [False, False, True]


def test_generic_decisions():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    assert compare.generic_decisions(scores).tolist() == [[1], [0]]
    assert compare.generic_decisions(np.array([[3, 1], [2, 2]], np.int32)).tolist() == [[3, 1], [2, 2]]
    assert compare.generic_decisions(np.array([[0.4], [0.9]])) is None  # one float score: no decision
    assert compare.generic_decisions(np.array([0.1, 0.9])).tolist() == [[1]]


def test_align_outputs_by_name_then_unique_shape_then_position():
    ref = {"a": np.zeros((2, 3)), "b": np.zeros((2, 1)), "c": np.zeros((2, 4)), "d": np.zeros((2, 4))}
    other = {"a": np.zeros((2, 3)), "x": np.zeros((2, 1)), "y": np.zeros((2, 4)), "z": np.zeros((2, 4))}
    assert compare.align_outputs(ref, other) == {"a": "a", "b": "x", "c": "y", "d": "z"}
    # a shape no one shares stays unpaired
    assert compare.align_outputs({"a": np.zeros(2), "b": np.zeros(3)}, {"q": np.zeros(4)}) == {}


# --------------------------------------------------------------------------- compare: roles


def out(name, *shape):
    return TensorInfo(name, tuple(shape), "float32")


def test_role_specs_default_to_the_contract_outputs():
    specs = compare.role_specs(None)
    assert specs == {
        "heaven": {"name": "heaven", "shape": [None, 1]},
        "earth": {"name": "earth", "shape": [None, 5]},
    }
    custom = {"outputs": {"p": {"role": "heaven", "shape": [None, 1]}}}
    assert compare.role_specs(custom) == {"heaven": {"name": "p", "shape": [None, 1]}}


def test_shape_fits_with_unknown_dimensions():
    assert compare.shape_fits([None, 5], (None, 5)) and compare.shape_fits([None, 5], (64, 5))
    assert not compare.shape_fits([None, 5], (None, 1)) and not compare.shape_fits([None, 5], (None, 5, 1))
    assert not compare.shape_fits(None, (1,)) and not compare.shape_fits([1], None)
    assert compare.shape_str((None, 5)) == "[N,5]" and compare.shape_str(None) == "?"


def test_match_roles_by_name_then_by_shape():
    specs = compare.role_specs(None)
    m = compare.match_roles(specs, [out("earth", None, 5), out("heaven", None, 1)])
    assert m == {
        "mapping": {"heaven": "heaven", "earth": "earth"},
        "how": {"heaven": "name", "earth": "name"},
        "unmatched": {},
    }
    m = compare.match_roles(specs, [out("q", None, 5), out("p", None, 1)])
    assert m["mapping"] == {"heaven": "p", "earth": "q"} and set(m["how"].values()) == {"shape"}


def test_match_roles_says_why_a_role_is_unmatched():
    specs = compare.role_specs(None)
    m = compare.match_roles(specs, [out("heaven", None, 1), out("earth", None, 7)])
    assert m["mapping"] == {"heaven": "heaven"}
    assert m["unmatched"] == {"earth": "output 'earth' has shape [N,7], the role needs [N,5]"}
    m = compare.match_roles(specs, [out("a", None, 5), out("b", None, 5), out("heaven", None, 1)])
    assert m["unmatched"] == {"earth": "several outputs have the shape [N,5]: a, b"}
    m = compare.match_roles(specs, [out("heaven", None, 1)])
    assert m["unmatched"] == {"earth": "no output is named 'earth' or has the shape [N,5]"}


# --------------------------------------------------------------------------- paired tests


def test_binomial_tail_is_exact():
    assert paired.binomial_tail(0, 0) == 1.0 and paired.binomial_tail(1, 0) == 0.0
    assert paired.binomial_tail(3, 3) == 1 / 8 and paired.binomial_tail(2, 3) == 4 / 8
    assert paired.binomial_tail(5, 7) == (21 + 7 + 1) / 128
    assert 0.0 < paired.binomial_tail(200, 200) < 1e-60  # 200 of 200: no float underflow to zero


def test_a_few_images_more_is_chance_and_every_image_is_not():
    # planted-outlier model: [-1,1] reads 5 images the declared [0,1] misses, and misses 2 it reads
    right_declared = np.array([True] * 193 + [False] * 5 + [True] * 2)
    right_best = np.array([True] * 193 + [True] * 5 + [False] * 2)
    p_declared = np.linspace(0.5, 1.0, 200)
    test = paired.range_test(right_best, right_declared, p_declared - 0.01, p_declared)
    assert test["digits"] == {"wins": 5, "losses": 2, "p": pytest.approx(29 / 128)}
    assert test["confidence"]["wins"] == 0 and test["confidence"]["p"] == 1.0
    assert test["p_value"] == pytest.approx(58 / 128) and test["p_value"] >= paired.ALPHA
    # a model that expects [-1,1]: the same digits, but surer of nearly every image under [-1,1]
    p_best = np.where(np.arange(200) < 190, 0.9999, 0.99)
    test = paired.range_test(np.ones(200, bool), np.ones(200, bool), p_best, np.full(200, 0.998))
    assert test["digits"]["p"] == 1.0 and test["confidence"] == {
        "wins": 190,
        "losses": 10,
        "p": pytest.approx(paired.binomial_tail(190, 200)),
    }
    assert test["p_value"] < 1e-40 and test["alpha"] == 0.01


# --------------------------------------------------------------------------- quantization verdicts


def comparison(n, disagreements, max_diff, tolerance, source="contract golden.tolerance.wasm", **more):
    outputs = [
        {"output": "earth", "max_abs_diff": max_diff, "within_tolerance": max_diff <= tolerance},
        {"output": "heaven", "max_abs_diff": 1e-4, "within_tolerance": True},
    ]
    return {
        "runtime": "tfjs-node",
        "n": n,
        "disagreements": disagreements,
        "images": "export check columns" if n == 1000 else "doctor inputs",
        "seed": 777_000 if n == 1000 else None,
        "allowed_rate": 0.001,
        "allowed_disagreements": int(0.001 * n),
        "tolerance": tolerance,
        "tolerance_source": source,
        "outputs": outputs,
        **more,
    }


def recorded(status="passed", files_match=True, n=1000, disagreements=0):
    return {
        "status": status,
        "runtime": "tfjs-node-wasm",
        "n": n,
        "disagreements": disagreements,
        "files_match": files_match,
        "same_keras": True,
    }


@pytest.mark.parametrize(
    ("c", "rec", "status", "reason", "words"),
    [
        # export's rule on export's columns: 1 of 1,000 may change, 2 may not
        (comparison(1000, 1, 0.2, 0.5), recorded(), "pass", "decisions_kept", "999 of 1000"),
        (
            comparison(1000, 8, 0.33, 0.66),
            recorded("failed-forced", disagreements=8),
            "fail",
            "decisions_change",
            "more than the 0.1% export allows",
        ),
        # probabilities beyond the contract's tolerance fail; beyond the doctor's default, warn
        (comparison(1000, 0, 0.02, 0.0015), recorded(), "fail", "beyond_tolerance", "golden self-check"),
        (
            comparison(1000, 0, 0.02, 0.01, "doctor default for uint8"),
            None,
            "warn",
            "beyond_tolerance",
            "no contract",
        ),
        # export refused these very files: the doctor does not pass them on 200 images
        (
            comparison(200, 0, 0.2, 0.66),
            recorded("failed-forced", disagreements=8),
            "fail",
            "refused_by_export",
            "export refused these uint8 weights",
        ),
        (
            comparison(200, 0, 0.2, 0.66),
            recorded("failed-forced", files_match=False),
            "warn",
            "too_few_images",
            "add tfjs-node",
        ),
        (comparison(200, 0, 1e-3, 0.0015), recorded(), "pass", "kept_as_recorded", "recorded 0 of 1000"),
        (
            comparison(200, 0, 1e-3, 0.01, "doctor default for uint8"),
            None,
            "warn",
            "too_few_images",
            "too few to see the 0.1%",
        ),
        (
            comparison(200, 1, 1e-3, 0.01, "doctor default for uint8"),
            None,
            "fail",
            "decisions_change",
            "1 of 200",
        ),
    ],
)
def test_quantization_is_judged_as_export_judges_it(c, rec, status, reason, words):
    ev = {"precision": "uint8", "comparison": c, "recorded": rec, "ranking": []}
    finding = quantization.verdict(ev)
    assert (finding.status, finding.reason) == (status, reason)
    summary = wording.summary("quantization", finding)
    assert words in summary and "\n" not in summary, summary
    assert summary.startswith("uint8 weights") or summary.startswith("export refused"), summary


def test_a_runtime_failure_is_labelled_by_its_own_runtime():
    # one Chromium page opened on wasm also runs cpu: its name must not label cpu's failure
    e = SorobanError("tfjs-chromium-wasm: The shape of dict['input_1'] must be [-1,64,64,1], but was [1]")
    assert runtime_reason(e) == "The shape of dict['input_1'] must be [-1,64,64,1], but was [1]"
    assert runtime_reason(SorobanError("TF.js: boom\nmore")) == "TF.js: boom"


# --------------------------------------------------------------------------- JSON values


def test_plain_makes_evidence_json():
    ev = {"a": np.float32(0.5), "b": (1, np.int64(2)), "c": np.arange(3), "d": float("nan"), 4: Path("x/y")}
    assert plain(ev) == {"a": 0.5, "b": [1, 2], "c": [0, 1, 2], "d": None, "4": "x/y"}
    json.dumps(plain(ev))
    assert tensor_json(out("p", None, 5)) == {"name": "p", "shape": [None, 5], "dtype": "float32"}


# --------------------------------------------------------------------------- pitfalls


@pytest.fixture(scope="module")
def image_files(tmp_path_factory) -> list[Path]:
    """A camera-like RGB file (1.5x larger, its channels unlike each other) and a gray 64x128 one."""
    where = tmp_path_factory.mktemp("pitfalls")
    rng = np.random.default_rng(7)
    rgb = np.zeros((192, 96, 3), np.uint8)
    rgb[..., 0] = rng.integers(0, 256, (192, 96))
    rgb[..., 1] = np.linspace(0, 255, 96)[None, :]
    rgb[..., 2] = np.linspace(255, 0, 192)[:, None]
    gray = rng.integers(0, 256, (HEIGHT, WIDTH)).astype(np.uint8)
    Image.fromarray(rgb, "RGB").save(where / "camera.png")
    Image.fromarray(gray, "L").save(where / "gray.png")
    return [where / "camera.png", where / "gray.png"]


def browser_as(files: list[Path], gray: str, method: str) -> np.ndarray:
    return np.stack([pitfalls.variant(load_rgba_or_gray(f), gray, method) for f in files])


def python_of(files: list[Path]) -> np.ndarray:
    return np.stack([preprocess_file(f) for f in files])


def test_the_spec_variant_is_pythons_preprocessing(image_files):
    np.testing.assert_allclose(
        browser_as(image_files, "luma", "half_pixel"), python_of(image_files), atol=1e-6
    )


@pytest.mark.parametrize(
    ("gray", "method"),
    [v for v in itertools.product(pitfalls.GRAY, pitfalls.RESIZE) if v != ("luma", "half_pixel")],
)
def test_every_known_pitfall_is_recognized(image_files, gray, method):
    cause = pitfalls.explain(image_files, browser_as(image_files, gray, method), python_of(image_files))
    assert cause is not None and (cause["grayscale"], cause["resize"]) == (gray, method)
    assert cause["max_abs_diff_to_browser"] <= pitfalls.MATCH
    words = [pitfalls.GRAY[gray]] if gray != "luma" else []
    words += [pitfalls.RESIZE[method]] if method != "half_pixel" else []
    assert cause["description"] == " and ".join(words)


def test_the_pitfalls_list_names_the_two_browser_traps():
    assert set(pitfalls.GRAY) == {"luma", "red"} and "fromPixels(img, 1)" in pitfalls.GRAY["red"]
    assert set(pitfalls.RESIZE) == {"half_pixel", "align_corners", "asymmetric"}
    assert "resizeBilinear's default" in pitfalls.RESIZE["asymmetric"]


def test_no_cause_for_a_match_or_for_an_unknown_difference(image_files):
    python = python_of(image_files)
    assert pitfalls.explain(image_files, python, python) is None
    noise = np.random.default_rng(1).uniform(0, 1, python.shape).astype(np.float32)
    assert pitfalls.explain(image_files, noise, python) is None


def test_resize_sampling_positions():
    np.testing.assert_allclose(pitfalls.source_coords(4, 2, "half_pixel"), [0.5, 2.5])
    np.testing.assert_allclose(pitfalls.source_coords(4, 2, "align_corners"), [0.0, 3.0])
    np.testing.assert_allclose(pitfalls.source_coords(4, 2, "asymmetric"), [0.0, 2.0])
    np.testing.assert_allclose(pitfalls.source_coords(2, 4, "half_pixel"), [0.0, 0.25, 0.75, 1.0])  # clamped
    img = np.arange(HEIGHT * WIDTH, dtype=np.float64).reshape(HEIGHT, WIDTH)
    assert pitfalls.resize(img, "align_corners") is img  # already the model's size
    assert np.all(pitfalls.resize(np.full((10, 7), 9.0), "asymmetric") == 9.0)


def test_red_gray_composites_transparency_over_white():
    rgba = np.array([[[10, 200, 30, 255], [10, 200, 30, 0]]], np.uint8)
    np.testing.assert_allclose(pitfalls.red_gray(rgba), [[10.0, 255.0]])
    np.testing.assert_allclose(pitfalls.red_gray(np.array([[5, 6]], np.uint8)), [[5.0, 6.0]])
