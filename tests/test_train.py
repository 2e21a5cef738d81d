"""Training, evaluation and classification with real TensorFlow on small rendered data."""

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from soroban_vision.data import write_dataset
from soroban_vision.train import JsonReporter, TrainConfig, stratified_split, train
from tests.conftest import assert_one_line_error, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def learn_data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("learn") / "data"
    write_dataset(out, per_digit=100, seed=5)
    return out


@pytest.fixture(scope="module")
def tiny_run(learn_data, tmp_path_factory):
    """One short real training run, shared by the tests that need a trained model. Seeded and
    deterministic (TensorFlow op determinism), so it ends with the same weights every time:
    its validation digit accuracy (75.3% on 150 columns, measured twice) is fixed by the seed,
    not by how the machine was loaded. The tests assert only what far weaker runs also show."""
    out = tmp_path_factory.mktemp("run") / "tiny"
    events = io.StringIO()
    cfg = TrainConfig(
        data=[str(learn_data)], epochs=7, batch_size=32, seed=3, out=str(out), deterministic=True
    )
    metrics = train(cfg, JsonReporter(events))
    return out, metrics, [json.loads(line) for line in events.getvalue().splitlines()]


def test_a_tiny_run_learns_above_chance(tiny_run):
    out, metrics, events = tiny_run
    history = [e for e in events if e["event"] == "epoch"]
    assert len(history) == 7
    # chance is 0.1 for the digit, 0.5 for heaven, 0.2 for earth
    assert metrics["val"]["digit_accuracy"] > 0.3, metrics
    assert history[-1]["val"]["digit_accuracy"] > history[0]["val"]["digit_accuracy"]
    for name in ("model.keras", "history.json", "metrics.json", "training.png", "model-card.md"):
        assert (out / name).is_file(), name
    card = (out / "model-card.md").read_text()
    assert "compact" in card and "digit accuracy" in card and "47,766" in card


def test_digit_accuracy_is_exact_not_a_product_of_heads(tiny_run):
    _, _, events = tiny_run
    for e in (e for e in events if e["event"] == "epoch"):
        v = e["val"]
        assert v["digit_accuracy"] <= min(v["heaven_accuracy"], v["earth_accuracy"]) + 1e-9


def test_progress_events_have_the_documented_fields(tiny_run):
    _, _, events = tiny_run
    kinds = [e["event"] for e in events]
    assert kinds[0] == "status" and kinds[-1] == "complete"
    loaded = next(e for e in events if e["event"] == "dataset_loaded")
    assert loaded["counts"] == {str(d): 100 for d in range(10)} and loaded["train"] + loaded["val"] == 1000
    epoch = next(e for e in events if e["event"] == "epoch")
    assert {"epoch", "loss", "val_loss", "train", "val", "learning_rate"} <= epoch.keys()
    for split in ("train", "val"):
        assert set(epoch[split]) == {"heaven_accuracy", "earth_accuracy", "digit_accuracy"}
    done = events[-1]
    assert {"metrics", "duration_s"} <= done.keys() and done["metrics"]["val"]["n"] == loaded["val"]


def test_split_is_stratified_and_repeatable(learn_data):
    from soroban_vision.data import scan

    items = scan([learn_data]).items
    train_a, val_a = stratified_split(items, 0.2, seed=1)
    train_b, val_b = stratified_split(items, 0.2, seed=1)
    assert val_a == val_b and train_a == train_b
    per_digit = {d: sum(it.digit == d for it in val_a) for d in range(10)}
    assert set(per_digit.values()) == {20}
    assert not set(val_a) & set(train_a)


def test_cli_json_progress_is_pure_ndjson(learn_data, tmp_path):
    proc = run_cli(
        "train",
        "--data",
        learn_data,
        "--epochs",
        1,
        "--batch-size",
        64,
        "--out",
        tmp_path / "r",
        "--json-progress",
    )
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]  # every line is JSON
    assert {"status", "dataset_loaded", "epoch", "complete"} <= {e["event"] for e in events}


def test_stop_file_stops_early_and_keeps_the_best_weights(learn_data, tmp_path):
    stop = tmp_path / "STOP"
    stop.touch()
    metrics = train(
        TrainConfig(
            data=[str(learn_data)], epochs=50, batch_size=32, out=str(tmp_path / "r"), stop_file=str(stop)
        )
    )
    assert metrics["stopped_by_file"] and metrics["epochs_run"] == 1
    assert (tmp_path / "r" / "model.keras").is_file()
    history = json.loads((tmp_path / "r" / "history.json").read_text())
    assert len(history) == 1


