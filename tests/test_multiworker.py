"""Training on several machines (`train --distribute multiworker`), tested with two workers on
localhost: real processes, real TensorFlow, real gRPC. Usage errors and the pure pieces (cluster
values, shards, the rendezvous, the backup) are tested without TensorFlow."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from soroban_vision.data import scan, write_dataset
from soroban_vision.errors import UsageError
from soroban_vision.multiworker import backup, rendezvous
from soroban_vision.multiworker.cluster import Cluster, ClusterError, resolve
from soroban_vision.pipeline import shard
from soroban_vision.train import stratified_split
from tests.conftest import ROOT, assert_one_line_error, run_cli

# the same command on both workers: deterministic, so "identical weights" is exact
OPTIONS = ("--epochs", "2", "--batch-size", "6", "--seed", "3", "--deterministic", "--json-progress")
WAIT_S = 150  # no single worker process may run longer than this


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


class Workers:
    """Worker processes of one cluster on localhost, their output in files; every one is killed on exit."""

    def __init__(self, tmp: Path, data: Path, *extra: str):
        self.tmp, self.data, self.extra = tmp, data, extra
        self.addresses = [f"localhost:{free_port()}", f"localhost:{free_port()}"]
        self.procs: list[subprocess.Popen] = []

    def start(self, index: int, tag: str, *more: str, tf_config: bool = False) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
        env["TF_CPP_MIN_LOG_LEVEL"] = "2"
        where = ["--cluster", ",".join(self.addresses), "--task-index", str(index)]
        if tf_config:  # the same cluster, the way TensorFlow's own tools describe it
            where = ["--distribute", "multiworker"]
            env["TF_CONFIG"] = json.dumps(
                {"cluster": {"worker": self.addresses}, "task": {"type": "worker", "index": index}}
            )
        cmd = [sys.executable, "-m", "soroban_vision.cli", "train", "--data", str(self.data), *where]
        with open(self.tmp / f"{tag}.out", "w") as out, open(self.tmp / f"{tag}.err", "w") as err:
            proc = subprocess.Popen(
                [*cmd, *OPTIONS, *self.extra, *more], stdout=out, stderr=err, env=env, cwd=ROOT
            )
        self.procs.append(proc)
        return proc

    def events(self, tag: str) -> list[dict]:
        text = (self.tmp / f"{tag}.out").read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def wait(self, proc: subprocess.Popen, tag: str) -> int:
        code = proc.wait(timeout=WAIT_S)
        assert code == 0, (tag, code, (self.tmp / f"{tag}.err").read_text()[-3000:])
        return code

    def __enter__(self):
        return self

    def __exit__(self, *_):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def final_digest(events: list[dict]) -> str:
    """The weights' digest a worker reported last: the chief in its metrics, the others in a status."""
    last = events[-1]
    return last["metrics"]["weights_sha256"] if last["event"] == "complete" else last["weights_sha256"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """169 training images: shards of 85 and 84, so with batches of 6 worker 1 runs out one step
    before worker 0 in every epoch (15 batches against 14) and takes that step with an empty batch."""
    out = tmp_path_factory.mktemp("mw") / "data"
    write_dataset(out, per_digit=20, seed=11, workers=1)
    sorted((out / "0").glob("*.png"))[0].unlink()
    return out


@pytest.fixture(scope="module")
def two_workers(data, tmp_path_factory):
    """One uninterrupted run of two workers: the chief by --cluster, worker 1 by TF_CONFIG."""
    tmp = tmp_path_factory.mktemp("two")
    with Workers(tmp, data) as cluster:
        chief = cluster.start(0, "chief", "--out", str(tmp / "chief"))
        other = cluster.start(1, "worker", "--out", str(tmp / "worker"), tf_config=True)
        cluster.wait(chief, "chief")
        cluster.wait(other, "worker")
        return tmp, cluster.events("chief"), cluster.events("worker")


# --------------------------------------------------------------------------- two workers


@pytest.mark.slow
def test_two_workers_train_one_model_and_only_the_chief_writes(two_workers):
    from soroban_vision.model import load_model
    from soroban_vision.multiworker.loop import weights_digest

    tmp, chief, worker = two_workers
    out = tmp / "chief"
    assert sorted(p.name for p in out.iterdir()) == [
        "history.json", "metrics.json", "model-card.md", "model.keras", "training.png"
    ]  # fmt: skip
    assert not (tmp / "worker").exists()  # the other worker wrote nothing, not even its --out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["workers"] == 2 and metrics["replicas"] == 2 and metrics["epochs_run"] == 2
    assert metrics["workers_in_step"] and metrics["resumed_after_epoch"] == 0
    model = load_model(out / "model.keras")
    images = np.random.default_rng(0).random((3, 128, 64, 1), np.float32)
    predicted = model(images, training=False)
    assert predicted["heaven"].shape == (3, 1) and np.allclose(
        np.sum(predicted["earth"], axis=1), 1, atol=1e-5
    )
    # both workers end with the same weights, bit for bit, and they are the saved model's
    assert final_digest(worker) == metrics["weights_sha256"] == weights_digest(model)


@pytest.mark.slow
def test_progress_comes_from_the_chief_only(two_workers):
    _, chief, worker = two_workers
    assert {"epoch_start", "batch", "epoch", "complete"} <= {e["event"] for e in chief}
    assert {e["event"] for e in worker} <= {"status", "shard"}
    assert "in step with the chief" in worker[-1]["message"]


@pytest.mark.slow
def test_each_worker_reads_its_own_share_and_every_image_is_trained_on(two_workers, data):
    """Policy: worker i reads items i, i+2, i+4, ... of the training list (the split's order)."""
    from soroban_vision.multiworker.loop import fingerprint

    _, chief, worker = two_workers
    train_items, _ = stratified_split(scan([data]).items, 0.15, 3)
    shards = {e["worker"]: e for e in chief + worker if e["event"] == "shard"}
    assert sorted(shards) == [0, 1]
    for i, seen in shards.items():
        assert seen["workers"] == 2 and seen["of"] == len(train_items)
        assert seen["sha256"] == fingerprint(shard(train_items, i, 2)), i
    assert sum(s["files"] for s in shards.values()) == len(train_items) == 169
    assert [e["images"] for e in chief if e["event"] == "epoch"] == [len(train_items)] * 2


@pytest.mark.slow
def test_a_killed_worker_restarted_resumes_the_run_to_the_same_model(two_workers, data, tmp_path):
    """SIGKILL worker 1 in the middle of epoch 2 and start it again: the chief rejoins on its own, the
    cluster resumes after epoch 1 (the chief's backup), and ends with the uninterrupted run's weights."""
    _, reference, _ = two_workers
    out = tmp_path / "chief"
    with Workers(tmp_path, data) as cluster:
        chief = cluster.start(0, "chief", "--out", str(out))
        doomed = cluster.start(1, "worker-a", "--out", str(tmp_path / "worker"))
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and chief.poll() is None:
            events = cluster.events("chief")
            second = [i for i, e in enumerate(events) if e["event"] == "epoch_start" and e["epoch"] == 2]
            if second and sum(e["event"] == "batch" for e in events[second[0] :]) >= 2:
                break
            time.sleep(0.05)
        assert (out / ".backup" / "state.npz").is_file()  # epoch 1's, written by the chief
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=30)
        again = cluster.start(1, "worker-b", "--out", str(tmp_path / "worker"))
        cluster.wait(chief, "chief")
        cluster.wait(again, "worker-b")
        events = cluster.events("chief")
    said = [e["message"] for e in events if e["event"] == "status"]
    assert any("lost worker 1" in m and "resumes after epoch 1" in m for m in said), said
    assert "resuming from the backup after epoch 1" in said
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [1, 2]  # epoch 2 again, from its start
    assert final_digest(events) == final_digest(reference) == final_digest(cluster.events("worker-b"))
    assert not (out / ".backup").exists()  # the chief cleans up once the model is saved


