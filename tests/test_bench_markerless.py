"""`soroban-vision bench --only markerless`: the learned frame model against the outline search,
measured alone (no column models trained). The full `bench --quick` run (test_bench.py) checks
the rows' figures; this checks the part on its own, its report and the option's errors. No timing
is asserted."""

from __future__ import annotations

import json

import pytest

from soroban_vision.bench import BenchConfig, Results, markdown
from soroban_vision.bench.report import FRAME_MODEL_LABEL, OUTLINE_LABEL, figure
from soroban_vision.errors import UsageError
from tests.conftest import assert_one_line_error, run_cli

# the targets for markerless reading, each judged in bench's report
MARKERLESS_TARGETS = {
    "markerless_time",
    "corner_median",
    "corner_p95",
    "frame_not_found",
    "exact",
    "silent_wrong",
    "markerless_browser",
    "frame_size",
}


def test_a_run_measures_the_parts_it_is_given():
    cfg = BenchConfig.quick_mode()
    assert cfg.parts == ("columns", "markerless")
    assert cfg.with_budget(parts=("markerless",)).parts == ("markerless",)
    assert cfg.with_budget(parts=("markerless", "columns")).parts == ("columns", "markerless")
    assert cfg.with_budget(epochs=3).parts == cfg.parts
    with pytest.raises(UsageError) as e:
        cfg.with_budget(parts=("frames",))
    assert e.value.code == "bad_part" and "columns, markerless" in str(e.value)


def test_figures_are_written_to_a_sensible_precision():
    assert figure(9.22935, "fps") == "9.2 fps"
    assert figure(251220, "bytes") == "251,220 B"
    assert figure(645.94, "ms") == "645.9 ms" and figure(1.284, "ms") == "1.28 ms"
    assert figure(None, "fps") == "not applicable"


def test_a_browser_stage_the_reader_never_timed_is_not_measured_not_zero():
    """A stage some frames skip counts 0 ms there; one no frame timed (renamed in reader.js, say)
    is reported as not measured, never as a 0 ms that reads like a win."""
    from soroban_vision.bench.markerless import _stage_median

    reads = [{"stages": {"locate": 40.0, "views": 2.0}}, {"stages": {"locate": 50.0}}]
    reads.append({"stages": {"locate": 45.0}})
    assert _stage_median(reads, "locate") == 45.0
    assert _stage_median(reads, "views") == 0.0  # skipped by two of three frames
    assert _stage_median(reads, "crops") == "not measured: the browser reader gave no time for crops"
    why = "not measured: cannot start Chromium"
    assert _stage_median(why, "locate") == why  # no frames at all: the reason, for every stage


def test_an_unknown_part_is_one_line():
    assert_one_line_error(run_cli("bench", "--only", "frames"), 2, "--only", "markerless")


@pytest.fixture(scope="module")
def markerless(tmp_path_factory) -> tuple[dict, str, str]:
    out = tmp_path_factory.mktemp("bench-markerless")
    proc = run_cli("bench", "--quick", "--only", "markerless", "--json", "-", "--markdown", out / "b.md")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout), (out / "b.md").read_text(), proc.stderr


@pytest.mark.slow
def test_only_markerless_measures_the_frame_model_and_the_outline_search(markerless):
    doc, md, console = markerless
    assert doc["meta"]["parts"] == ["markerless"] and "budget" not in doc["meta"]
    assert {r["pair"] for r in doc["rows"]} == {"frame"}  # no column model was trained
    assert {t["key"] for t in doc["targets"]} == MARKERLESS_TARGETS
    assert "`soroban-vision bench --quick --only markerless`" in md
    assert "Training budget" not in md and "MobileNetV2" not in md.split("## How")[0]
    assert f"| {FRAME_MODEL_LABEL} | {OUTLINE_LABEL} |" in md
    assert FRAME_MODEL_LABEL in console and "Targets" in console  # the console table goes to stderr
    again = Results.from_json(doc)
    assert json.loads(json.dumps(again.to_json(), default=str)) == doc
    assert markdown(again) == md
