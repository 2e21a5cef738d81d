"""Covered columns (`occluded/`) in training: read into their own list, trained toward no
information, and so flagged by the reader's confidence threshold afterwards."""

import json
from pathlib import Path

import numpy as np
import pytest

from soroban_vision import occluded
from soroban_vision.data import scan
from soroban_vision.model import load_model
from soroban_vision.render.column_set import write_columns
from soroban_vision.train import TrainConfig, stratified_split
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def covered_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("covered") / "data"
    write_columns(out, 30, 6, "wide", 0.3, workers=1)
    return out


def test_covered_crops_are_their_own_list_from_folder_and_manifest(covered_set):
    by_folder = scan([covered_set])
    by_manifest = scan([], manifest=covered_set / "manifest.json")
    for ds in (by_folder, by_manifest):
        assert len(ds.items) == 300 and ds.counts() == {d: 30 for d in range(10)}
        assert len(ds.occluded) > 50 and all(it.digit is None for it in ds.occluded)
        assert all(it.path.parent.name == occluded.FOLDER for it in ds.occluded)
    assert not any("ignored" in w for w in by_folder.warnings), by_folder.warnings


def test_covered_columns_get_no_information_targets():
    tf = pytest.importorskip("tensorflow")
    got = occluded.earth_targets(tf.constant([3, occluded.EARTH, 0])).numpy()
    assert np.array_equal(got[0], [0, 0, 0, 1, 0]) and np.array_equal(got[2], [1, 0, 0, 0, 0])
    assert np.allclose(got[1], 0.2)
    # the numpy loss used for the reported scores is the same cross-entropy
    p = np.array([[0.1, 0.2, 0.3, 0.3, 0.1], [0.1, 0.2, 0.3, 0.3, 0.1]])
    loss = occluded.earth_loss(p, np.array([2, occluded.EARTH]))
    assert loss[0] == pytest.approx(-np.log(0.3)) and loss[1] == pytest.approx(-np.log(p[1]).mean())


@pytest.mark.slow
def test_training_on_covered_columns_gets_them_flagged(covered_set, good_model, tmp_path):
    """The shipped model fine-tuned twice, the same way, on the same crops: once with the covered
    crops as `occluded/` (no information), once labelled with the digit under the hand, as a naive
    collector would. Only the first flags the held-out covered crops (confidence below the
    reader's threshold), and the readable columns are still read."""
    _, held_out = stratified_split(scan([covered_set]).occluded, TrainConfig.val_split, 3)
    kept = {it.path.name for it in held_out}
    manifest = json.loads((covered_set / "manifest.json").read_text())
    naive = tmp_path / "naive"
    for d in range(10):
        (naive / str(d)).mkdir(parents=True)
        for f in (covered_set / str(d)).iterdir():
            (naive / str(d) / f.name).symlink_to(f)
    for item in manifest["items"]:
        name = Path(item["file"]).name
        if item.get("occluded") and name not in kept:  # the held-out ones stay unseen
            (naive / str(item["hidden_digit"]) / name).symlink_to(covered_set / item["file"])
    runs = {}
    for name, data in (("occluded", covered_set), ("naive", naive)):
        proc = run_cli(
            "train", "--data", data, "--init-from", good_model, "--epochs", 3, "--batch-size", 32,
            "--seed", 3, "--deterministic", "--learning-rate", "1e-3", "--out", tmp_path / name,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        runs[name] = json.loads((tmp_path / name / "metrics.json").read_text())
    ours = runs["occluded"]["occluded"]
    assert ours["n_train"] > 40 and ours["n_val"] == len(held_out) and "occluded" not in runs["naive"]
    naive_flagged = occluded.flagged(load_model(tmp_path / "naive"), held_out, 0)
    # the shipped model already learned covered columns, so the naive labels only begin to undo
    # that in three epochs: ours flags nearly all, and is clearly less sure of them than the naive run
    assert ours["val_flagged"] >= 0.9 and ours["val_flagged"] >= naive_flagged["val_flagged"], (
        ours,
        naive_flagged,
    )
    assert ours["val_confidence_median"] < naive_flagged["val_confidence_median"] - 0.1, (ours, naive_flagged)
    assert runs["occluded"]["val"]["digit_accuracy"] >= 0.8, runs["occluded"]["val"]