@pytest.mark.slow
def test_a_stop_file_on_one_worker_stops_every_worker(data, tmp_path):
    (tmp_path / "stop-1").touch()
    with Workers(tmp_path, data, "--epochs", "5") as cluster:
        chief = cluster.start(
            0, "chief", "--out", str(tmp_path / "chief"), "--stop-file", str(tmp_path / "stop-0")
        )
        other = cluster.start(
            1, "worker", "--out", str(tmp_path / "w"), "--stop-file", str(tmp_path / "stop-1")
        )
        cluster.wait(chief, "chief")
        cluster.wait(other, "worker")
        events = cluster.events("chief")
    metrics = json.loads((tmp_path / "chief" / "metrics.json").read_text())
    assert metrics["stopped_by_file"] and metrics["epochs_run"] == 1
    assert sum(e["event"] == "batch" for e in events) == 1  # every worker stopped after the same batch


@pytest.mark.slow
def test_a_worker_that_cannot_reach_the_chief_gives_up_with_one_line(data, tmp_path):
    proc = run_cli(
        "train", "--data", data, "--cluster", f"localhost:{free_port()},localhost:{free_port()}",
        "--task-index", 1, "--cluster-timeout", 3, "--out", tmp_path / "r", timeout=120,
    )  # fmt: skip
    assert_one_line_error(proc, 1, "did not answer within 3 s", "--cluster-timeout")
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------- usage errors


TWO = "localhost:1,localhost:2"


