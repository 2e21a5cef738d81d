"""The wheel carries the shipped model and the browser library as package data.

Git keeps one copy of each file, in models/ and web/. Building the wheel copies what an installed
soroban-vision needs into soroban_vision/_data/ (same relative paths), where `soroban_vision.shipped`
finds it; an editable install and the checkout use models/ and web/ directly. The sdist carries the
same files, so a wheel built from it is the same. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
PACKAGE_DATA = Path("soroban_vision") / "_data"

# What `pip install soroban-vision` can use: read/classify (ONNX + contract), serve-demo (the page, the
# library, TF.js and OpenCV.js from our own origin). model.keras (770 KB) and tfjs-float16/ are left
# out: they serve training and export, which work from a checkout.
SHIPPED = (
    "models/column/contract.json",
    "models/column/model.onnx",
    "models/column/model-card.md",
    "models/column/metrics.json",
    "models/column/test.json",
    "models/column/tfjs/*",
    "models/frame/contract.json",
    "models/frame/model.onnx",
    "models/frame/model-card.md",
    "models/frame/tfjs/*",
    "web/README.md",
    "web/package.json",
    "web/src/**/*.js",
    "web/src/**/*.json",
    "web/src/**/*.d.ts",
    "web/demo/*",
    "web/node_modules/@tensorflow/tfjs/package.json",
    "web/node_modules/@tensorflow/tfjs/dist/tf.min.js",
    "web/node_modules/@tensorflow/tfjs-backend-wasm/package.json",
    "web/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js",
    "web/node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm",
    "web/node_modules/@opencvjs/web/package.json",
    "web/node_modules/@opencvjs/web/LICENSE",
    "web/node_modules/@opencvjs/web/lib/opencv_js.js",
)


def shipped_files() -> list[Path]:
    """Every shipped file, relative to the checkout; a pattern that matches nothing stops the build."""
    files: set[Path] = set()
    for pattern in SHIPPED:
        found = [p for p in ROOT.glob(pattern) if p.is_file()]
        if not found:
            hint = " (run `make setup`: it installs web/node_modules)" if "node_modules" in pattern else ""
            raise SystemExit(f"error: nothing matches {pattern}, which the wheel must ship{hint}")
        files.update(p.relative_to(ROOT) for p in found)
    return sorted(files)


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads models/ and web/ in place
        target = Path(self.build_lib) / PACKAGE_DATA
        shutil.rmtree(target, ignore_errors=True)  # a stale file from an earlier build never ships
        for rel in shipped_files():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / rel, target / rel)


class SdistWithData(sdist):
    def make_release_tree(self, base_dir, files) -> None:
        super().make_release_tree(base_dir, sorted({*files, *map(str, shipped_files())}))


setup(cmdclass={"build_py": BuildWithData, "sdist": SdistWithData})
