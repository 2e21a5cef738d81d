"""The browser library's column classifier (web/src/classifier/) in real headless Chromium, against Python.

One exported model for the whole module, one browser per backend. Parity is measured from
raw image files: Python decodes and preprocesses them with preprocess.py, the page decodes
and preprocesses them with the library, and the two inputs and outputs are compared.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from soroban_vision import contract as contract_mod
from soroban_vision.preprocess import SPEC, load_rgba_or_gray, preprocess_file, resize_bilinear
from soroban_vision.runners.chromium import BrowserError, ChromiumRunner
from tests.conftest import reporter

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SEED = 4242
# Probabilities of a float32 model: wasm and cpu differ from Keras only by float rounding.
PROB_TOLERANCE = {"wasm": 1e-5, "cpu": 1e-5, "webgl": 1e-3}
# Measured: Chromium and Pillow decode these JPEGs to the same pixels (both use libjpeg-turbo,
# integer IDCT, the same chroma upsampling). A browser with another decoder would fail here,
# by a gray level or two, and that is worth knowing.
JPEG_TOLERANCE = 1e-6
# WebGL with half-float textures (many phones): the contract has no tolerance for it, so the
# tests choose one; measured on a trained model: ~2e-3.
WEBGL_F16_TOLERANCE = 1e-2
# Canvas 2D keeps premultiplied alpha: a translucent pixel's colour comes back rounded,
# at most about half a gray level after compositing over white.
TRANSLUCENT_TOLERANCE = 1 / 255


# --------------------------------------------------------------------------- the exported model


def export_model(model_path: Path, out: Path) -> Path:
    """THE one place these tests export a model: the real `soroban-vision export` path (Keras ->
    SavedModel -> tensorflowjs_converter -> contract.json), checked on a small labelled set."""
    from soroban_vision.data import write_dataset
    from soroban_vision.export import export

    check = out.with_name(out.name + "-check")
    if not check.exists():
        write_dataset(check, per_digit=10, seed=SEED, workers=1)
    export(model_path, out, check_data=check, say=lambda *a: None)
    return out


@pytest.fixture(scope="module")
def models(good_model, tmp_path_factory) -> dict:
    """Two exported models: `main` (the good model: the tests read and compare with it) and
    `other` (an untrained, narrower model, for a contract that belongs to a different model)."""
    import keras

    from soroban_vision.model import build_model

    root = tmp_path_factory.mktemp("models")
    shutil.copyfile(good_model, root / "main.keras")
    keras.utils.set_random_seed(SEED)
    build_model("compact", width=2).save(root / "other.keras")
    return {
        "keras": root / "main.keras",
        "main": export_model(root / "main.keras", root / "main"),
        "other": export_model(root / "other.keras", root / "other"),
    }


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, list[Path]]:
    """100 rendered columns as PNG, the same as JPEG (quality 90), and colour/odd-sized images."""
    from soroban_vision.data import write_dataset

    root = tmp_path_factory.mktemp("images")
    write_dataset(root / "png", per_digit=10, seed=SEED, workers=1)
    pngs = sorted((root / "png").glob("*/*.png"))
    (root / "jpeg").mkdir()
    jpegs = []
    for p in pngs:
        jpegs.append(root / "jpeg" / f"{p.parent.name}_{p.stem}.jpg")
        Image.open(p).save(jpegs[-1], quality=90)
    rng = np.random.default_rng(SEED)
    (root / "colour").mkdir()
    colour, gray_rgb, translucent = [], [], []
    for i, (h, w) in enumerate([(100, 37), (256, 128), (128, 64), (40, 300), (7, 5), (129, 63)]):
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        colour.append(root / "colour" / f"rgb{i}.png")
        Image.fromarray(rgb, "RGB").save(colour[-1])
        y, x = np.mgrid[0:h, 0:w]  # smooth colour, like a photo, as a 4:2:0 JPEG
        smooth = np.stack([np.sin(x / 7 + i) * 100 + 128, np.cos(y / 9) * 100 + 128, (x + y) % 256], -1)
        jpegs.append(root / "jpeg" / f"colour{i}.jpg")
        Image.fromarray(smooth.clip(0, 255).astype(np.uint8), "RGB").save(jpegs[-1], quality=90)
        g = rng.integers(0, 256, (h, w), dtype=np.uint8)
        gray_rgb.append(root / "colour" / f"gray-as-rgb{i}.png")  # R=G=B in an RGB file
        Image.fromarray(np.stack([g] * 3, -1), "RGB").save(gray_rgb[-1])
        rgba = np.dstack([rgb, rng.integers(0, 256, (h, w), dtype=np.uint8)])
        translucent.append(root / "colour" / f"rgba{i}.png")
        Image.fromarray(rgba, "RGBA").save(translucent[-1])
    return {"png": pngs, "jpeg": jpegs, "colour": colour, "gray_rgb": gray_rgb, "translucent": translucent}


@pytest.fixture(scope="module")
def keras_reference(models, images) -> dict[str, np.ndarray]:
    """The float32 reference: Keras on Python's preprocessing of the PNG files."""
    from soroban_vision.runners.keras import KerasRunner

    x = np.stack([preprocess_file(p) for p in images["png"]])
    with KerasRunner(models["keras"]) as keras_runner:
        return keras_runner.run({"image": x})


