"""Project side: which Python has Blender's `bpy`, and running the Blender side there.

`bpy` 4.5 pins numpy 1.26 and the project runs on numpy 2, so Blender lives in its own venv
(`make photoreal` makes `.venv-photoreal` in the checkout) and renders in its own process: the
project's process never imports it. The Blender side loads only this package (`worker.py` and
its relative imports), so that venv needs nothing of the project.
"""

from __future__ import annotations

import importlib.util
import json
import os
import selectors
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from soroban_vision.errors import SorobanError, UsageError

HERE = Path(__file__).resolve().parent
CHECKOUT_VENV = HERE.parents[2] / ".venv-photoreal"  # src/soroban_vision/photoreal -> the checkout
ENV = "SOROBAN_BLENDER_PYTHON"

# loads this folder as the package "photoreal" without soroban_vision/__init__ (and its dependencies)
BOOT = (
    "import importlib.util, sys\n"
    "spec = importlib.util.spec_from_file_location("
    "'photoreal', sys.argv[1] + '/__init__.py', submodule_search_locations=[sys.argv[1]])\n"
    "module = importlib.util.module_from_spec(spec)\n"
    "sys.modules['photoreal'] = module\n"
    "spec.loader.exec_module(module)\n"
    "from photoreal.worker import main\n"
    "main(sys.argv[2])\n"
)


def blender_python() -> str | None:
    """A Python that can import bpy: $SOROBAN_BLENDER_PYTHON, this one, or the checkout's
    .venv-photoreal; None when there is none."""
    if os.environ.get(ENV):
        return os.environ[ENV]
    if importlib.util.find_spec("bpy") is not None:
        return sys.executable
    python = CHECKOUT_VENV / "bin" / "python"
    return str(python) if python.exists() else None


def _has_bpy(python: str | None) -> bool:
    if python is None or not Path(python).exists():
        return False
    if python == sys.executable:
        return importlib.util.find_spec("bpy") is not None
    return subprocess.run([python, "-c", "import bpy"], capture_output=True, check=False).returncode == 0


def require_blender() -> str:
    """The Python to render with, or a one-line error naming the extras when there is none."""
    python = blender_python()
    has_bpy = _has_bpy(python)
    if not has_bpy:
        where = f"{ENV}={python} has no bpy" if os.environ.get(ENV) else "no Python with bpy found"
        raise UsageError(
            f"'render-3d' needs the photoreal extras ({where}): run `make photoreal` (Blender's bpy 4.5 "
            f"in its own venv, .venv-photoreal), or set {ENV} to a Python 3.11 that has bpy",
            code="missing_extra",
        )
    return python


def run_jobs(jobs: list[Path], progress: Callable[[int], None] | None = None) -> None:
    """Run one Blender process per job file, all at once; each scene done calls progress(1)."""
    python = require_blender()
    procs = []
    for job in jobs:
        err = open(job.with_suffix(".stderr"), "w")  # noqa: SIM115  (closed once the process ends)
        proc = subprocess.Popen(
            [python, "-c", BOOT, str(HERE), str(job)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=os.environ | {"PYTHONNOUSERSITE": "1"},
        )
        procs.append((proc, err, job))
    try:
        _follow(procs, progress)
    finally:
        for proc, err, _ in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            err.close()
    for proc, _, job in procs:
        if proc.returncode != 0:
            lines = job.with_suffix(".stderr").read_text(errors="replace").strip().splitlines()
            raise SorobanError(
                f"Blender failed (exit {proc.returncode}): {lines[-1] if lines else 'no message'}"
            )


def _follow(procs, progress) -> None:
    """Read every process's stdout to its end (one thread per process would be the same)."""
    sel = selectors.DefaultSelector()
    for proc, _, _ in procs:
        sel.register(proc.stdout, selectors.EVENT_READ)
    open_streams = len(procs)
    while open_streams:
        for key, _ in sel.select():
            line = key.fileobj.readline()
            if not line:
                sel.unregister(key.fileobj)
                open_streams -= 1
            elif line.startswith("photoreal-done") and progress:
                progress(1)


def write_job(path: Path, out: Path, settings: dict, designs: list[dict]) -> Path:
    path.write_text(json.dumps({"out": str(out), "settings": settings, "scenes": designs}))
    return path
