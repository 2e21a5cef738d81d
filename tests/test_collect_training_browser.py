"""The training page (web/review/training.html) in real headless Chromium against a running
collect-server: a tiny fine-tune of the shipped model on a few accepted crops of three players plus
rendered columns starts from the page, its progress events arrive on the page as they happen, it is
stopped from the page, compared with the current model on the held-out player's crops and on renders,
and published (export with its contract, then the doctor) exactly when the rule says it is not worse.
Only one run at a time; the published folder is the test's own, never models/column."""

from __future__ import annotations

import hashlib
import http.client
import json
from urllib.parse import urlsplit

import pytest

from soroban_vision.collect.burst import base_crops
from soroban_vision.collect.process import ServerProcess
from soroban_vision.runners.chromium import FLAGS, find_chromium
from tests.conftest import ROOT
from tests.test_collect_server import ADMIN, WRITE, call, png

pytestmark = [pytest.mark.slow, pytest.mark.browser]
RUN = {"epochs": 3, "synthetic": 40, "learning_rate": 1e-4, "batch_size": 16, "rendered": 20}
WAIT_MS = 240_000  # an upper bound on a shared 2-core machine, not a timing the test asserts


def shipped_digest() -> str:
    h = hashlib.sha256()
    for path in sorted((ROOT / "models" / "column").rglob("*")):
        if path.is_file():
            h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("training")
    env = {
        "SOROBAN_COLLECT_RUNS_DIR": str(root / "runs"),
        "SOROBAN_COLLECT_PUBLISH_DIR": str(root / "published"),
        "SOROBAN_COLLECT_DOCTOR_RUNTIMES": "keras,tfjs-node",  # Chromium's own parity is tested elsewhere
    }
    with ServerProcess(str(root / "t.db"), WRITE, ADMIN, env=env, log=root / "server.log") as running:
        crops = base_crops(30, seed=71)
        for player in range(3):  # 3 players, 10 crops each: one player is held out
            mine = crops[player * 10 : (player + 1) * 10]
            doc = {
                "columns": [{"index": i, "image": png(c), "label": d} for i, (c, d) in enumerate(mine)],
                "player": f"pupil-{player}",
                "session": "lesson",
            }
            assert call(running, "POST", "/api/collect/v1/crops", doc)[0] == 201
        for crop in call(running, "GET", "/api/review/crops?limit=500", key=ADMIN)[1]["crops"]:
            action = {"action": "accept"}
            assert call(running, "POST", f"/api/review/crops/{crop['id']}", action, key=ADMIN)[0] == 200
        running.root = root
        yield running


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")),
            executable_path=find_chromium(),
            headless=True,
            args=FLAGS,
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def raw_events(server, run_id: int, after: int) -> list[tuple[str, str, str]]:
    """(id, event, data) of each frame of the event stream, read to its end with the admin key."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    headers = {"Authorization": f"Bearer {ADMIN}", "Last-Event-ID": str(after)}
    conn.request("GET", f"/api/training/runs/{run_id}/events", headers=headers)
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Type").startswith("text/event-stream")
    text = response.read().decode()
    conn.close()
    frames = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and line[0] != ":")
        if "event" in fields:
            frames.append((fields.get("id"), fields["event"], fields.get("data")))
    return frames


def test_a_fine_tune_from_the_page_streams_stops_compares_and_publishes_by_the_rule(server, page):
    before = shipped_digest()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/review/training.html")
    page.fill("#key", ADMIN)
    page.click("#login button[type=submit]")
    page.wait_for_selector("#overview:has-text('Current model: column')")
    for name, value in RUN.items():
        page.fill(f"#start input[name={name}]", str(value))
    page.click("#start-button")
    page.wait_for_selector("#state[data-state=training]")
    run_id = int(page.inner_text("#run-title").split()[1])

    # one run at a time, whoever asks
    assert call(server, "POST", "/api/training/runs", {"epochs": 1}, key=ADMIN)[1]["error"]["code"] == (
        "run_in_progress"
    )
    assert call(server, "POST", f"/api/training/runs/{run_id}/publish", {}, key=ADMIN)[0] == 409

    # progress events arrive while it trains; then the page stops it
    page.wait_for_selector('#progress:not([data-batches="0"])', timeout=WAIT_MS)
    page.click("#stop")
    page.wait_for_selector("#log li[data-event=stop_requested]")
    page.wait_for_selector("#state[data-state=compared], #state[data-state=failed]", timeout=WAIT_MS)
    run = call(server, "GET", f"/api/training/runs/{run_id}", key=ADMIN)[1]
    assert run["state"] == "compared", run["error"]
    assert run["stop_requested"] and run["metrics"]["stopped_by_file"]
    batches, steps = (
        int(page.get_attribute("#progress", "data-batches")),
        int(page.get_attribute("#bar", "max")),
    )
    assert 0 < batches < RUN["epochs"] * steps  # it stopped before its last batch
    for kind in ("dataset_loaded", "epoch_start", "complete", "evaluated", "compared"):
        assert page.locator(f"#log li[data-event={kind}]").count() >= 1, kind
    assert run["data"] == {"train": 20, "heldout": 10}
    assert run["comparison"]["heldout"]["players"] == 1

    # the comparison as the page shows it, and the rule's verdict
    rows = page.locator("#comparison tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).get_attribute("data-check") == "heldout" and "10" in rows.nth(0).inner_text()
    assert rows.nth(1).get_attribute("data-check") == "rendered" and "20" in rows.nth(1).inner_text()
    not_worse = run["verdict"]["not_worse"]
    assert page.is_enabled("#publish") == not_worse
    assert page.inner_text("#verdict").startswith("Not worse" if not_worse else "Worse")

    # the stream again, from the middle: only what came after, then its end
    frames = raw_events(server, run_id, run["last_event"] - 2)
    assert [int(i) for i, _, _ in frames[:-1]] == [run["last_event"] - 1, run["last_event"]]
    assert frames[-2][1] == "compared" and frames[-1][1] == "end"

    published = server.root / "published"
    if not not_worse:
        status, doc, _ = call(server, "POST", f"/api/training/runs/{run_id}/publish", {}, key=ADMIN)
        assert (status, doc["error"]["code"]) == (409, "worse_than_current")
        assert not (published / f"run-{run_id}").exists()
    else:
        page.click("#publish")
        page.wait_for_selector(
            "#state[data-state=published], #state[data-state=publish_failed]", timeout=WAIT_MS
        )
        run = call(server, "GET", f"/api/training/runs/{run_id}", key=ADMIN)[1]
        assert run["state"] == "published", run["error"]
        assert page.get_attribute("#doctor-status", "data-status") == run["doctor"]["status"] != "fail"
        assert {r["id"] for r in run["doctor"]["runtimes"]} == {"keras", "tfjs-node"}
        folder = published / f"run-{run_id}"
        contract = json.loads((folder / "tfjs" / "contract.json").read_text())
        assert (folder / "model.keras").is_file() and (folder / "tfjs" / "model.json").is_file()
        assert contract["outputs"] and json.loads((folder / "doctor.json").read_text())["status"] != "fail"
        assert json.loads((published / "current.json").read_text())["name"] == f"run-{run_id}"
        page.wait_for_selector(f"#overview:has-text('Current model: run-{run_id}')")
        assert call(server, "POST", f"/api/training/runs/{run_id}/publish", {}, key=ADMIN)[1]["error"][
            "code"
        ] == ("already_published")
    assert shipped_digest() == before
    assert not errors, errors
