"""The loop end to end on a tiny collected set: crops posted to a running collect-server, accepted
by review, exported with players kept apart, then `train --init-from models/column` fine-tunes on
them mixed with rendered columns (1 epoch) and `evaluate` scores the held-out players."""

from __future__ import annotations

import json

import pytest

from soroban_vision.collect.burst import base_crops
from soroban_vision.collect.process import ServerProcess
from tests.conftest import ROOT, run_cli
from tests.test_collect_review_browser import request
from tests.test_collect_server import ADMIN, WRITE, png

pytestmark = pytest.mark.slow


def test_fine_tune_from_the_shipped_model_on_collected_crops(tmp_path):
    crops = base_crops(60, seed=31)
    with ServerProcess(str(tmp_path / "loop.db"), WRITE, ADMIN) as server:
        for player in range(6):  # 6 players, 10 crops each, every digit once
            mine = crops[player * 10 : (player + 1) * 10]
            doc = {
                "columns": [{"index": i, "image": png(c), "label": d} for i, (c, d) in enumerate(mine)],
                "player": f"student-{player}",
                "session": "lesson-1",
            }
            assert request(server, "POST", "/api/collect/v1/crops", doc, key=WRITE)[0] == 201
        for crop in request(server, "GET", "/api/review/crops?limit=500")[1]["crops"]:
            assert request(server, "POST", f"/api/review/crops/{crop['id']}", {"action": "accept"})[0] == 200
        data = tmp_path / "collected"
        run_cli("dataset", "export", "--db", str(tmp_path / "loop.db"), "--out", data, check=True)
    train = json.loads((data / "train" / "manifest.json").read_text())
    held = json.loads((data / "heldout" / "manifest.json").read_text())
    assert len(train["items"]) + len(held["items"]) == 60 and train["players"] == 5 and held["players"] == 1

    out = tmp_path / "tuned"
    proc = run_cli(
        "train",
        "--init-from",
        ROOT / "models" / "column",
        "--data",
        data / "train",
        "--synthetic",
        "100",
        "--epochs",
        "1",
        "--learning-rate",
        "1e-4",
        "--batch-size",
        "32",
        "--out",
        out,
        check=True,
    )
    assert (out / "model.keras").is_file(), proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    # one epoch from random weights reads about 1 in 5; from the shipped model, nearly all
    assert metrics["val"]["digit_accuracy"] >= 0.9, metrics["val"]
    result = run_cli("evaluate", out, "--data", data / "heldout", "--json", "-", check=True)
    assert json.loads(result.stdout)["n"] == len(held["items"])
