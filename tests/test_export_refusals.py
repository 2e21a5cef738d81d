"""What export refuses, and what a refused export leaves behind: nothing.

Every failure here is real: a real output folder nobody can write, a real conversion whose real check
finds its probabilities farther from Keras's than the tolerance it was given.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from soroban_vision import contract
from soroban_vision.errors import UsageError
from soroban_vision.folders import check_fresh, staged_folder
from tests.conftest import assert_one_line_error, run_cli

# runs the CLI in-process, then says which heavy modules that process imported
IMPORTS_AFTER_CLI = """
import json, sys
from soroban_vision.cli import main
try:
    main(sys.argv[1:])
finally:
    print(json.dumps(sorted(m for m in ("tensorflow", "keras", "onnxruntime") if m in sys.modules)))
"""


def _export_in_process(tmp_path: Path, model: Path, out: Path) -> tuple[subprocess.CompletedProcess, Path]:
    """`soroban-vision export MODEL --out OUT` with its own empty TMPDIR, where any conversion would
    leave its SavedModel folder."""
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir(exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-c", IMPORTS_AFTER_CLI, "export", str(model), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TMPDIR": str(tmpdir), "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    return proc, tmpdir


def _unwritable_outs(tmp_path: Path) -> list[tuple[Path, str]]:
    """--out folders this process cannot make, with a word of the error each gives. Tests run as root
    here, and root writes into a chmod 0o555 folder, so the ones that hold for root come first."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    outs = [(a_file / "export", "not a folder")]  # a path under a regular file
    if Path("/sys").is_dir():
        outs.append((Path("/sys/soroban-vision-export"), "cannot write"))  # sysfs: even root makes no folder
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        outs.append((locked / "export", "permission denied"))
    return outs


def test_an_unwritable_out_is_refused_before_any_work(good_model, tmp_path):
    for out, word in _unwritable_outs(tmp_path):
        proc, tmpdir = _export_in_process(tmp_path, good_model, out)
        assert_one_line_error(proc, 2, "cannot write --out", str(out), word)
        assert json.loads(proc.stdout.splitlines()[-1]) == [], proc.stdout  # TensorFlow never imported
        assert list(tmpdir.iterdir()) == [], out  # the converter never ran: no SavedModel folder
        assert not out.exists()
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_check_fresh_wants_an_empty_writable_folder(tmp_path):
    assert check_fresh(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checking makes nothing
    (tmp_path / "empty").mkdir()
    assert check_fresh(tmp_path / "empty", beside=True) == tmp_path / "empty"
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        check_fresh(tmp_path / "file" / "out", "--workdir")
    with pytest.raises(UsageError, match="not an empty folder; choose a fresh --out"):
        check_fresh(tmp_path / "file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "file"]  # no probe left behind


def test_a_staged_folder_appears_whole_or_not_at_all(tmp_path):
    out = tmp_path / "a" / "export"
    with pytest.raises(RuntimeError), staged_folder(out) as folder:
        (folder / "model.json").write_text("{}")
        raise RuntimeError("the converter crashed")
    assert not out.exists() and list(out.parent.iterdir()) == []
    with staged_folder(out) as folder:
        (folder / "model.json").write_text("{}")
        assert not out.exists()  # nothing in --out until the block ends
    assert [p.name for p in out.iterdir()] == ["model.json"] and list(out.parent.iterdir()) == [out]
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask  # a normal folder, not a 0700 temp one
    (tmp_path / "empty").mkdir()
    with staged_folder(tmp_path / "empty") as folder:
        (folder / "contract.json").write_text("{}")
    assert [p.name for p in (tmp_path / "empty").iterdir()] == ["contract.json"]


# --------------------------------------------------------------------------- float32 checks that fail


def _left_beside(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name and out.name in p.name)


@pytest.mark.slow
def test_a_float32_tfjs_export_that_strays_from_keras_is_refused(good_model, tmp_path):
    """The real check, on the real conversion: its probabilities differ from Keras's by float32
    rounding (about 1e-7), more than the 1e-9 it is given here, so it is refused and nothing written."""
    out = tmp_path / "tfjs"
    out.mkdir()
    proc = run_cli("export", good_model, "--out", out, "--tolerance", "1e-9")
    assert_one_line_error(proc, 3, "export refused", "float32 TF.js", "max |diff|", "tolerance 1e-09")
    assert "0 of 1000 digit decisions changed" in proc.stderr and "--force" in proc.stderr
    assert list(out.iterdir()) == [] and _left_beside(out) == []
    assert_one_line_error(
        run_cli("export", good_model, "--out", tmp_path / "u8", "--precision", "uint8", "--tolerance", "0"),
        2,
        "--tolerance is for float32",
    )


@pytest.mark.slow
def test_a_float32_onnx_export_that_strays_from_keras_is_refused_unless_forced(good_model, tmp_path):
    from soroban_vision.export import ExportRefused, export

    out = tmp_path / "onnx"
    with pytest.raises(ExportRefused, match=r"float32 ONNX model differs from Keras on onnxruntime") as e:
        export(good_model, out, fmt="onnx", tolerance=1e-9, say=lambda *_: None)
    assert e.value.exit_code == 3 and "\n" not in str(e.value)
    assert not out.exists() and _left_beside(out) == []
    said = []
    doc = export(good_model, out, fmt="onnx", tolerance=1e-9, force=True, say=said.append)
    v = doc["verification"]
    assert v["status"] == "failed-forced" and v["tolerance"] == 1e-9 and v["disagreements"] == 0
    assert 1e-9 < max(v["golden_max_abs_diff"], *v["max_abs_diff"].values()) <= 1e-5
    assert any(s.startswith("warning: the float32 ONNX model differs") for s in said)
    assert (
        contract.read(out)["verification"] == v and doc["golden"]["tolerance"] == contract.FLOAT32_TOLERANCE
    )
    contract.verify_files(doc, out)
