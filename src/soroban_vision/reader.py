"""Python inference for column crops: ONNX Runtime where an export is available, Keras otherwise.

`load_column_classifier(path)` (soroban_vision.api) returns a `ColumnReader`. `ColumnReader.open(path)`
accepts a `.keras` file, or a model folder such as `models/column`
(which holds `model.keras` and, once exported, `model.onnx` with its `contract.json`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from soroban_vision import contract
from soroban_vision.contract import readings
from soroban_vision.errors import UsageError
from soroban_vision.preprocess import MAX_MEGAPIXELS, ImageError, pil_to_array, preprocess, preprocess_file
from soroban_vision.runners.base import run_batched
from soroban_vision.shipped import MODEL_DIR

DEFAULT_MODEL = MODEL_DIR  # the package's copy when installed, the checkout's models/column otherwise


class ColumnReader:
    def __init__(self, runner, calibration: contract.Calibration | None = None):
        self.runner = runner
        self.calibration = calibration  # the contract's temperatures, applied as the browser applies them

    @property
    def runtime(self) -> str:
        return self.runner.name

    @classmethod
    def open(cls, path: str | Path | None = None, prefer_onnx: bool = True) -> ColumnReader:
        path = Path(path) if path is not None else DEFAULT_MODEL
        if not path.exists():
            raise UsageError(f"model {path} does not exist")
        onnx = path / "model.onnx" if path.is_dir() else None
        if prefer_onnx and onnx is not None and onnx.is_file() and (path / contract.FILENAME).is_file():
            from soroban_vision.runners.onnx import OnnxRunner

            doc = contract.read(path)
            if "model.onnx" in doc["weights"]["files"]:
                contract.verify_files(doc, path)
                runner = OnnxRunner(onnx)
                # as the browser does on load: a wrong file is an error that names it, never a wrong answer
                contract.verify_golden(doc, runner, path)
                return cls(runner, contract.calibration_of(doc))
        from soroban_vision.model import load_model
        from soroban_vision.runners.keras import KerasRunner

        return cls(KerasRunner(model=load_model(path)), contract.model_calibration(path))

    def heads(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model inputs [N,128,64,1] in [0,1] -> (heaven [N,1], earth [N,5])."""
        out = run_batched(self.runner, "image", np.asarray(inputs, np.float32), batch_size=256)
        return out["heaven"], out["earth"]

    def read_inputs(self, inputs: np.ndarray) -> list[dict]:
        return readings(*self.heads(inputs), self.calibration)

    def classify(self, images, *, max_megapixels: float = MAX_MEGAPIXELS) -> list[dict]:
        """One reading per image, for a list of images or a single one: a file path, a PIL image,
        or pixels ([H,W] gray or [H,W,3|4] uint8), any size and colour mode, preprocessed by the
        contract's rule (files and PIL images upright by their EXIF orientation, as a browser
        shows them). A file or PIL image over `max_megapixels` is refused (UsageError,
        too_many_pixels) before it is decoded. Readings of files carry their `file`."""
        from PIL import Image

        one = isinstance(images, str | Path | np.ndarray | Image.Image)
        images = [images] if one else list(images)
        if not images:
            raise UsageError("give at least one image")
        inputs = np.stack([_model_input(im, max_megapixels) for im in images])
        return [
            {"file": str(im), **r} if isinstance(im, str | Path) else r
            for im, r in zip(images, self.read_inputs(inputs), strict=True)
        ]

    def read_files(self, paths) -> list[dict]:
        return self.classify(list(paths))


def _model_input(image, max_megapixels: float) -> np.ndarray:
    from PIL import Image

    try:
        if isinstance(image, str | Path):
            return preprocess_file(image, max_megapixels)
        if isinstance(image, Image.Image):
            return preprocess(pil_to_array(image, max_megapixels))
        return preprocess(np.asarray(image))
    except ImageError as e:
        raise UsageError(str(e), code=e.code) from None