@pytest.fixture(scope="module")
def browser(models):
    """browser(backend) -> an open ChromiumRunner on the main model; one launch per backend."""
    opened: dict[str, ChromiumRunner] = {}

    def get(backend: str) -> ChromiumRunner:
        if backend not in opened:
            opened[backend] = ChromiumRunner(models["main"], backend).__enter__()
        return opened[backend]

    yield get
    for runner in opened.values():
        runner.close()


report = reporter("browser parity")


# --------------------------------------------------------------------------- preprocessing


def test_preprocessing_of_png_files_is_bit_identical(browser, images):
    ours = np.stack([preprocess_file(p) for p in images["png"]])
    theirs = browser("wasm").preprocess(images["png"])
    diff = float(np.abs(theirs - ours).max())
    report(f"max pixel diff, {len(ours)} gray PNGs", diff)
    assert theirs.shape == ours.shape == (100, 128, 64, 1)
    assert diff <= 1e-6


def test_preprocessing_of_jpeg_files_matches_pillow(browser, images):
    ours = np.concatenate([preprocess_file(p)[None] for p in images["jpeg"]])
    theirs = np.concatenate([browser("wasm").preprocess([p]) for p in images["jpeg"]])
    diff = np.abs(theirs - ours)
    report(
        f"max pixel diff, {len(ours)} JPEGs (q90, 100 gray + 6 colour 4:2:0)",
        f"{diff.max():.3g} ({(diff > 1e-6).mean():.2%} of pixels differ)",
    )
    assert diff.max() <= JPEG_TOLERANCE


@pytest.mark.parametrize("kind", ["colour", "gray_rgb"])
def test_preprocessing_of_rgb_files_with_resize_is_bit_identical(browser, images, kind):
    """Luma in float64, bilinear resize with half-pixel centres, sizes up and down."""
    for p in images[kind]:
        ours = preprocess_file(p)
        theirs = browser("wasm").preprocess([p])[0]
        diff = float(np.abs(theirs - ours).max())
        assert diff <= 1e-6, (p.name, Image.open(p).size, diff)
    report(f"{kind} RGB PNGs (resized, max diff)", "<= 1e-6")


def test_translucent_pixels_are_composited_over_white(browser, images):
    worst = 0.0
    for p in images["translucent"]:
        worst = max(worst, float(np.abs(browser("wasm").preprocess([p])[0] - preprocess_file(p)).max()))
    report("max pixel diff, translucent RGBA PNGs (premultiplied canvas)", f"{worst:.3g}")
    assert worst <= TRANSLUCENT_TOLERANCE