def test_deterministic_runs_give_the_same_weights(learn_data, tmp_path):
    """--deterministic: two runs with the same seed and data end with the same weights, bit for bit."""
    import keras

    for name in ("a", "b"):
        proc = run_cli(
            "train", "--data", learn_data, "--epochs", 1, "--batch-size", 64, "--seed", 4,
            "--deterministic", "--out", tmp_path / name, "--json-progress",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    a, b = (keras.models.load_model(tmp_path / n / "model.keras").get_weights() for n in ("a", "b"))
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    history = [json.loads((tmp_path / n / "history.json").read_text()) for n in ("a", "b")]
    assert history[0] == history[1]


@pytest.mark.parametrize(
    "learning_rate",
    [
        "1e38",  # the training loss itself overflows in the first batches
        "1e30",  # the training loss stays finite; only the validation pass shows the overflow
    ],
)
def test_nan_loss_stops_with_a_cause(learn_data, tmp_path, learning_rate):
    proc = run_cli(
        "train",
        "--data",
        learn_data,
        "--epochs",
        2,
        "--learning-rate",
        learning_rate,
        "--out",
        tmp_path / "r",
        "--json-progress",
    )
    assert_one_line_error(proc, 1, "loss became", "learning rate")
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[-1]["event"] == "error" and "learning rate" in events[-1]["hint"]
    assert not (tmp_path / "r" / "model.keras").exists()


def test_too_few_images_is_an_error(tmp_path):
    write_dataset(tmp_path / "few", per_digit=4, seed=1, workers=1)
    proc = run_cli("train", "--data", tmp_path / "few", "--out", tmp_path / "r", "--json-progress")
    assert_one_line_error(proc, 2, "at least 50")
    assert json.loads(proc.stdout.splitlines()[-1])["event"] == "error"


def test_a_missing_digit_is_warned_about(learn_data, tmp_path):
    import shutil

    data = tmp_path / "no7"
    shutil.copytree(learn_data, data)
    shutil.rmtree(data / "7")
    proc = run_cli("train", "--data", data, "--epochs", 1, "--out", tmp_path / "r", "--json-progress")
    assert proc.returncode == 0, proc.stderr
    statuses = [json.loads(line) for line in proc.stdout.splitlines()]
    assert any("digit(s) 7" in e.get("message", "") for e in statuses if e["event"] == "status")


def test_training_never_overwrites_a_trained_model(tiny_run, learn_data):
    out, _, _ = tiny_run
    before = (out / "model.keras").read_bytes()
    proc = run_cli("train", "--data", learn_data, "--out", out)
    assert_one_line_error(proc, 2, "already holds a trained model")
    assert (out / "model.keras").read_bytes() == before


def test_init_from_a_model_of_another_architecture_is_one_line(learn_data, tmp_path):
    frame_model = Path(__file__).resolve().parents[1] / "models" / "frame"
    proc = run_cli("train", "--data", learn_data, "--init-from", frame_model, "--out", tmp_path / "r")
    assert_one_line_error(proc, 2, "--init-from", "not a compact model")
    assert not (tmp_path / "r" / "model.keras").exists()


def test_no_data_is_a_usage_error(tmp_path):
    assert_one_line_error(run_cli("train", "--out", tmp_path / "r"), 2, "no training data")
    assert_one_line_error(
        run_cli("train", "--data", tmp_path / "nope", "--out", tmp_path / "r"), 2, "does not exist"
    )


DISTRIBUTED = """
import json, sys, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from soroban_vision.train import TrainConfig, train
m = train(TrainConfig(data=[sys.argv[1]], epochs=2, batch_size=16, out=sys.argv[2], distribute=sys.argv[3]))
print(json.dumps(m))
"""


@pytest.mark.parametrize("strategy", ["mirrored", "multiworker"])
def test_tf_distribute_strategies_on_two_logical_cpus(learn_data, tmp_path, strategy):
    proc = subprocess.run(
        [sys.executable, "-c", DISTRIBUTED, str(learn_data), str(tmp_path / "r"), strategy],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads(proc.stdout.splitlines()[-1])
    expected = 2 if strategy == "mirrored" else 1  # one worker; it mirrors over its own devices
    assert metrics["replicas"] >= expected and metrics["epochs_run"] == 2
    assert np.isfinite(metrics["val"]["loss"])


# --------------------------------------------------------------------------- evaluate / classify


def test_evaluate_reports_accuracy_confusion_and_worst(tiny_run, learn_data, tmp_path):
    out, _, _ = tiny_run
    proc = run_cli(
        "evaluate",
        out,
        "--data",
        learn_data,
        "--json",
        "-",
        "--plot",
        tmp_path / "c.png",
        "--worst",
        tmp_path / "w.png",
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["n"] == 1000
    for key in ("digit_accuracy", "heaven_accuracy", "earth_accuracy"):
        assert 0.0 <= result[key] <= 1.0
    confusion = np.array(result["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 1000
    assert confusion.trace() / 1000 == pytest.approx(result["digit_accuracy"])
    assert (tmp_path / "c.png").is_file() and (tmp_path / "c-reliability.png").is_file()
    ece, bins = result["calibration"]["ece"], result["calibration"]["bins"]
    assert 0.0 <= ece <= 1.0 and sum(b["n"] for b in bins) == 1000
    if result["errors"]:
        assert (tmp_path / "w.png").is_file()
    table = run_cli("evaluate", out / "model.keras", "--data", learn_data)
    assert "digit accuracy" in table.stdout and "true\\pred" in table.stdout


def test_classify_any_size_and_colour_mode(tiny_run, learn_data, tmp_path):
    out, _, _ = tiny_run
    src = sorted((learn_data / "7").glob("*.png"))[0]
    gray = np.asarray(Image.open(src))
    Image.fromarray(np.stack([gray] * 3, -1)).resize((128, 256)).save(tmp_path / "big_rgb.png")
    proc = run_cli("classify", src, tmp_path / "big_rgb.png", "--model", out, "--json", "-")
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert len(results) == 2
    for r in results:
        assert r["digit"] == 5 * r["heaven"]["active"] + r["earth"]["count"]
        assert 0 <= r["confidence"] <= 1 and len(r["earth"]["probs"]) == 5


def test_classify_bad_inputs_are_one_line_errors(tiny_run, tmp_path):
    out, _, _ = tiny_run
    (tmp_path / "bad.png").write_bytes(b"garbage")
    assert_one_line_error(
        run_cli("classify", tmp_path / "bad.png", "--model", out), 2, "not a readable image"
    )
    assert_one_line_error(run_cli("classify", tmp_path / "none.png", "--model", out), 2, "no such file")
    assert_one_line_error(
        run_cli("classify", tmp_path / "bad.png", "--model", tmp_path / "x.keras"), 2, "does not exist"
    )
    assert_one_line_error(run_cli("evaluate", out, "--data", tmp_path / "empty"), 2, "does not exist")
