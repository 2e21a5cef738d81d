"""Covered columns (`occluded/`) in training: read into their own list, trained toward no
information, and so flagged by the reader's confidence threshold afterwards."""

import json

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
    """The shipped model fine-tuned twice, the same way, with and without the covered crops: with
    them, the held-out covered crops are flagged (confidence below the reader's threshold) more often,
    and the readable columns are still read."""
    digits_only = tmp_path / "digits-only"
    digits_only.mkdir()
    for d in range(10):
        (digits_only / str(d)).symlink_to(covered_set / str(d))
    runs = {}
    for name, data in (("with", covered_set), ("without", digits_only)):
        proc = run_cli(
            "train", "--data", data, "--init-from", good_model, "--epochs", 3, "--batch-size", 32,
            "--seed", 3, "--deterministic", "--learning-rate", "1e-3", "--out", tmp_path / name,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        runs[name] = json.loads((tmp_path / name / "metrics.json").read_text())
    with_covered = runs["with"]["occluded"]
    assert with_covered["n_train"] > 40 and "occluded" not in runs["without"]
    _, held_out = stratified_split(scan([covered_set]).occluded, TrainConfig.val_split, 3)
    assert len(held_out) == with_covered["n_val"]
    without = occluded.flagged(load_model(tmp_path / "without"), held_out, 0)
    assert with_covered["val_flagged"] > without["val_flagged"] + 0.2, (with_covered, without)
    assert runs["with"]["val"]["digit_accuracy"] >= 0.8, runs["with"]["val"]