def test_helpers_match_python_bit_for_bit(browser):
    runner = browser("wasm")
    rng = np.random.default_rng(1)
    for h, w in [(128, 64), (300, 41), (5, 9), (129, 64)]:
        gray = rng.uniform(0, 255, (h, w))
        out = runner.call("helperResize", base64.b64encode(gray.tobytes()).decode(), w, h, 64, 128)
        js = np.frombuffer(base64.b64decode(out), np.float64).reshape(128, 64)
        np.testing.assert_array_equal(js, resize_bilinear(gray), err_msg=f"{w}x{h}")
    rgba = rng.integers(0, 256, (16, 16, 4), dtype=np.uint8)
    rgba[:4, :, 3] = 255
    rgba[:2, :, 1] = rgba[:2, :, 2] = rgba[:2, :, 0]  # some opaque gray pixels
    k, bg = SPEC["grayscale"]["coefficients"], SPEC["alpha"]["composite_over"]
    out = runner.call("helperGray", base64.b64encode(rgba.tobytes()).decode(), 16, 16, k, bg)
    js = np.frombuffer(base64.b64decode(out), np.float64).reshape(16, 16)
    from soroban_vision.preprocess import to_gray

    np.testing.assert_array_equal(js[2:], to_gray(rgba)[2:])  # colour and translucent: same bits
    np.testing.assert_array_equal(js[:2], rgba[:2, :, 0])  # opaque gray: the value itself
    np.testing.assert_allclose(js[:2], to_gray(rgba)[:2], rtol=0, atol=1e-12)  # luma is that, +- 1 ulp


def test_decode_matches_the_contract(browser):
    rng = np.random.default_rng(2)
    heaven = rng.uniform(0, 1, (40, 1)).astype(np.float32)
    heaven[:3, 0] = [0.5, np.nextafter(np.float32(0.5), np.float32(0)), 1.0]  # the threshold, exactly
    earth = rng.dirichlet(np.ones(5), 40).astype(np.float32)
    earth[3] = [0.4, 0.4, 0.1, 0.05, 0.05]  # a tie: the first maximum wins, as in numpy
    js = browser("wasm").call(
        "helperDecode", heaven[:, 0].tolist(), earth.reshape(-1).tolist(), contract_mod.HEAVEN_THRESHOLD
    )
    assert js == contract_mod.readings(heaven, earth)


# --------------------------------------------------------------------------- outputs


@pytest.mark.parametrize("backend", ["wasm", "cpu", "webgl"])
def test_classify_matches_keras(browser, images, keras_reference, backend):
    runner = browser(backend)
    assert runner.info["tfBackend"] == backend
    golden = runner.info["golden"]
    assert golden["vectors"] == 10 and golden["maxDiff"] <= golden["tolerance"]
    readings = runner.classify(images["png"])
    expected = contract_mod.readings(keras_reference["heaven"], keras_reference["earth"])
    heaven = np.array([r["heaven"]["p"] for r in readings])
    earth = np.array([r["earth"]["probs"] for r in readings])
    diff = {
        "heaven": float(np.abs(heaven - keras_reference["heaven"][:, 0]).max()),
        "earth": float(np.abs(earth - keras_reference["earth"]).max()),
    }
    report(f"{backend}: max prob diff vs Keras over {len(readings)} PNGs", diff)
    report(f"{backend}: golden self-check max diff", golden["maxDiff"])
    assert [r["digit"] for r in readings] == [r["digit"] for r in expected]
    assert max(diff.values()) <= PROB_TOLERANCE[backend]
    for got, want in zip(readings, expected, strict=True):
        assert got["confidence"] == pytest.approx(want["confidence"], abs=2 * PROB_TOLERANCE[backend])
        assert got["heaven"]["active"] == want["heaven"]["active"]
        assert got["earth"]["count"] == want["earth"]["count"]


