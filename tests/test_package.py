"""The installable package: the wheel carries the shipped model and the browser library, and a
fresh venv with only the base dependencies (no TensorFlow) reads sorobans from outside the
checkout. Built from the files git would hold, as CI's clone has them; pip takes the lock's
versions (-c requirements.lock) so that its cache serves them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from soroban_vision.data import write_dataset
from soroban_vision.render.scene import render_scene
from tests.conftest import ROOT, assert_one_line_error
from tests.test_watch import write_clip

pytestmark = pytest.mark.slow
NUMBER = 4_031_200_598_761
DATA = "soroban_vision/_data/"


def run(*args, timeout: float = 300, cwd: Path | None = None, check: bool = True):
    # no PYTHONPATH, no TF log level: the fresh install must stand on its own
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL")}
    proc = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env
    )
    if check and proc.returncode != 0:
        tail = f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        raise AssertionError(f"{args[:3]}: exit {proc.returncode}\n{tail}")
    return proc


def checkout_copy(dest: Path) -> Path:
    """The files a fresh clone has (tracked, or new and not ignored), plus web/node_modules,
    which `make setup` installs and the build takes TF.js and OpenCV.js from."""
    listed = run("git", "-C", ROOT, "ls-files", "-z", "-co", "--exclude-standard", check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: cannot tell which files a clone holds")
    for rel in filter(None, listed.stdout.split("\0")):
        if (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)
    (dest / "web" / "node_modules").symlink_to(ROOT / "web" / "node_modules")
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("package")
    t0 = time.perf_counter()
    source = checkout_copy(work / "source")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", work / "dist", source)
    (wheel,) = (work / "dist").glob("soroban_vision-*.whl")
    built = time.perf_counter()
    venv = work / "venv"
    run(sys.executable, "-m", "venv", venv)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run(*pip, "-c", ROOT / "requirements.lock", wheel, timeout=600)
    done = time.perf_counter()
    print(
        f"\nwheel {wheel.stat().st_size / 1e6:.2f} MB built in {built - t0:.0f} s; fresh venv with the base "
        f"install in {done - built:.0f} s, {_megabytes(venv):.0f} MB"
    )
    outside = work / "elsewhere"  # never the checkout: nothing may come from it
    outside.mkdir()
    return {"wheel": wheel, "bin": venv / "bin", "cwd": outside}


def _megabytes(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def test_the_wheel_ships_the_model_and_the_browser_library(installed):
    with zipfile.ZipFile(installed["wheel"]) as wheel:
        names = set(wheel.namelist())
        sizes = {i.filename: i.file_size for i in wheel.infolist()}
    for name in (
        "models/column/model.onnx",
        "models/column/contract.json",
        "models/column/model-card.md",
        "models/column/tfjs/model.json",
        "web/src/index.js",
        "web/src/index.d.ts",
        "web/src/abacus/spec.json",
        "web/demo/index.html",
        "web/node_modules/@tensorflow/tfjs/dist/tf.min.js",
        "web/node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm",
        "web/node_modules/@opencvjs/web/lib/opencv_js.js",
    ):
        assert DATA + name in names, name
    assert "soroban_vision/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    # what training and export need stays in the checkout
    assert not any(n.endswith("model.keras") or "tfjs-float16" in n or "/test/" in n for n in names)
    # 18.4 MB unpacked, 13.3 MB of it OpenCV.js (the browser's marker detector): no other package rides along
    assert sum(sizes.values()) < 20e6


def test_the_base_install_reads_a_photo_and_columns_without_tensorflow(installed, tmp_path):
    scene, _ = render_scene(NUMBER, 13, seed=31, markers=True)
    photo = tmp_path / "scene.png"
    Image.fromarray(scene).save(photo)
    sv, cwd = installed["bin"] / "soroban-vision", installed["cwd"]

    proc = run(sv, "read", photo, "--json", "-", cwd=cwd)
    (entry,) = json.loads(proc.stdout)
    assert entry["number"] == NUMBER and entry["method"] == "markers"
    assert proc.stderr == ""  # no TensorFlow, and nothing else, to chatter

    columns = tmp_path / "columns"
    write_dataset(columns, per_digit=2, seed=77, workers=1)
    images = sorted(columns.glob("[0-9]/*.png"))
    readings = json.loads(run(sv, "classify", *images, "--json", "-", cwd=cwd).stdout)
    assert [r["digit"] for r in readings] == [int(p.parent.name) for p in images]

    code = (
        "import sys, soroban_vision\n"
        "from soroban_vision.reader import DEFAULT_MODEL\n"
        "from soroban_vision.serve import WEB_DIR\n"
        f"r = soroban_vision.read_abacus({str(photo)!r})\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow was imported'\n"
        "print(r.number, DEFAULT_MODEL, WEB_DIR)\n"
    )
    number, model, web = run(installed["bin"] / "python", "-c", code, cwd=cwd).stdout.split()
    assert int(number) == NUMBER
    assert "site-packages" in model and Path(model).parts[-3:] == ("_data", "models", "column")
    assert "site-packages" in web and Path(web).parts[-2:] == ("_data", "web")


def test_the_base_install_watches_a_video(installed, tmp_path):
    clip = write_clip(tmp_path / "clip.avi", [(NUMBER, 6)])
    proc = run(installed["bin"] / "soroban-vision", "watch", clip, "--json", "-", cwd=installed["cwd"])
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(e["event"], e.get("number")) for e in events] == [("steady", NUMBER), ("end", None)]
    # the base install's OpenCV is headless: no preview window, said in one line before any frame
    proc = run(
        installed["bin"] / "soroban-vision", "watch", clip, "--show", cwd=installed["cwd"], check=False
    )
    assert_one_line_error(proc, 2, "--show needs OpenCV with a GUI", "pip install opencv-python")
    assert proc.stdout == ""


def test_commands_that_need_tensorflow_name_the_extra(installed):
    sv, cwd = installed["bin"] / "soroban-vision", installed["cwd"]
    proc = run(sv, "train", "--data", "x", "--out", "y", cwd=cwd, check=False)
    assert_one_line_error(proc, 2, "'train' needs the training extras", "pip install 'soroban-vision[train]'")
    proc = run(sv, "export", "model.keras", "--out", "z", cwd=cwd, check=False)
    assert_one_line_error(proc, 2, "'export' needs the training extras")


def test_the_installed_demo_serves_the_page_tfjs_and_the_model(installed):
    proc = subprocess.Popen(
        [installed["bin"] / "soroban-vision", "serve-demo", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=installed["cwd"],
    )
    try:
        line = proc.stdout.readline()  # "demo: http://127.0.0.1:PORT/web/demo/index.html   (model: ...)"
        assert line.startswith("demo: http://127.0.0.1:"), line + proc.stderr.read()
        base = line.split()[1].removesuffix("/web/demo/index.html")
        for path in (
            "/web/demo/index.html",
            "/web/demo/demo.js",
            "/web/src/index.js",
            "/web/src/abacus/spec.json",
            "/web/node_modules/@tensorflow/tfjs/dist/tf.min.js",
            "/web/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js",
            "/web/node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm",
            "/web/node_modules/@opencvjs/web/lib/opencv_js.js",
            "/model/contract.json",
            "/model/model.json",
        ):
            with urllib.request.urlopen(base + path, timeout=10) as response:
                assert response.status == 200 and response.read(), path
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


# ----------------------------------------------------------------------------- TensorFlow commands


def test_tensorflow_commands_start_quietly_and_evaluate_reports_progress(small_dataset):
    """No C++ start-up lines (cuDNN/cuBLAS factories, computation placer: logged before absl
    starts, where TF_CPP_MIN_LOG_LEVEL does not reach), stdout pure JSON, and evaluate's
    progress callback counts every image against the total."""
    from soroban_vision import evaluate
    from soroban_vision.model import load_model
    from tests.conftest import run_cli

    proc = run_cli("evaluate", ROOT / "models" / "column", "--data", small_dataset, "--json", "-", check=True)
    assert json.loads(proc.stdout)["n"] == 200
    noise = [line for line in proc.stderr.splitlines() if "0000 " in line or "absl::InitializeLog" in line]
    assert not noise, proc.stderr
    # `--verbose` lets TensorFlow's own log lines through, and stdout stays pure JSON
    proc = run_cli(
        "--verbose", "evaluate", ROOT / "models" / "column", "--data", small_dataset, "--json", "-"
    )
    assert proc.returncode == 0 and json.loads(proc.stdout)["n"] == 200
    assert "0000 " in proc.stderr or "absl::InitializeLog" in proc.stderr, proc.stderr

    steps = []
    result = evaluate.evaluate(
        load_model(ROOT / "models" / "column"),
        [small_dataset],
        progress=lambda n, total: steps.append((n, total)),
    )
    assert sum(n for n, _ in steps) == result["n"] == 200 and {t for _, t in steps} == {200}
