import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from soroban_vision.data import parse_collected_name, scan, write_dataset
from soroban_vision.errors import DatasetError
from tests.conftest import assert_one_line_error, run_cli


def test_render_writes_the_layout_and_a_matching_manifest(tmp_path):
    out = tmp_path / "out"
    proc = run_cli("render", "--out", out, "--per-digit", 100, "--seed", 7, "--preview", tmp_path / "p.png")
    assert proc.returncode == 0, proc.stderr
    pngs = sorted(out.glob("*/*.png"))
    assert len(pngs) == 1000
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["items"]) == 1000
    for item in manifest["items"]:
        assert Path(item["file"]).parts[0] == str(item["digit"])
        assert 5 * item["heaven"] + item["earth"] == item["digit"]
        assert {"seed", "params"} <= item.keys()
    for p in pngs[::97]:
        with Image.open(p) as im:
            assert im.size == (64, 128) and im.mode == "L"
    with Image.open(tmp_path / "p.png") as sheet:
        assert sheet.size[0] > 64 * 8 and sheet.size[1] > 128 * 10


def test_same_seed_gives_identical_bytes_in_parallel_and_serial(tmp_path):
    a = write_dataset(tmp_path / "a", per_digit=6, seed=3, workers=2)
    b = write_dataset(tmp_path / "b", per_digit=6, seed=3, workers=1)
    assert a == b
    for item in a["items"]:
        assert (tmp_path / "a" / item["file"]).read_bytes() == (tmp_path / "b" / item["file"]).read_bytes()


def test_render_never_writes_into_a_folder_that_has_files(tmp_path):
    keep = tmp_path / "mine" / "notes.txt"
    keep.parent.mkdir()
    keep.write_text("precious")
    proc = run_cli("render", "--out", keep.parent, "--per-digit", 1)
    assert_one_line_error(proc, 2, "not an empty folder")
    assert keep.read_text() == "precious" and len(list(keep.parent.iterdir())) == 1


def test_wrong_flags_are_one_line_errors(tmp_path):
    assert_one_line_error(run_cli("render", "--out", tmp_path / "x", "--per-digit", 0), 2, "per-digit")
    assert_one_line_error(run_cli("render", "--out", tmp_path / "x", "--per-digit", 2, "--nope"), 2, "--nope")
    assert_one_line_error(run_cli("no-such-command"), 2, "no-such-command")


def test_every_command_has_help():
    from soroban_vision.cli import main

    for name in main.commands:
        proc = run_cli(name, "--help")
        assert proc.returncode == 0 and "Usage:" in proc.stdout, name


def test_scan_reads_the_rendered_layout(small_dataset):
    ds = scan([small_dataset])
    assert len(ds.items) == 200 and ds.counts() == dict.fromkeys(range(10), 20)
    assert not ds.skipped and not ds.resized and not ds.warnings


def _copy_some(src: Path, dst: Path, n: int = 3) -> None:
    for d in range(10):
        (dst / str(d)).mkdir(parents=True, exist_ok=True)
        for p in sorted((src / str(d)).glob("*.png"))[:n]:
            shutil.copy(p, dst / str(d) / p.name)


def test_collected_file_names_are_understood(small_dataset, tmp_path):
    name = "20240301T101500_alice_s42_col3_1b2c3d4e.png"
    assert parse_collected_name(Path(name).stem) == {
        "timestamp": "20240301T101500",
        "player": "alice",
        "session": "s42",
        "column": 3,
        "uuid": "1b2c3d4e",
    }
    assert parse_collected_name("syn_s1_d0_000001") == {}
    real = tmp_path / "real"
    _copy_some(small_dataset, real, 1)
    src = next((real / "3").glob("*.png"))
    src.rename(real / "3" / name)
    ds = scan([real, small_dataset])  # synthetic and real mixed
    assert len(ds.items) == 210
    collected = [it for it in ds.items if it.meta]
    assert len(collected) == 1 and collected[0].digit == 3 and collected[0].meta["player"] == "alice"


def test_corrupt_files_are_skipped_counted_and_named(small_dataset, tmp_path):
    root = tmp_path / "d"
    _copy_some(small_dataset, root)
    victim = next((root / "4").glob("*.png"))
    victim.write_bytes(victim.read_bytes()[:200])  # truncated
    (root / "5" / "empty.png").write_bytes(b"")
    ds = scan([root])
    assert len(ds.items) == 29 and len(ds.skipped) == 2
    assert len([w for w in ds.warnings if "skipped 2 unreadable" in w]) == 1
    assert victim.name in " ".join(ds.warnings)
    assert victim.exists(), "a bad file is skipped, never deleted"


def test_wrong_size_and_colour_are_kept_with_a_warning(small_dataset, tmp_path):
    root = tmp_path / "d"
    _copy_some(small_dataset, root, 1)
    Image.fromarray(np.zeros((90, 40, 3), np.uint8)).save(root / "7" / "big.png")
    ds = scan([root])
    assert len(ds.items) == 11 and len(ds.resized) == 1
    assert any("not 64x128" in w for w in ds.warnings)


def test_non_digit_folders_are_ignored_with_a_warning(small_dataset, tmp_path):
    root = tmp_path / "d"
    _copy_some(small_dataset, root, 1)
    (root / "unsorted").mkdir()
    shutil.copy(next((root / "1").glob("*.png")), root / "unsorted" / "x.png")
    (root / "12").mkdir()
    ds = scan([root])
    assert len(ds.items) == 10
    assert any("unsorted" in w and "12" in w for w in ds.warnings)


def test_a_missing_digit_is_a_warning(small_dataset, tmp_path):
    root = tmp_path / "d"
    _copy_some(small_dataset, root, 1)
    shutil.rmtree(root / "9")
    ds = scan([root])
    assert any("no images of digit(s) 9" in w for w in ds.warnings)


def test_empty_or_missing_dataset_is_an_error(tmp_path):
    (tmp_path / "empty" / "3").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no usable images"):
        scan([tmp_path / "empty"])
    with pytest.raises(DatasetError, match="does not exist"):
        scan([tmp_path / "nowhere"])


def test_manifest_filters_the_items(small_dataset, tmp_path):
    root = tmp_path / "d"
    _copy_some(small_dataset, root)
    chosen = [f"{d}/{p.name}" for d in range(10) for p in sorted((root / str(d)).glob("*.png"))[:2]]
    (root / "keep.json").write_text(json.dumps({"items": [{"file": f, "digit": int(f[0])} for f in chosen]}))
    ds = scan([], manifest=root / "keep.json")
    assert sorted(str(it.path.relative_to(root.resolve())) for it in ds.items) == sorted(chosen)


@pytest.mark.parametrize("bad", ["../outside.png", "/etc/passwd", "3/../../x.png"])
def test_manifest_entries_outside_the_dataset_are_rejected(tmp_path, bad):
    root = tmp_path / "d"
    (root / "3").mkdir(parents=True)
    (root / "m.json").write_text(json.dumps({"items": [{"file": bad, "digit": 3}]}))
    with pytest.raises(DatasetError, match="outside the dataset folder"):
        scan([], manifest=root / "m.json")


def test_manifest_that_is_not_json_is_an_error(tmp_path):
    (tmp_path / "m.json").write_text("{nope")
    with pytest.raises(DatasetError, match="not valid JSON"):
        scan([], manifest=tmp_path / "m.json")