def test_webgl_with_half_float_textures(models, images, keras_reference):
    """webgl-f16 runs its golden self-check with the contract's own (looser) tolerance, and
    stays within it."""
    files = images["png"][::5]
    tolerance = contract_mod.read(models["main"])["golden"]["tolerance"]["webgl-f16"]
    assert tolerance == WEBGL_F16_TOLERANCE
    with ChromiumRunner(models["main"], "webgl-f16") as runner:
        assert runner.info["f16Textures"] and runner.info["tfBackend"] == "webgl"
        assert runner.info["golden"]["maxDiff"] <= tolerance
        readings = runner.classify(files)
    heaven = np.array([r["heaven"]["p"] for r in readings])
    earth = np.array([r["earth"]["probs"] for r in readings])
    ref_heaven, ref_earth = keras_reference["heaven"][::5, 0], keras_reference["earth"][::5]
    diff = max(np.abs(heaven - ref_heaven).max(), np.abs(earth - ref_earth).max())
    digits = contract_mod.decode(ref_heaven, ref_earth)[0]
    flips = sum(r["digit"] != d for r, d in zip(readings, digits, strict=True))
    report(f"webgl-f16: max prob diff vs Keras over {len(files)} PNGs", f"{diff:.3g}, {flips} digit flips")
    report("webgl-f16: golden self-check max diff", runner.info["golden"]["maxDiff"])
    assert diff <= WEBGL_F16_TOLERANCE


@pytest.mark.parametrize("kind", ["imagedata", "canvas", "offscreen", "bitmap", "video"])
def test_every_kind_of_source_is_read(browser, images, kind):
    runner = browser("wasm")
    files = images["png"][::10]  # one column per digit
    want = runner.classify(files, "image")
    try:
        got = runner.classify(files, kind)
    except BrowserError as e:
        if kind == "video" and "no video frame" in str(e):
            pytest.skip(f"headless Chromium gives no frames from a canvas stream here: {e}")
        raise
    assert len(got) == len(want)
    if kind == "video":
        # a video frame goes through YUV and back: close to the image, not bit-identical
        diff = np.abs(runner.preprocess(files, "video") - runner.preprocess(files, "image")).max()
        report("video frame vs image, max pixel diff", f"{diff:.3g}")
        assert diff <= 4 / 255
        return
    assert got == want


def test_outputs_are_fetched_by_name_not_by_position(browser, models, images, tmp_path):
    """A model.json whose signature lists earth before heaven still gives the right heads."""
    swapped = tmp_path / "swapped"
    shutil.copytree(models["main"], swapped)
    doc = json.loads((swapped / "model.json").read_text())
    doc["signature"]["outputs"] = dict(reversed(list(doc["signature"]["outputs"].items())))
    (swapped / "model.json").write_text(json.dumps(doc))
    contract = json.loads((swapped / "contract.json").read_text())
    contract["weights"]["files"]["model.json"] = contract_mod.sha256_file(swapped / "model.json")
    contract_mod.write(contract, swapped)

    files = images["png"][::10]
    runner = browser("wasm")
    want = runner.classify(files)
    try:
        runner.call("load", runner.serve_dir(swapped), "wasm")
        order = [o["name"] for o in runner.call("signature")["outputs"]]
        got = runner.classify(files)
    finally:
        runner.call("load", "/model/", "wasm")
    original_order = list(json.loads((models["main"] / "model.json").read_text())["signature"]["outputs"])
    assert order == list(reversed(original_order))  # predict() would now return the other head first
    assert got == want


