"""`soroban-vision bench --quick` as CI runs it: every figure it prints was measured.

One run of the real command (real training, exports, ONNX Runtime and headless Chromium);
the checks read its JSON and markdown. No timing is asserted: the numbers are whatever this
machine measured, and only their shape and consistency are checked.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from pathlib import Path

import pytest

from soroban_vision.bench.browser_inference import FRAME_ABSENT, abacus_pipeline_present
from soroban_vision.bench.markerless import NO_FRAME_FOUND
from soroban_vision.bench.report import FRAME_MODEL_LABEL, OUTLINE_LABEL, figure, markdown
from soroban_vision.bench.results import Results
from soroban_vision.bench.timing import p95
from soroban_vision.seeds import MARKERLESS_SEED, TEST_SEED
from tests.conftest import run_cli
from tests.test_bench_markerless import MARKERLESS_TARGETS

pytestmark = [pytest.mark.slow, pytest.mark.browser]

MODELS = ("ours", "reference")
# what a run must show, by row key: both models for every one of these
EXPECTED = [
    "accuracy.digit",
    "size.keras_float32",
    "size.tfjs-float32",
    "size.tfjs-float16",
    "size.tfjs-uint8",
    "size.onnx-float32",
    *[f"python.{rt}.b{b}" for rt in ("keras", "onnxruntime") for b in (1, 13, 256)],
    *[f"browser.wasm.b{b}.{s}" for b in (1, 13) for s in ("median", "p95")],
    "browser.frame.median",
    "browser.frame.p95",
    "training.time_to_target",
    "training.best_val_accuracy",
    "training.duration",
]
GROUPS = ("all", "wide", "classic")
# the frame model against the outline search, both sides: time, accuracy and corner error
MARKERLESS = [
    *[f"markerless.{what}.{s}" for what in ("locate", "read") for s in ("median", "p95")],
    *[f"markerless.{what}.{g}" for what in ("frame_not_found", "exact", "silent_wrong") for g in GROUPS],
    *[f"markerless.corner.{s}.{g}" for s in ("median", "p95") for g in GROUPS],
    # the browser's whole read, with its frame model and with its outline search alone
    "markerless.browser.wasm.median",
    "markerless.browser.wasm.p95",
]
# what only the frame model has (the outline search's side is not applicable)
MODEL_ONLY = ["markerless.found_by_model", "markerless.inference.median", "markerless.inference.p95"]
MODEL_ONLY += ["markerless.size"]
STAGES = ("pixels", "prepare", "locate", "crops", "model", "views", "ends")  # the browser reader's
MODEL_ONLY += [f"markerless.browser.wasm.stage.{s}" for s in STAGES]
# stages a read does only when its columns need it: unsteady columns' views, the crops past each end
SKIPPABLE_STAGES = [f"markerless.browser.wasm.stage.{s}" for s in ("views", "ends")]
VIDEO_MODES = ("track", "each_alone")
VIDEO_TIMES = [f"markerless.browser.wasm.video.{m}.{s}" for m in VIDEO_MODES for s in ("median", "p95")]
VIDEO_TIMES += [
    f"markerless.browser.wasm.video.{m}.{w}.median" for m in VIDEO_MODES for w in ("clear", "hand")
]
MODEL_ONLY += [
    *VIDEO_TIMES,
    "markerless.browser.wasm.video.same_text",
    "markerless.browser.wasm.video.track.kept",
]
MODEL_ONLY += [f"markerless.browser.wasm.video.{m}.exact" for m in VIDEO_MODES]
# the only sentences allowed where a number could be: honest statements, never a stand-in number
NOT_REACHED = re.compile(r"^not reached in \d+ epochs? \(best \d+\.\d\d%\)$")
PLACEHOLDERS = re.compile(r"\b(TODO|TBD|XXX|N/?A|nan|inf|placeholder|lorem)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench")
    proc = run_cli(
        "bench", "--quick", "--json", out / "bench.json", "--markdown", out / "bench.md", timeout=1200
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Targets" in proc.stdout  # the console table
    return json.loads((out / "bench.json").read_text()), (out / "bench.md").read_text()


def number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def test_every_figure_was_measured(quick):
    doc, _ = quick
    rows = {r["key"]: r for r in doc["rows"]}
    missing = [k for k in [*EXPECTED, *MARKERLESS, *MODEL_ONLY] if k not in rows]
    assert not missing, missing
    assert any(k.startswith("render.") for k in rows), "no rendering figure"
    for key, r in rows.items():
        sides = ["ours"] if r["single"] else MODELS
        for side in sides:
            v = r[side]
            where = f"{key} ({side}): {v!r}"
            if key in MODEL_ONLY and side == "reference":
                assert v is None, where  # shown as "not applicable"
            elif key.startswith("markerless.corner.") and v == NO_FRAME_FOUND:
                group = key.rsplit(".", 1)[1]  # that side found no frame in any scene of the group
                assert rows[f"markerless.frame_not_found.{group}"][side] == pytest.approx(100), where
            elif number(v):
                assert math.isfinite(v), where
                # an accuracy or a rate may be 0, and so may a browser stage a frame can skip (its
                # row says so: the page's clock ticks in 0.1 ms); everything else is a real,
                # positive amount
                may_be_zero = r["unit"] == "%" or key in SKIPPABLE_STAGES
                assert v >= 0 if may_be_zero else v > 0, where
                # a share of scenes or columns (a corner error, % of the frame's width, may pass 100)
                assert v <= 100 if r["unit"] == "%" and ".corner." not in key else True, where
            elif key == "training.time_to_target":
                assert NOT_REACHED.match(v), where
            elif key.startswith("browser.frame."):
                assert v == FRAME_ABSENT and not abacus_pipeline_present(), where
            else:
                raise AssertionError(f"not a measured number: {where}")


def test_ratios_agree_with_the_absolute_figures(quick):
    doc, _ = quick
    for r in doc["rows"]:
        # no ratio to a rate of 0 (a markerless side with no scene silently wrong, say)
        if r["single"] or not (number(r["ours"]) and number(r["reference"])) or r["reference"] == 0:
            assert r["ratio"] is None, r["key"]
            continue
        assert r["ratio"] == pytest.approx(r["ours"] / r["reference"], rel=1e-9), r["key"]


def test_timings_are_medians_of_the_recorded_samples(quick):
    doc, _ = quick
    cfg = doc["meta"]["config"]
    for r in doc["rows"]:
        if not r["key"].startswith(("python.", "browser.")) or not number(r["ours"]):
            continue
        for side, arch in zip(MODELS, ("compact", "mobilenetv2"), strict=True):
            samples = r["samples"][arch]
            assert all(number(s) and s > 0 for s in samples), r["key"]
            if r["key"].startswith("python."):
                assert len(samples) == cfg["py_runs"]
                batch = int(r["key"].rsplit(".b", 1)[1])
                assert r[side] == pytest.approx(batch / statistics.median(samples)), r["key"]
            else:
                want = p95(samples) if r["key"].endswith("p95") else statistics.median(samples)
                assert r[side] == pytest.approx(want), r["key"]


def test_exports_report_their_check(quick):
    doc, _ = quick
    for r in doc["rows"]:
        if r["key"].startswith("size.") and r["key"] != "size.keras_float32":
            for arch in ("compact", "mobilenetv2"):
                assert re.match(r"^(passed|failed) \(\d+/\d+ digits changed\)$", r["checks"][arch]), r
    rows = {r["key"]: r for r in doc["rows"]}
    # quantized weights are smaller than float32 weights, for both models
    for side in MODELS:
        f32, f16, u8 = (rows[f"size.tfjs-{p}"][side] for p in ("float32", "float16", "uint8"))
        assert u8 < f16 < f32


def test_targets_use_the_rows(quick):
    doc, _ = quick
    rows = {r["key"]: r for r in doc["rows"]}
    t = {x["key"]: x for x in doc["targets"]}
    assert set(t) == {"accuracy", "size", "smaller", "browser", "onnx"} | MARKERLESS_TARGETS
    browser = t.pop("markerless_browser")
    assert browser["status"] in ("pass", "miss")
    assert browser["measured"] == pytest.approx(1000 / rows["markerless.browser.wasm.median"]["ours"])
    assert all(x["status"] in ("pass", "miss") for x in t.values()), t
    assert t["accuracy"]["measured"] == rows["accuracy.digit"]["ours"]
    assert t["size"]["measured"] == rows["size.keras_float32"]["ours"]
    size = rows["size.keras_float32"]
    assert t["smaller"]["measured"] == pytest.approx(size["reference"] / size["ours"])
    assert t["browser"]["measured"] == rows["browser.wasm.b13.median"]["ours"]
    assert t["onnx"]["measured"] == rows["python.onnxruntime.b256"]["ours"]
    # the markerless targets are the frame model's figures over all scenes
    for key, row in [
        ("markerless_time", "markerless.read.p95"),
        ("corner_median", "markerless.corner.median.all"),
        ("corner_p95", "markerless.corner.p95.all"),
        ("frame_not_found", "markerless.frame_not_found.all"),
        ("exact", "markerless.exact.all"),
        ("silent_wrong", "markerless.silent_wrong.all"),
        ("frame_size", "markerless.size"),
    ]:
        assert t[key]["measured"] == rows[row]["ours"], key


def test_the_markdown_table_is_what_the_readme_shows(quick):
    doc, md = quick
    meta = doc["meta"]
    assert meta["mode"] == "quick" and meta["test"]["seed"] == TEST_SEED
    assert f"seed {TEST_SEED}" in md
    assert meta["date"][:10] in md  # the date
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        None,
    )
    if cpu:
        assert cpu in md
    assert f"{meta['machine']['cores']} cores" in md and "GiB RAM" in md
    for name in ("python", "tensorflow", "@tensorflow/tfjs"):
        assert meta["machine"]["versions"][name] in md, name
    for r in doc["rows"]:
        assert r["metric"] in md, r["key"]
        for side in ["ours"] if r["single"] else MODELS:
            assert figure(r[side], r["unit"]) in md, (r["key"], side)
    for t in doc["targets"]:
        assert t["text"] in md
    assert md.count("| pass |") + md.count("**miss**") + md.count("| not measured |") == len(doc["targets"])
    assert f"| {FRAME_MODEL_LABEL} | {OUTLINE_LABEL} | model ÷ outline |" in md  # its own table
    assert not PLACEHOLDERS.search(md), PLACEHOLDERS.search(md)


def test_saved_results_report_the_same_table(quick):
    doc, md = quick
    again = Results.from_json(doc)
    assert json.loads(json.dumps(again.to_json(), default=str)) == doc
    assert markdown(again) == md


def test_markerless_rows_compare_the_frame_model_with_the_outline_search(quick):
    doc, _ = quick
    meta, rows = doc["meta"], {r["key"]: r for r in doc["rows"]}
    n = meta["config"]["markerless_scenes"]
    assert meta["markerless"]["seeds"] == {"wide": MARKERLESS_SEED, "classic": MARKERLESS_SEED + 1}
    assert meta["markerless"]["scenes_per_variety"] == n
    for key in MARKERLESS + MODEL_ONLY:
        assert rows[key]["pair"] == "frame" and not rows[key]["single"], key
    # the whole set's rates are its varieties' (each variety has n scenes)
    for what in ("frame_not_found", "exact", "silent_wrong"):
        for side in MODELS:
            by_variety = [rows[f"markerless.{what}.{v}"][side] for v in ("wide", "classic")]
            assert rows[f"markerless.{what}.all"][side] == pytest.approx(sum(by_variety) / 2), (what, side)
            assert all(v * n / 100 == pytest.approx(round(v * n / 100)) for v in by_variety), (
                what,
                by_variety,
            )
    # exact, silent wrong and frame not found are outcomes no scene has two of
    for side in MODELS:
        total = sum(rows[f"markerless.{w}.all"][side] for w in ("frame_not_found", "exact", "silent_wrong"))
        assert total <= 100 + 1e-9, side
    found = rows["markerless.found_by_model"]["ours"]
    assert 0 <= found <= 100 - rows["markerless.frame_not_found.all"]["ours"] + 1e-9
    # the browser's stages are parts of each read: no stage's median above the whole read's
    stages = [rows[f"markerless.browser.wasm.stage.{s}"]["ours"] for s in STAGES]
    assert all(number(v) and v >= 0 for v in stages), stages
    assert rows["markerless.browser.wasm.stage.locate"]["ours"] > 0
    assert max(stages) <= rows["markerless.browser.wasm.median"]["ours"] + 1e-9


def test_markerless_timings_are_statistics_of_the_recorded_samples(quick):
    doc, _ = quick
    rows = {r["key"]: r for r in doc["rows"]}
    scenes = 2 * doc["meta"]["config"]["markerless_scenes"]
    for key in [k for k in MARKERLESS + MODEL_ONLY if rows[k]["unit"] == "ms" and ".browser." not in k]:
        r = rows[key]
        sides = (
            [("ours", "frame_model"), ("reference", "outline")]
            if key not in MODEL_ONLY
            else [("ours", "frame_model")]
        )
        for side, name in sides:
            samples = r["samples"][name]
            assert len(samples) == scenes and all(number(s) and s > 0 for s in samples), key
            want = p95(samples) if key.endswith("p95") else statistics.median(samples)
            assert r[side] == pytest.approx(want), (key, side)


def test_the_markerless_video_is_read_with_and_without_track_and_timed_from_its_samples(quick):
    doc, md = quick
    rows, video = {r["key"]: r for r in doc["rows"]}, doc["meta"]["markerless"]["video"]
    frames = video["numbers"] * video["frames_per_number"] * video["passes"]
    for key in VIDEO_TIMES:
        mode = key.split(".")[4]
        samples = rows[key]["samples"][mode]
        assert 0 < len(samples) <= frames and all(number(s) and s > 0 for s in samples), key
        want = p95(samples) if key.endswith("p95") else statistics.median(samples)
        assert rows[key]["ours"] == pytest.approx(want), key
    video_row = lambda mode, what: rows[f"markerless.browser.wasm.video.{mode}.{what}"]  # noqa: E731
    for mode in VIDEO_MODES:  # the hand-free frames and those with a hand are all the frames
        parts = [video_row(mode, f"{w}.median")["samples"][mode] for w in ("clear", "hand")]
        assert sorted(parts[0] + parts[1]) == sorted(video_row(mode, "median")["samples"][mode])
    # the track kept frames, and lost no hand-free frame's number by it
    assert video_row("track", "kept")["ours"] > 0
    assert video_row("track", "exact")["ours"] >= video_row("each_alone", "exact")["ours"]
    assert f"(seed {video['seed']}" in md
