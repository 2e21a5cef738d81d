"""Installed size and `read`'s cold start, per environment: the base install (the wheel alone, no
TensorFlow) against the full development venv.

    python benchmarks/cold_start.py                      # builds the base venv in out/cold-start/
    python benchmarks/cold_start.py --venv .venv --venv /path/to/other-venv --runs 7

Each run is a fresh `soroban-vision read web/demo/example-soroban.jpg --json -` process (Python
start, imports, the ONNX model loaded, one photo read), timed from outside; the median is
reported. Sizes count every file under the venv once (symlinks not followed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "web" / "demo" / "example-soroban.jpg"


def megabytes(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def build_base(folder: Path) -> Path:
    """The wheel of this checkout in a fresh venv, with the lock's versions: what `pip install
    soroban-vision` gives."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    py = sys.executable
    subprocess.run([py, "-m", "pip", "wheel", "-q", "--no-deps", "-w", folder / "dist", ROOT], check=True)
    (wheel,) = (folder / "dist").glob("soroban_vision-*.whl")
    venv = folder / "venv"
    subprocess.run([py, "-m", "venv", venv], check=True)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-c", ROOT / "requirements.lock", wheel], check=True)
    return venv


def cold_starts(venv: Path, runs: int) -> tuple[list[float], int]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    times, number = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [venv / "bin" / "soroban-vision", "read", PHOTO, "--json", "-"],
            capture_output=True,
            text=True,
            env=env,
            cwd="/",
            check=True,
        )
        times.append(time.perf_counter() - t0)
        number = json.loads(proc.stdout)[0]["number"]
    return times, number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", action="append", type=Path, help="a venv with soroban-vision (repeatable)")
    parser.add_argument(
        "--base", type=Path, default=ROOT / "out" / "cold-start", help="where to build the base venv"
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    venvs = args.venv or [build_base(args.base), ROOT / ".venv"]
    print(f"{'venv':<50} {'size':>9}  read cold start (median of {args.runs}, min-max)")
    for venv in venvs:
        times, number = cold_starts(venv, args.runs)
        tf = (venv / "lib" / "python3.11" / "site-packages" / "tensorflow").is_dir()
        label = f"{venv} ({'with' if tf else 'no'} TensorFlow)"
        print(
            f"{label:<50} {megabytes(venv):7.0f} MB  {statistics.median(times):.2f} s "
            f"({min(times):.2f}-{max(times):.2f} s), read {number}"
        )


if __name__ == "__main__":
    main()