def test_everything_comes_from_our_own_origin(browser):
    """TF.js fetches the wasm binaries from a CDN unless told otherwise: we tell it."""
    runner = browser("wasm")
    origin = runner.call("origin")
    foreign = [u for u in runner.requests if not u.startswith((origin + "/", "data:", "blob:"))]
    assert foreign == []
    wasm = [u for u in runner.requests if u.endswith(".wasm")]
    assert wasm and all("/web/node_modules/@tensorflow/tfjs-backend-wasm/dist/" in u for u in wasm)


def test_no_tensor_leaks_over_1000_calls(browser, images):
    runner = browser("wasm")
    counts = runner.call("leak", runner.url_for(images["png"][0]), 1000)
    counted = f"{counts['afterOne']} / {counts['afterN']}"
    report("numTensors after 1 / 1000 classify calls (wasm, batch 1)", counted)
    assert counts["afterN"] == counts["afterOne"]


# --------------------------------------------------------------------------- refusing bad models


def _variant(models, tmp_path, change) -> Path:
    d = tmp_path / "variant"
    shutil.copytree(models["main"], d)
    change(d)
    return d


def _shard(d: Path) -> Path:
    return next(d.glob("*.bin"))


def _flip_a_byte(d: Path) -> None:
    data = bytearray(_shard(d).read_bytes())
    data[len(data) // 2] ^= 0x01
    _shard(d).write_bytes(bytes(data))


def _truncate(d: Path) -> None:
    _shard(d).write_bytes(_shard(d).read_bytes()[:-100])


def _edit_contract(**weights):
    def change(d: Path) -> None:
        doc = json.loads((d / "contract.json").read_text())
        doc["weights"].update(weights)
        contract_mod.write(doc, d)

    return change


BROKEN = {  # case: (change, the error's code, its message)
    "flipped byte in a shard": (
        _flip_a_byte,
        "hash_mismatch",
        r"group1-shard1of1\.bin does not match the contract's SHA-256",
    ),
    "truncated shard": (
        _truncate,
        "hash_mismatch",
        r"group1-shard1of1\.bin does not match the contract's SHA-256",
    ),
    "missing contract": (
        lambda d: (d / "contract.json").unlink(),
        "missing_file",
        r"no contract\.json at .*soroban-vision export",
    ),
    "unsupported precision": (
        _edit_contract(precision="int4"),
        "contract_unsupported",
        r"unsupported weight precision 'int4'",
    ),
    "precision that is not in the shards": (
        _edit_contract(precision="float16"),
        "contract_mismatch",
        r"the contract says float16 weights but model\.json holds float32 weights",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_model_folder_is_a_clear_error(browser, models, tmp_path, case):
    change, code, message = BROKEN[case]
    folder = _variant(models, tmp_path, change)
    runner = browser("wasm")
    with pytest.raises(BrowserError, match=message) as e:
        runner.call("check", runner.serve_dir(folder), "wasm")
    assert "\n" not in str(e.value)
    assert (e.value.js_name, e.value.code) == ("ContractError", code)
    report(f"refused ({case})", str(e.value))


def test_a_contract_from_another_model_is_refused(browser, models, tmp_path):
    folder = _variant(models, tmp_path, lambda d: shutil.copy(models["other"] / "contract.json", d))
    runner = browser("wasm")
    with pytest.raises(BrowserError, match=r"model\.json does not match the contract's SHA-256") as e:
        runner.call("check", runner.serve_dir(folder), "wasm")
    assert e.value.code == "hash_mismatch"


def test_a_backend_that_misses_the_golden_vectors_is_refused(browser, models, tmp_path):
    """A contract whose golden probabilities are off stands in for a backend that computes wrong."""

    def skew(d: Path) -> None:
        doc = json.loads((d / "contract.json").read_text())
        doc["golden"]["vectors"][3]["earth"][0] += 0.01
        contract_mod.write(doc, d)

    folder = _variant(models, tmp_path, skew)
    runner = browser("wasm")
    with pytest.raises(BrowserError, match=r"golden self-check FAILED on wasm: vector 3 earth\[0\]") as e:
        runner.call("check", runner.serve_dir(folder), "wasm")
    assert e.value.code == "golden_mismatch"


def test_the_original_folder_still_loads(browser, models):
    """The refusals above come from the changes, not from the test set-up."""
    runner = browser("wasm")
    info = runner.call("check", runner.serve_dir(models["main"]), "wasm")
    assert info["golden"]["maxDiff"] <= 1e-5


def test_a_model_used_on_another_backend_or_after_dispose_is_a_clear_error(browser, models):
    """The column classifier and the frame detector alike: a call after TF.js switched backend is
    backend_changed (its weights live on the old one), a call after dispose is disposed."""
    runner = browser("wasm")
    frame = Path(__file__).resolve().parents[1] / "models" / "frame" / "tfjs"
    got = runner.call("misuse", runner.serve_dir(models["main"]), runner.serve_dir(frame), "wasm")
    codes = {"ran": None, "other_backend": "backend_changed", "disposed": "disposed"}
    assert got == {f"{m}_{when}": code for m in ("classifier", "frame") for when, code in codes.items()}


def test_raw_graph_model_runs_by_name_without_a_contract(models, images):
    """The doctor's path: no contract, the model's own signature, named inputs and outputs."""
    x = np.stack([preprocess_file(p) for p in images["png"][:13]])
    with ChromiumRunner(models["main"], "wasm", contract=False) as runner:
        assert [i.name for i in runner.inputs()] == ["image"]
        assert {o.name for o in runner.outputs()} == {"heaven", "earth"}
        out = runner.run({"image": x}, ["heaven", "earth"])
        timing = {b: runner.time(b, runs=10)["median"] for b in (1, 13)}
    report("wasm latency (median ms, batch 1 / 13)", timing)
    assert out["heaven"].shape == (13, 1) and out["earth"].shape == (13, 5)
    np.testing.assert_allclose(out["earth"].sum(axis=1), 1, atol=1e-5)


def test_the_parity_images_have_the_modes_they_claim(images):
    """The files the parity tests use are what they claim: gray PNGs, gray JPEGs, RGB, RGBA."""
    assert load_rgba_or_gray(images["png"][0]).ndim == 2
    assert Image.open(images["jpeg"][0]).mode == "L"
    assert Image.open(images["colour"][0]).mode == "RGB"
    assert Image.open(images["translucent"][0]).mode == "RGBA"


# --------------------------------------------------------------------------- the static server


def test_static_server_types_caching_and_confinement(models):
    import http.client

    from soroban_vision.serve import WEB_DIR, StaticServer

    with StaticServer({"/web/": WEB_DIR, "/model/": models["main"]}, isolate=True, index="/web/x") as server:
        conn = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=10)

        def get(path: str, method: str = "GET"):
            conn.request(method, path)
            response = conn.getresponse()
            return response, response.read()

        wasm = "/web/node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm"
        for path, mime in [
            (wasm, "application/wasm"),
            ("/web/src/index.js", "text/javascript; charset=utf-8"),
            ("/web/src/abacus/spec.json", "application/json"),  # imported as a JSON module: must be JSON
            ("/model/model.json", "application/json"),
            ("/model/group1-shard1of1.bin", "application/octet-stream"),
        ]:
            response, body = get(path)
            assert response.status == 200 and response.headers["Content-Type"] == mime, path
            assert response.headers["Cache-Control"] == "no-store"
            assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
            assert len(body) == int(response.headers["Content-Length"]) > 0
        response, body = get("/model/model.json", "HEAD")
        assert response.status == 200 and body == b""
        for path in [
            "/web/../pyproject.toml",
            "/web/%2e%2e/pyproject.toml",
            "/model/..%2f..%2fmain.keras",
            "/x",
        ]:
            assert get(path)[0].status == 404, path
        response, _ = get("/")
        assert response.status == 302 and response.headers["Location"] == "/web/x"
        conn.close()
