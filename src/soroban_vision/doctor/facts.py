"""Everything the checks read, gathered once by `session.gather`: the arguments, the inputs, every
runtime's answers, and the measurements some checks need beyond them (`measure.py`). The checks
only read it, so their order does not matter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from soroban_vision.doctor import compare, inputs
from soroban_vision.doctor.frame_scenes import SceneSet
from soroban_vision.doctor.graph import GraphModel
from soroban_vision.doctor.jsonable import tensor_json
from soroban_vision.doctor.own_normalization import OwnNormalization
from soroban_vision.doctor.runtimes import BrowserPreprocess, RuntimeResult
from soroban_vision.runners.base import TensorInfo

if TYPE_CHECKING:
    from soroban_vision.doctor.check_set import CheckSet


@dataclass
class Facts:
    keras_path: Path | None
    tfjs_path: Path | None
    onnx_path: Path | None
    requested: list[str]
    graph: GraphModel | None = None
    contract: dict | None = None
    keras_model: object | None = None  # a keras.Model, or the SavedModel wrapper
    declared: tuple[float, float] = (0.0, 1.0)
    range_source: str = "default"
    kind: str = "column"  # column: the soroban column model (or one shaped like it) | frame | generic
    data: inputs.LabelledSet | None = None
    scenes: SceneSet | None = None  # the frame model's photos with their true corners
    frame_contract: dict | None = None  # the contract that made this a frame model (any export's)
    feeds: list[dict] = field(default_factory=list)
    input_names: list[str] = field(default_factory=list)
    runtimes: dict[str, RuntimeResult] = field(default_factory=dict)
    reference: str | None = None
    roles: dict[str, dict] = field(default_factory=dict)  # runtime id -> match_roles() answer
    browser: BrowserPreprocess = field(default_factory=BrowserPreprocess)
    browser_override: Callable | None = None
    workdir: Path | None = None
    notes: list[str] = field(default_factory=list)

    # measured after the runtimes ran (measure.py)
    own_normalization: OwnNormalization = field(default_factory=OwnNormalization)
    keras_outputs: list[TensorInfo] | None = None  # the Keras model's outputs, in predict() order
    deployed_weights: dict[str, np.ndarray] | None = None  # the graph model's, dequantized
    reference_weights: dict[str, np.ndarray] | None = None  # a float32 conversion of the Keras model
    weights_error: str | None = None  # why the quantization ranking has no weights to compare
    sweep: list[dict] | None = None  # the labelled images scored under each candidate input range
    # the sweep image by image, for the paired test: range -> (read right [N], p(true digit) [N])
    sweep_items: dict[tuple, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    check_set: CheckSet | None = None  # a quantized deployment on export's check columns
    browser_x01: np.ndarray | None = None  # the browser's preprocessing of the image files
    browser_outputs: dict[str, np.ndarray] | None = None  # the decision runtime's answers on them
    unfinished: dict[str, str] = field(default_factory=dict)  # check id -> why its facts are missing
    # the frame model's (frame_measure.py): the sweep against the true corners, export's check scenes
    frame_sweep: list[dict] | None = None
    frame_sweep_items: dict[tuple, dict] = field(default_factory=dict)  # range -> against_truth()
    frame_check_set: dict | None = None

    def role_specs(self) -> dict[str, dict]:
        """role -> {name, shape}: the contract's roles, else those of the kind of model this is."""
        from soroban_vision.contract import FRAME_OUTPUTS

        contract = self.contract or self.frame_contract
        if contract is None and self.kind == "frame":
            contract = {"outputs": FRAME_OUTPUTS}
        return compare.role_specs(contract)

    def ran(self) -> list[RuntimeResult]:
        return [r for r in self.runtimes.values() if r.ran]

    def runtime(self, rid: str) -> RuntimeResult | None:
        r = self.runtimes.get(rid)
        return r if r is not None and r.ran else None

    def role_map(self, rid: str) -> dict[str, str] | None:
        m = self.roles.get(rid)
        if m and not m["unmatched"]:
            return m["mapping"]
        return None

    def decision_runtime(self) -> RuntimeResult | None:
        """The runtime the doctor asks for extra answers: the float32 reference first (a broken
        quantized deployment is quantization's finding, not noise in every other check)."""
        for rid in ("keras", "onnxruntime", "tfjs-node"):
            r = self.runtime(rid)
            if r is not None and r.runner is not None and self.role_map(rid):
                return r
        return None

    def model_json(self) -> dict:
        g = self.graph
        return {
            "keras": str(self.keras_path) if self.keras_path else None,
            "tfjs": str(self.tfjs_path) if self.tfjs_path else None,
            "onnx": str(self.onnx_path) if self.onnx_path else None,
            "contract": self.contract is not None,
            "kind": self.kind,
            "weights_precision": g.precision if g else None,
            "inputs": [tensor_json(i) for i in (g.inputs if g else self._first_infos("inputs"))],
            "outputs": [tensor_json(o) for o in (g.outputs if g else self._first_infos("outputs"))],
            "input_range": {"declared": list(self.declared), "source": self.range_source},
        }

    def _first_infos(self, key: str) -> list[TensorInfo]:
        for r in self.runtimes.values():
            if getattr(r, key):
                return getattr(r, key)
        return []
