"""The versions of what made or measured a model: recorded in every contract and bench run."""

from __future__ import annotations

import contextlib
import json
import platform
import subprocess
from importlib import metadata

PACKAGES = ("tensorflow", "keras", "tensorflowjs", "tf2onnx", "onnxruntime", "numpy", "soroban-vision")
NPM_PACKAGES = ("tfjs", "tfjs-backend-wasm")  # under @tensorflow/ in web/node_modules


def versions(*, browser: bool = False) -> dict[str, str]:
    """Python's and each installed package's version; with `browser`, also the TF.js packages
    the web library loads and Chromium's (which takes a subprocess, so only when asked)."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    if browser:
        out.update(_browser_versions())
    return out


def _browser_versions() -> dict[str, str]:
    from soroban_vision.serve import WEB_DIR

    out = {}
    for pkg in NPM_PACKAGES:
        with contextlib.suppress(OSError, ValueError, KeyError):
            doc = json.loads((WEB_DIR / "node_modules" / "@tensorflow" / pkg / "package.json").read_text())
            out[f"@tensorflow/{pkg}"] = doc["version"]
    # no Chromium, or one that will not start: the versions simply leave it out
    with contextlib.suppress(Exception):
        from soroban_vision.runners.chromium import find_chromium

        answer = subprocess.run([find_chromium(), "--version"], capture_output=True, text=True, timeout=30)
        out["chromium"] = answer.stdout.strip()
    return out
