"""`soroban-vision doctor` against a fault zoo the tests build from the shipped (good) model.

Each fault is a realistic deployment mistake; the doctor must name it with the right check id
and a summary a person can act on, and must raise no alarm on a clean deployment.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from soroban_vision.contract import sha256_file
from soroban_vision.doctor import CHECK_IDS, RUNTIMES, diagnose, to_html
from soroban_vision.doctor.checks import run_check, run_checks
from soroban_vision.doctor.session import gather
from soroban_vision.errors import UsageError
from soroban_vision.seeds import CHECK_SEED
from tests.conftest import assert_one_line_error, graph_model, model_with_outlier, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("doctor_cache")]
FAST = "keras,tfjs-node"  # runtimes for faults that need no browser


# --------------------------------------------------------------------------- building the zoo


def edit_deployment(src: Path, dst: Path, edit) -> Path:
    """A copy of an export with model.json edited, its contract's checksum updated (as if the
    converter had written it that way), so only the intended fault remains."""
    shutil.copytree(src, dst)
    doc = json.loads((dst / "model.json").read_text())
    edit(doc)
    (dst / "model.json").write_text(json.dumps(doc))
    contract = dst / "contract.json"
    if contract.is_file():
        c = json.loads(contract.read_text())
        c["weights"]["files"]["model.json"] = sha256_file(dst / "model.json")
        contract.write_text(json.dumps(c, indent=1))
    return dst


def order_outputs(names):
    def edit(doc):
        outs = doc["signature"]["outputs"]
        doc["signature"]["outputs"] = {k: outs[k] for k in names}

    return edit


def rename_outputs(renames: dict, repoint: dict | None = None):
    def edit(doc):
        outs = doc["signature"]["outputs"]
        new = {renames.get(k, k): v for k, v in outs.items()}
        for name, node in (repoint or {}).items():
            new[name] = {**new[name], "name": f"{node}:0"}
        doc["signature"]["outputs"] = new

    return edit


def node_named(deployment: Path, fragment: str, op: str) -> str:
    doc = json.loads((deployment / "model.json").read_text())
    return next(n["name"] for n in doc["modelTopology"]["node"] if fragment in n["name"] and n["op"] == op)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("zoo")


@pytest.fixture(scope="module")
def clean(good_export, zoo) -> Path:
    """The good export as `export` wrote it (which puts the outputs in Keras's order)."""
    return Path(shutil.copytree(good_export, zoo / "clean"))


def identity_rescaling(model_path: Path, out: Path) -> Path:
    """The model with its Rescaling(2,-1) made the identity: it now expects [-1,1] input."""
    import keras

    model = keras.models.load_model(model_path)
    layer = model.get_layer("to_signed")
    layer.scale, layer.offset = 1.0, 0.0
    model.save(out)
    return out


def outlier_in_biggest_conv(model_path: Path, out: Path, times: float = 80.0) -> Path:
    """The good model with one outlier weight planted in its biggest convolution kernel (block6_pw,
    96x96): `times` the kernel's largest weight. The float32 model still reads about 95% of the
    digits, but per-tensor uint8 quantization coarsens the whole kernel around the outlier, and
    export refuses the result (8 of its 1,000 check decisions change)."""
    import keras

    model = keras.models.load_model(model_path)
    convs = [layer for layer in model.layers if "Conv" in type(layer).__name__]
    layer = max(convs, key=lambda c: c.get_weights()[0].size)
    kernel, *rest = layer.get_weights()
    kernel.flat[0] = times * np.abs(kernel).max()
    layer.set_weights([kernel, *rest])
    model.save(out)
    return out


def wrong_browser_preprocessing(files: list[Path]) -> np.ndarray:
    """A deliberately wrong copy of the browser library's preprocessing: gray from the red
    channel only (tf.browser.fromPixels(img, 1)) and an align-corners bilinear resize."""
    out = []
    for f in files:
        red = np.asarray(Image.open(f).convert("RGB"), np.float64)[..., 0]
        h, w = red.shape
        sy = np.arange(128) * ((h - 1) / 127)
        sx = np.arange(64) * ((w - 1) / 63)
        y0, x0 = np.floor(sy).astype(int), np.floor(sx).astype(int)
        y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
        fy, fx = (sy - y0)[:, None], sx - x0
        top = red[y0][:, x0] + (red[y0][:, x1] - red[y0][:, x0]) * fx
        bottom = red[y1][:, x0] + (red[y1][:, x1] - red[y1][:, x0]) * fx
        out.append(((top + (bottom - top) * fy) / 255.0).astype(np.float32)[..., None])
    return np.stack(out)


# --------------------------------------------------------------------------- a clean deployment


@pytest.mark.browser
def test_clean_deployment_passes_every_check(good_model, clean, tmp_path):
    # relative paths, as a user types them: every runtime must find the files from its own folder
    proc = run_cli(
        "doctor",
        "--keras",
        os.path.relpath(good_model, tmp_path),
        "--tfjs",
        os.path.relpath(clean, tmp_path),
        "--json",
        "r.json",
        "--html",
        "r.html",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["format"] == "soroban-vision/doctor" and doc["version"] == 1
    assert [c["id"] for c in doc["checks"]] == list(CHECK_IDS)
    assert [r["id"] for r in doc["runtimes"]] == list(RUNTIMES)
    got = {c["id"]: c["status"] for c in doc["checks"]}
    parity = next(c for c in doc["checks"] if c["id"] == "runtime_parity")
    # Half-float WebGL may flip a borderline image of this weak model: a true finding, a warning
    # at most, and never on a float32 runtime.
    f16_only = all(
        c["status"] == "pass" or c["runtime"] == "chromium-webgl-f16"
        for c in parity["evidence"]["comparisons"]
    )
    assert got == {
        "preprocessing_layers": "pass",
        "normalization": "pass",
        "quantization": "skip",
        "output_mapping": "pass",
        "preprocess_parity": "pass",
        "runtime_parity": "pass" if parity["status"] == "pass" else "warn",
    }, [(c["id"], c["summary"]) for c in doc["checks"]]
    assert f16_only, parity["summary"]
    ran = {r["id"]: r["status"] for r in doc["runtimes"]}
    assert ran == {**dict.fromkeys(RUNTIMES, "ran"), "onnxruntime": "skipped"}
    onnx = next(r for r in doc["runtimes"] if r["id"] == "onnxruntime")
    assert "no --onnx" in onnx["reason"]
    assert doc["status"] in ("pass", "warn") and doc["exit_code"] == 0
    assert doc["model"]["input_range"] == {"declared": [0.0, 1.0], "source": "contract"}
    layers = next(c for c in doc["checks"] if c["id"] == "preprocessing_layers")
    assert "[0,1] to [-1,1]" in layers["summary"] and layers["evidence"]["expects"] == [0.0, 1.0]
    mapping = next(c for c in doc["checks"] if c["id"] == "output_mapping")
    assert mapping["evidence"]["use"] == 'model.execute(x, ["heaven", "earth"])'
    pp = next(c for c in doc["checks"] if c["id"] == "preprocess_parity")
    assert pp["evidence"]["max_abs_diff"] == 0.0 and pp["evidence"]["decisions_changed"] == 0
    for c in parity["evidence"]["comparisons"]:
        assert c["vs"] == "keras" and c["n"] == 200
        for o in c["outputs"]:
            assert o["required_atol"] == o["max_abs_diff"] and o["required_rtol"] >= 0
    # the console table is printed every time
    assert "CHECK" in proc.stdout and "runtime_parity" in proc.stdout and "MIN TOLERANCE" in proc.stdout
    page = (tmp_path / "r.html").read_text()
    assert (
        "<svg" in page and "Normalization sweep" in page and "http://" not in page and "https://" not in page
    )


# --------------------------------------------------------------------------- normalization faults


def test_double_normalization(good_model, clean):
    report = diagnose(keras=good_model, tfjs=clean, input_range="-1,1", runtimes=FAST)
    norm = report.check("normalization")
    assert norm.status == "fail" and report.exit_code == 1
    assert norm.summary.startswith("double normalization:"), norm.summary
    assert "[0,1] to [-1,1]" in norm.summary and "sees [-3,1]" in norm.summary
    assert norm.evidence["best"] == [0.0, 1.0] and norm.evidence["declared"] == [-1.0, 1.0]
    sweep = {tuple(s["range"]): s["accuracy"] for s in norm.evidence["sweep"]}
    assert set(sweep) == {(0.0, 255.0), (0.0, 1.0), (-1.0, 1.0), (0.0, 2.0)}
    layers = report.check("preprocessing_layers")
    assert layers.status == "warn" and "double normalization" in layers.summary


def test_model_expecting_signed_input_fed_unit_range(good_model, zoo):
    model = identity_rescaling(good_model, zoo / "signed.keras")
    proc = run_cli("doctor", "--keras", model, "--json", zoo / "signed.json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads((zoo / "signed.json").read_text())
    norm = next(c for c in doc["checks"] if c["id"] == "normalization")
    assert norm["status"] == "fail" and doc["status"] == "fail"
    assert "expects [-1,1] but is fed [0,1]" in norm["summary"], norm["summary"]
    # the same digits, but surer of nearly every image under [-1,1]: no chance does that
    assert norm["evidence"]["p_value"] < norm["evidence"]["alpha"] == 0.01
    assert "double normalization" not in norm["summary"]
    layers = next(c for c in doc["checks"] if c["id"] == "preprocessing_layers")
    assert layers["status"] == "pass" and "leaves the input unchanged" in layers["summary"]
    assert "normalization" in proc.stdout and "FAIL" in proc.stdout
    # keras-only: what needs a deployment says so
    reasons = {c["id"]: c["summary"] for c in doc["checks"] if c["status"] == "skip"}
    assert "no --tfjs" in reasons["quantization"] and "no --tfjs" in reasons["preprocess_parity"]


def test_a_labelled_folder_is_used_as_given(good_model, small_dataset):
    report = diagnose(keras=good_model, images=small_dataset, runtimes="keras")
    assert report.data["source"] == "folder" and report.data["n"] == 200
    assert report.check("normalization").status == "pass"
    assert (
        report.check("runtime_parity").status == "skip"
        and "only keras ran" in report.check("runtime_parity").summary
    )


# --------------------------------------------------------------------------- quantization


@pytest.fixture(scope="module")
def outlier(good_model, zoo) -> tuple[Path, Path]:
    """The good model with one huge unused weight (model_with_outlier), and its uint8 deployment."""
    import keras

    broken = model_with_outlier(good_model, zoo / "outlier.keras")
    return broken, graph_model(keras.models.load_model(broken), zoo / "outlier", "uint8")


def test_uint8_outlier_is_caught_and_the_tensor_named(outlier):
    broken, deployed = outlier
    report = diagnose(keras=broken, tfjs=deployed, runtimes=FAST)
    q = report.check("quantization")
    assert q.status == "fail", q.summary
    assert q.summary.startswith("uint8 weights change") and "features" in q.summary
    assert "features" in q.evidence["ranking"][0]["tensor"]
    assert q.evidence["comparison"]["disagreements"] > 0 and q.evidence["precision"] == "uint8"
    parity = report.check("runtime_parity")  # uint8 vs float32 is quantization's finding, not a runtime bug
    assert parity.status == "warn" and "see quantization" in parity.summary
    norm = report.check("normalization")  # measured on the float32 reference: [0,1] is still right
    assert norm.status == "pass" and norm.evidence["runtime"] == "keras"
    page = to_html(report)  # the page shows the disagreements and the ranking
    assert "Where the runtimes disagree" in page and "data:image/png;base64," in page
    assert "Quantization error by weight tensor" in page and "features" in page
    assert json.loads(json.dumps(report.to_json()))["checks"][2]["id"] == "quantization"


@pytest.fixture(scope="module")
def plain_outlier(outlier, zoo) -> Path:
    """The outlier model's uint8 deployment converted elsewhere: by the converter alone, unfolded."""
    import keras

    from soroban_vision.export import convert, saved_model

    broken, _ = outlier
    saved = saved_model(keras.models.load_model(broken), zoo / "plain-saved", folded=False)
    return convert(saved, zoo / "plain", "uint8")


def test_a_deployment_converted_without_folding_is_held_against_the_plain_conversion(outlier, plain_outlier):
    """A model converted elsewhere, by the converter alone, names the tensors export folds away:
    the reference is then converted as plainly, and the outlier is still found by name."""
    broken, _ = outlier
    report = diagnose(keras=broken, tfjs=plain_outlier, runtimes=FAST)
    q = report.check("quantization")
    assert q.status == "fail" and q.evidence["matched_by"] == "name", q.summary
    assert "features" in q.evidence["ranking"][0]["tensor"]
    # held against the folded conversion, the depthwise kernels would seem to lose half their range
    worst = max(r["relative_to_range"] for r in q.evidence["ranking"] if "_dw" in r["tensor"])
    assert worst < 0.01, q.evidence["ranking"][:3]


def test_when_the_plain_conversion_fails_the_folded_reference_ranks(outlier, plain_outlier, monkeypatch):
    """The plain reference is a second try: if that conversion fails, the check keeps the folded
    one and ranks the tensors the two share, instead of losing the ranking or crashing."""
    from soroban_vision.doctor import reference
    from soroban_vision.errors import SorobanError

    real, asked = reference.float32_graph, []

    def folded_only(*args, folded=True, **kwargs):
        asked.append(folded)
        if not folded:
            raise SorobanError("tensorflowjs_converter failed: out of memory")
        return real(*args, folded=folded, **kwargs)

    monkeypatch.setattr(reference, "float32_graph", folded_only)
    broken, _ = outlier
    report = diagnose(keras=broken, tfjs=plain_outlier, runtimes=FAST)
    q = report.check("quantization")
    assert asked == [True, False]  # the plain conversion was tried, and failed
    assert q.status == "fail" and q.evidence["matched_by"] == "name", q.summary
    assert "ranking_error" not in q.evidence
    assert "features" in q.evidence["ranking"][0]["tensor"]


def test_a_reference_cached_by_an_older_fold_is_converted_anew(good_model, monkeypatch, tmp_path):
    """The cache is keyed by fold's version: a change to the fold must not reuse the weights an
    older fold made. (That a plain conversion is cached apart from a folded one, the test of a
    deployment converted without folding shows: held against folded weights, its depthwise
    kernels would seem to lose half their range.)"""
    import keras

    from soroban_vision import export, fold
    from soroban_vision.doctor.reference import float32_graph

    real, converted = export.convert, []

    def counted(*args, **kwargs):
        converted.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(export, "convert", counted)
    monkeypatch.setenv("SOROBAN_VISION_CACHE", str(tmp_path))  # empty: this module's cache may hold it
    model = keras.models.load_model(good_model)
    first = float32_graph(good_model, model)
    assert float32_graph(good_model, model) == first and len(converted) == 1  # cached
    monkeypatch.setattr(fold, "VERSION", fold.VERSION + 1)
    newer = float32_graph(good_model, model)
    assert newer != first and len(converted) == 2
    assert (newer / "model.json").is_file() and (first / "model.json").is_file()


@pytest.fixture(scope="module")
def planted(good_model, zoo) -> tuple[Path, Path]:
    """The good model with an outlier in its biggest conv kernel, and export's uint8 export of
    it, which export refuses and writes only with force=True."""
    from soroban_vision.export import export

    broken = outlier_in_biggest_conv(good_model, zoo / "planted.keras")
    deployed = zoo / "planted-uint8"
    export(broken, deployed, precision="uint8", force=True, say=lambda *_: None)
    return broken, deployed


def test_doctor_and_export_agree_on_a_planted_outlier(planted):
    broken, deployed = planted
    contract = json.loads((deployed / "contract.json").read_text())
    recorded = contract["verification"]
    assert recorded["status"] == "failed-forced" and recorded["disagreements"] > 1  # export refused it
    report = diagnose(keras=broken, tfjs=deployed, runtimes=FAST)
    q = report.check("quantization")
    assert q.status == "fail" and report.exit_code == 1, q.summary
    assert q.summary.startswith("uint8 weights change") and "block6_pw" in q.summary, q.summary
    assert "block6_pw" in q.evidence["ranking"][0]["tensor"]
    # export's images, runtime and rule: on the same files the two cannot disagree
    c = q.evidence["comparison"]
    assert (c["n"], c["images"], c["seed"], c["runtime"]) == (
        1000,
        "export check columns",
        CHECK_SEED,
        "tfjs-node",
    )
    assert c["disagreements"] == recorded["disagreements"] and c["allowed_disagreements"] == 1
    earth = next(o for o in c["outputs"] if o["output"] == "earth")
    assert earth["max_abs_diff"] == pytest.approx(recorded["max_abs_diff"]["earth"], abs=1e-6)
    # probabilities are judged against the contract's own tolerance
    assert c["tolerance"] == contract["golden"]["tolerance"]["wasm"]
    assert c["tolerance_source"] == "contract golden.tolerance.wasm" and earth["within_tolerance"]
    assert q.evidence["recorded"]["files_match"] and q.evidence["recorded"]["same_keras"]
    # a few more right digits under [-1,1] on 200 images is no evidence of a wrong range
    norm = report.check("normalization")
    assert norm.status in ("pass", "warn"), norm.summary
    if norm.status == "warn":
        assert norm.summary.startswith("inconclusive:") and "--images" in norm.summary, norm.summary
        assert norm.evidence["p_value"] >= 0.01 and "p=" in norm.summary


# --------------------------------------------------------------------------- the checks only read facts


def test_checks_give_the_same_answers_in_any_order(outlier):
    """Every check is a pure function of the gathered facts: run backwards, then in the report's
    order, on one deployment where each check has something to say, they answer alike."""
    broken, deployed = outlier
    with contextlib.ExitStack() as stack:
        facts = gather(
            stack,
            keras=broken,
            tfjs=deployed,
            input_range="-1,1",
            runtimes=FAST,
            browser_preprocess=wrong_browser_preprocessing,
        )
        backwards = [run_check(check_id, facts) for check_id in reversed(CHECK_IDS)][::-1]
        forwards = run_checks(facts)
    assert [c.id for c in forwards] == list(CHECK_IDS)
    assert [json.dumps(c.to_json()) for c in backwards] == [json.dumps(c.to_json()) for c in forwards]
    got = {c.id: c.status for c in forwards}
    # facts one check might once have left for another: the model's own normalization, the sweep,
    # the float32 reference weights and the browser's pixels
    assert got["preprocessing_layers"] == "warn" and got["normalization"] == "fail"
    assert got["quantization"] == "fail" and forwards[2].evidence["ranking"]
    assert got["preprocess_parity"] == "fail" and facts.browser_x01 is not None
    assert facts.unfinished == {}


# --------------------------------------------------------------------------- output mapping


def test_swapped_output_order_warns_and_maps_by_name(good_model, clean, zoo):
    swapped = edit_deployment(clean, zoo / "swapped", order_outputs(["heaven", "earth"]))
    report = diagnose(keras=good_model, tfjs=swapped, runtimes=FAST)
    m = report.check("output_mapping")
    assert m.status == "warn" and report.exit_code == 0
    assert "predict() returns [heaven, earth] but Keras returns [earth, heaven]" in m.summary
    assert m.evidence["mapping"] == {"heaven": "heaven", "earth": "earth"}
    assert m.evidence["how"] == {"heaven": "name", "earth": "name"}
    assert 'model.execute(x, ["heaven", "earth"])' in m.summary
    assert report.check("runtime_parity").status == "pass"  # fetched by name, the answers are right


def test_output_names_that_are_not_roles_map_by_shape(good_model, clean, zoo):
    renamed = edit_deployment(clean, zoo / "renamed", rename_outputs({"heaven": "p", "earth": "q"}))
    report = diagnose(keras=good_model, tfjs=renamed, runtimes=FAST)
    m = report.check("output_mapping")
    assert m.status == "warn", m.summary
    assert "matched by shape" in m.summary and m.evidence["mapping"] == {"heaven": "p", "earth": "q"}
    assert m.evidence["how"] == {"heaven": "shape", "earth": "shape"}
    assert 'model.execute(x, ["p", "q"])' in m.summary
    parity = report.check("runtime_parity")
    assert parity.status == "pass" and parity.evidence["comparisons"][0]["disagreements"] == 0


def test_output_that_matches_no_role_fails(good_model, clean, zoo):
    features = node_named(clean, "features", "_FusedMatMul")
    broken = edit_deployment(
        clean, zoo / "unmapped", rename_outputs({"heaven": "p", "earth": "q"}, repoint={"q": features})
    )
    report = diagnose(keras=good_model, tfjs=broken, runtimes=FAST)
    m = report.check("output_mapping")
    assert m.status == "fail" and report.exit_code == 1
    assert "role earth cannot be matched" in m.summary and "[N,5]" in m.summary, m.summary
    assert m.evidence["unmatched"].keys() == {"earth"} and m.evidence["mapping"] == {"heaven": "p"}


# --------------------------------------------------------------------------- preprocessing


def test_wrong_browser_preprocessing_fails_and_is_explained(good_model, clean):
    report = diagnose(
        keras=good_model, tfjs=clean, runtimes=FAST, browser_preprocess=wrong_browser_preprocessing
    )
    pp = report.check("preprocess_parity")
    assert pp.status == "fail", pp.summary
    assert "differs from Python's" in pp.summary and "_camera.png" in pp.summary
    cause = pp.evidence["likely_cause"]
    assert (cause["grayscale"], cause["resize"]) == ("red", "align_corners")
    assert "red-channel grayscale" in pp.summary and "align-corners resize" in pp.summary
    assert pp.evidence["max_abs_diff"] > 4 / 255 and pp.evidence["decisions_changed"] >= 0
    # the gray 64x128 files are unaffected by either bug: only the camera-like ones differ
    assert pp.evidence["files_differing"] <= 100


def test_without_chromium_browser_checks_are_skipped_with_the_reason(good_model, clean, monkeypatch):
    monkeypatch.setenv("CHROMIUM", str(clean / "no-such-chromium"))
    report = diagnose(keras=good_model, tfjs=clean, runtimes="tfjs-node,chromium-wasm,chromium-webgl")
    runtimes = {r.id: r for r in report.runtimes}
    assert runtimes["chromium-wasm"].status == "skipped" and "CHROMIUM" in runtimes["chromium-wasm"].reason
    pp = report.check("preprocess_parity")
    assert pp.status == "skip" and "Chromium did not run" in pp.summary
    assert report.check("runtime_parity").status == "skip"  # only tfjs-node ran
    assert report.exit_code == 0


# --------------------------------------------------------------------------- usage errors


def test_usage_errors_are_one_line_and_exit_2(good_export, tmp_path):
    assert_one_line_error(run_cli("doctor", "--keras", tmp_path / "none.keras"), 2, "does not exist")
    assert_one_line_error(run_cli("doctor", "--tfjs", tmp_path), 2, "model.json")
    assert_one_line_error(run_cli("doctor"), 2, "--keras")
    assert_one_line_error(run_cli("doctor", "--tfjs", good_export, "--input-range", "1,0"), 2, "input-range")
    assert_one_line_error(run_cli("doctor", "--tfjs", good_export, "--runtimes", "tpu"), 2, "unknown runtime")
    (tmp_path / "bad.keras").write_bytes(b"not a model")
    assert_one_line_error(run_cli("doctor", "--keras", tmp_path / "bad.keras"), 2, "cannot load")
    with pytest.raises(UsageError, match="images"):
        diagnose(tfjs=good_export, images=tmp_path / "missing")
