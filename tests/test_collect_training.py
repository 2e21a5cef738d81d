"""The training page's server side without training: the run parameters (numbers in ranges, nothing
else), the publishing rule, the event stream's framing, the settings, the confinement of a run's
subprocesses, and every bad request against a real collect-server: a JSON error with a stable code
and a 4xx status, and no run folder left behind. The run itself is in
test_collect_training_browser.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from soroban_vision.collect.burst import base_crops
from soroban_vision.collect.confine import Bounds, launcher
from soroban_vision.collect.process import ServerProcess
from soroban_vision.collect.rejection import Rejected
from soroban_vision.collect.runlog import RunLog
from soroban_vision.collect.runs import Run, RunParams
from soroban_vision.collect.sse import frame, stream
from soroban_vision.collect.trainer_settings import TrainerSettings
from soroban_vision.collect.verdict import decide
from soroban_vision.errors import UsageError
from tests.conftest import assert_one_line_error, run_cli
from tests.test_collect_server import ADMIN, WRITE, call, png

# --------------------------------------------------------------------------- pure pieces


def test_run_parameters_are_numbers_in_their_ranges():
    assert RunParams.parse({}) == RunParams()
    p = RunParams.parse({"epochs": 1, "synthetic": 0, "learning_rate": 1e-4, "heldout": 0.5})
    assert (p.epochs, p.synthetic, p.learning_rate, p.heldout) == (1, 0, 1e-4, 0.5)
    cases = [
        ([1], "bad_payload"),
        ({"epochs": "3"}, "bad_field"),
        ({"epochs": 2.5}, "bad_field"),
        ({"epochs": True}, "bad_field"),
        ({"learning_rate": float("nan")}, "bad_field"),
        ({"learning_rate": "1e-3; rm -rf /"}, "bad_field"),
        ({"epochs": 0}, "out_of_range"),
        ({"synthetic": 10**9}, "out_of_range"),
        ({"heldout": 0.9}, "out_of_range"),
        ({"out": "../../models/column"}, "unknown_field"),
        ({"init_from": "/etc"}, "unknown_field"),
    ]
    for doc, code in cases:
        with pytest.raises(Rejected) as e:
            RunParams.parse(doc)
        assert e.value.code == code and 400 <= e.value.status < 500, (doc, e.value.code)


def _comparison(held: tuple[int, int, int], rendered: tuple[int, int, int]) -> dict:
    """(n, current errors, new errors) for each set."""

    def side(n, errors):
        return {"n": n, "errors": errors}

    return {
        "heldout": {"current": side(held[0], held[1]), "new": side(held[0], held[2])},
        "rendered": {"current": side(rendered[0], rendered[1]), "new": side(rendered[0], rendered[2])},
    }


def test_not_worse_means_no_heldout_loss_and_at_most_one_point_on_renders():
    assert decide(_comparison((20, 3, 3), (500, 5, 10)))["not_worse"]  # a drop of 5 of 500 is allowed
    assert decide(_comparison((20, 3, 0), (500, 5, 5)))["not_worse"]
    worse_heldout = decide(_comparison((20, 3, 4), (500, 5, 0)))
    assert not worse_heldout["not_worse"]
    assert [c["status"] for c in worse_heldout["checks"]] == ["fail", "pass"]
    worse_rendered = decide(_comparison((20, 3, 0), (500, 5, 11)))
    assert [c["status"] for c in worse_rendered["checks"]] == ["pass", "fail"]
    assert worse_rendered["checks"][1]["allowed_drop"] == 5
    assert not decide(_comparison((50, 0, 0), (99, 0, 1)))["not_worse"]  # 1% of 99 rounds down to 0
    assert not decide(_comparison((0, 0, 0), (500, 0, 0)))["not_worse"]  # nothing held out: no evidence


def test_an_event_is_one_sse_frame_whatever_its_text():
    raw = frame({"id": 7, "event": "status", "message": "two\nlines\r\n\n"}).decode()
    assert raw.endswith("\n\n") and raw.count("\n\n") == 1
    lines = raw.strip("\n").split("\n")
    assert lines[:2] == ["id: 7", "event: status"]
    assert json.loads(lines[2].removeprefix("data: "))["message"] == "two\nlines\r\n\n"


def test_the_stream_sends_what_came_after_then_ends_and_a_restart_marks_a_run_interrupted(tmp_path):
    import asyncio

    run = Run(1, tmp_path, RunParams(), "now", "column", log=RunLog(tmp_path / "events.ndjson"))
    for batch in range(1, 4):
        run.log.add("batch", batch=batch, loss=0.1)
    run.log.add("epoch", epoch=1)
    run.save()
    run.log.compact("batch")
    run.state = "compared"

    async def read(after):
        return b"".join([chunk async for chunk in stream(run, after)]).decode()

    text = asyncio.run(read(1))
    assert (
        "event: batch" not in text
        and "id: 4\nevent: epoch" in text
        and text.endswith('event: end\ndata: {"state": "compared"}\n\n')
    )
    assert len((tmp_path / "events.ndjson").read_text().splitlines()) == 4  # the file keeps every event
    again = Run.load(tmp_path)  # saved while training: the server stopped during the run
    assert again.state == "interrupted" and again.error["code"] == "interrupted"
    assert again.log.add("run")["id"] == 5  # numbering goes on after a restart


def test_training_settings_come_from_the_environment_and_bad_ones_stop_the_start(tmp_path):
    assert TrainerSettings.from_env({}) is None
    s = TrainerSettings.from_env(
        {"SOROBAN_COLLECT_RUNS_DIR": str(tmp_path / "runs"), "SOROBAN_COLLECT_RUN_THREADS": "1"}
    )
    assert s.publish_dir is None and s.bounds.threads == 1 and "chromium-wasm" in s.doctor_runtimes
    runs = {"SOROBAN_COLLECT_RUNS_DIR": str(tmp_path / "runs")}
    for extra in (
        {"SOROBAN_COLLECT_RUN_MEMORY_MB": "lots"},
        {"SOROBAN_COLLECT_RUN_HOURS": "0"},
        {"SOROBAN_COLLECT_DOCTOR_RUNTIMES": "keras,rm -rf"},
        {"SOROBAN_COLLECT_PUBLISH_DIR": str(tmp_path / "runs" / "published")},
    ):
        with pytest.raises(UsageError) as e:
            TrainerSettings.from_env({**runs, **extra})
        assert e.value.code == "bad_setting", extra


def test_the_folders_can_be_given_as_options_and_are_checked_at_start(tmp_path):
    proc = run_cli(
        "collect-server", "--db", tmp_path / "c.db", "--write-key", WRITE, "--admin-key", ADMIN,
        "--runs-dir", tmp_path / "runs", "--publish-dir", tmp_path / "runs" / "published",
    )  # fmt: skip
    assert_one_line_error(proc, 2, "SOROBAN_COLLECT_PUBLISH_DIR must be a folder apart from")


def test_a_run_step_runs_confined():
    probe = (
        "import os, resource; print(resource.getrlimit(resource.RLIMIT_DATA)[0] >> 20, "
        "resource.getrlimit(resource.RLIMIT_FSIZE)[0] >> 20, resource.getrlimit(resource.RLIMIT_CORE)[0], "
        "os.nice(0), os.environ['TF_NUM_INTRAOP_THREADS'], os.getpgid(0) == os.getpid())"
    )
    argv = launcher(Bounds(memory_mb=3000, file_mb=50, nice=5, threads=1), [sys.executable, "-c", probe])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, start_new_session=True)
    assert proc.returncode == 0, proc.stderr
    data, fsize, core, nice, threads, leader = proc.stdout.split()
    assert (int(data), int(fsize), int(core), threads, leader) == (3000, 50, 0, "1", "True")
    assert int(nice) >= 5


# --------------------------------------------------------------------------- the API, refusing


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """A server with training but no publishing, and one with neither."""
    root = tmp_path_factory.mktemp("training-api")
    env = {"SOROBAN_COLLECT_RUNS_DIR": str(root / "runs")}
    with (
        ServerProcess(str(root / "a.db"), WRITE, ADMIN, env=env, log=root / "a.log") as training,
        ServerProcess(str(root / "b.db"), WRITE, ADMIN, log=root / "b.log") as off,
    ):
        training.runs = root / "runs"
        yield training, off


def _refused(server, method, path, body=None, key=ADMIN, headers=None):
    status, doc, _ = call(server, method, path, body, key=key, headers=headers)
    assert 400 <= status < 500 and isinstance(doc, dict), (path, status, doc)
    return status, doc["error"]["code"]


@pytest.mark.slow
def test_every_bad_training_request_gets_a_json_error_with_a_stable_code(servers):
    training, off = servers
    start = "/api/training/runs"
    table = [
        (training, "POST", start, {}, None, None, (401, "no_key")),
        (training, "POST", start, {}, "wrong-key-000000000000", None, (401, "wrong_key")),
        (training, "POST", start, {}, WRITE, None, (403, "not_admin")),
        (training, "GET", "/api/training/runs/1/events", None, WRITE, None, (403, "not_admin")),
        (off, "POST", start, {}, ADMIN, None, (403, "training_disabled")),
        (off, "GET", "/api/training/runs/1/events", None, ADMIN, None, (403, "training_disabled")),
        (training, "POST", start, b"{not json", ADMIN, None, (400, "bad_json")),
        (training, "POST", start, b"{}", ADMIN, {"Content-Type": "text/plain"}, (415, "not_json")),
        (training, "POST", start, b"x" * 5000, ADMIN, None, (413, "body_too_large")),
        (training, "POST", start, [1, 2], ADMIN, None, (400, "bad_payload")),
        (training, "POST", start, {"epochs": "1; reboot"}, ADMIN, None, (422, "bad_field")),
        (training, "POST", start, {"epochs": 1000}, ADMIN, None, (422, "out_of_range")),
        (training, "POST", start, {"out": "/work/main/models/column"}, ADMIN, None, (422, "unknown_field")),
        (training, "POST", start, b'{"learning_rate": NaN}', ADMIN, None, (422, "bad_field")),
        (training, "POST", start, {}, ADMIN, None, (409, "no_accepted_crops")),
        (training, "GET", "/api/training/runs/1", None, ADMIN, None, (404, "not_found")),
        (training, "GET", "/api/training/runs/99999999999999999999", None, ADMIN, None, (404, "not_found")),
        (training, "GET", "/api/training/runs/..%2F..%2Fetc", None, ADMIN, None, (404, "not_found")),
        (training, "GET", "/api/training/runs/-1/events", None, ADMIN, None, (404, "not_found")),
        (training, "POST", "/api/training/runs/1/stop", {}, ADMIN, None, (404, "not_found")),
        (training, "POST", "/api/training/runs/1/publish", {}, ADMIN, None, (403, "publish_disabled")),
        (training, "GET", start, None, ADMIN, None, (405, "method_not_allowed")),
        (
            training,
            "GET",
            "/api/training/runs/1/events",
            None,
            ADMIN,
            {"Last-Event-ID": "../1"},
            (422, "bad_query"),
        ),
        (training, "GET", "/api/training/runs/1/events?after=1e9", None, ADMIN, None, (422, "bad_query")),
    ]
    for server, method, path, body, key, headers, wanted in table:
        got = _refused(server, method, path, body, key=key, headers=headers)
        assert got == wanted, (method, path, body, got)
    status, doc, _ = call(off, "GET", "/api/training", key=ADMIN)
    assert status == 200 and doc == {"enabled": False}
    assert not list(training.runs.glob("run-*"))  # a refused start leaves nothing behind


@pytest.mark.slow
def test_a_run_needs_accepted_crops_of_two_players_so_some_are_held_out(servers):
    training, _ = servers
    crops = base_crops(10, seed=5)
    doc = {
        "columns": [{"index": i, "image": png(c), "label": d} for i, (c, d) in enumerate(crops)],
        "player": "only-one",
        "session": "s",
    }
    assert call(training, "POST", "/api/collect/v1/crops", doc)[0] == 201
    for crop in call(training, "GET", "/api/review/crops?limit=500", key=ADMIN)[1]["crops"]:
        assert (
            call(training, "POST", f"/api/review/crops/{crop['id']}", {"action": "accept"}, key=ADMIN)[0]
            == 200
        )
    assert _refused(training, "POST", "/api/training/runs", {"epochs": 1}) == (409, "no_heldout_players")
    assert not list(training.runs.glob("run-*"))
    status, overview, _ = call(training, "GET", "/api/training", key=ADMIN)
    assert status == 200 and overview["enabled"] and not overview["publishing"] and overview["runs"] == []
    assert overview["current"] == "column" and overview["busy"] is None