@pytest.mark.parametrize(
    ("options", "tf_config", "words"),
    [
        ("--cluster localhost:1,localhost --task-index 0", None, ["'localhost' is not host:port"]),
        ("--cluster localhost:1,localhost:70000 --task-index 0", None, ["not host:port"]),
        (f"--cluster {TWO} --task-index 2", None, ["--task-index 2", "0 to 1"]),
        (f"--cluster {TWO} --task-index -1", None, ["out of range"]),
        ("--cluster localhost:1,localhost:1 --task-index 0", None, ["twice"]),
        (f"--cluster {TWO}", None, ["--cluster needs --task-index"]),
        ("--distribute multiworker --task-index 1", None, ["--task-index needs --cluster"]),
        (f"--cluster {TWO} --task-index 0 --distribute mirrored", None, ["multiworker"]),
        (f"--cluster {TWO} --task-index 0 --cluster-timeout 0", None, ["--cluster-timeout"]),
        (f"--cluster {TWO} --task-index 0", (TWO, 1), ["disagree"]),  # TF_CONFIG: another task
        ("--cluster localhost:1,localhost:3 --task-index 0", (TWO, 0), ["disagree"]),  # another cluster
        ("--distribute multiworker", (TWO, 2), ["TF_CONFIG task index 2"]),
    ],
)
def test_bad_cluster_values_are_one_line_usage_errors(tmp_path, options, tf_config, words):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    if tf_config:
        workers, index = tf_config
        env["TF_CONFIG"] = json.dumps(
            {"cluster": {"worker": workers.split(",")}, "task": {"type": "worker", "index": index}}
        )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "soroban_vision.cli",
            "train",
            "--synthetic",
            "100",
            "--out",
            str(tmp_path / "r"),
        ]
        + options.split(),
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert_one_line_error(proc, 2, *words)
    assert not (tmp_path / "r").exists()


def test_tf_config_with_a_chief_job_puts_the_chief_first():
    doc = {"cluster": {"chief": ["c:1"], "worker": ["w:2", "w:3"]}, "task": {"type": "worker", "index": 1}}
    assert resolve(None, None, json.dumps(doc)) == Cluster(("c:1", "w:2", "w:3"), 2)
    assert resolve(None, None, None) is None  # one worker, no cluster
    with pytest.raises(UsageError, match="not a cluster"):
        resolve(None, None, "{}")


# --------------------------------------------------------------------------- shards, rendezvous, backup


@pytest.mark.parametrize("workers", [1, 2, 3, 7])
def test_shards_hold_every_training_file_exactly_once(small_dataset, workers):
    train_items, _ = stratified_split(scan([small_dataset]).items, 0.15, 0)
    shards = [shard(train_items, i, workers) for i in range(workers)]
    seen = [it.path for s in shards for it in s]
    assert sorted(seen) == sorted(it.path for it in train_items) and len(set(seen)) == len(seen)
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    for s in shards:  # the list runs digit by digit, so every worker sees every digit
        assert {it.digit for it in s} == set(range(10))


@pytest.mark.slow
@pytest.mark.parametrize("cache_limit_mb", [512, 0])  # decoded once and kept, or streamed from disk
def test_an_epochs_batches_depend_only_on_the_seed_and_the_epoch(small_dataset, cache_limit_mb):
    from soroban_vision.pipeline import EpochBatches

    items = scan([small_dataset]).items[:13]

    def epoch(number: int) -> list[np.ndarray]:
        source = EpochBatches(items, 4, seed=2, batches=6, cache_limit_mb=cache_limit_mb)
        return [x.numpy() for x, _ in source.epoch(number)]

    first, again, second = epoch(1), epoch(1), epoch(2)
    assert [len(x) for x in first] == [4, 4, 4, 1, 0, 0]  # padded with empty batches to 6
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))  # a fresh process, same epoch
    assert not np.array_equal(first[0], second[0])


def meet_both(workers: tuple[str, ...], facts: list[dict], timeout: float) -> list[Exception | None]:
    """Run the chief's and worker 1's side of the rendezvous at once; what each raised."""
    outcome: list[Exception | None] = [None, None]

    def side(index: int) -> None:
        try:
            rendezvous.meet(Cluster(workers, index), facts[index], timeout, lambda _: None)
        except Exception as e:  # the test reads it
            outcome[index] = e

    threads = [threading.Thread(target=side, args=(i,)) for i in (1, 0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 10)
    return outcome


def test_the_rendezvous_lets_agreeing_workers_in_and_stops_disagreeing_ones():
    workers = (f"localhost:{free_port()}", f"localhost:{free_port()}")
    assert meet_both(workers, [{"--epochs": 2}, {"--epochs": 2}], 20) == [None, None]
    chief, other = meet_both(workers, [{"--epochs": 2}, {"--epochs": 3}], 2)
    assert isinstance(other, UsageError) and "--epochs 3 where the chief has 2" in str(other)
    assert isinstance(chief, ClusterError) and "--epochs 3" in str(chief)


def test_a_backup_from_another_run_is_refused(tmp_path):
    run = {"--epochs": 2, "data fingerprint": "ab"}
    payload = backup.pack({"model/0": np.arange(3.0)}, {"run": run, "epochs_done": 1, "callbacks": []})
    backup.save(tmp_path, payload)
    assert backup.load(tmp_path, run) == payload
    arrays, doc = backup.unpack(payload)
    assert np.array_equal(arrays["model/0"], np.arange(3.0)) and doc["epochs_done"] == 1
    with pytest.raises(UsageError, match=r"another run \(different --epochs\)"):
        backup.load(tmp_path, {**run, "--epochs": 3})
    backup.remove(tmp_path)
    assert backup.load(tmp_path, run) is None
