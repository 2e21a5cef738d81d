"""The images `export` checks a quantized conversion on, run again by the doctor: the same rendered
columns (export.check_inputs: CHECK_COUNT of them from seeds.CHECK_SEED, fed in [0,1] as export
feeds them), through the same runtime (TF.js in Node, wasm) in the same batches, against the same
float32 Keras answers. On the same files the doctor's quantization verdict and export's are one,
and 1,000 images can see the 0.1% of changed decisions export allows, which 200 cannot."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from soroban_vision.doctor.facts import Facts

CHECK_BATCH = 128  # export's batches: the same computation gives the same answers
DEPLOYED = "tfjs-node"  # the runtime export checks with: TF.js in Node on the wasm backend


@dataclass(frozen=True)
class CheckSet:
    runtime: str  # the runtime that ran the deployment on them
    labels: np.ndarray  # [N] digits
    reference: dict[str, np.ndarray]  # Keras's answers, by its output names
    deployed: dict[str, np.ndarray]  # the deployment's answers, by its output names
    seed: int  # column i is rendered with seed + i

    @property
    def n(self) -> int:
        return len(self.labels)


def measure_check_set(
    facts: Facts, run: Callable[[str, np.ndarray, int], dict], say: Callable[[str], None] = lambda _: None
) -> CheckSet | None:
    """The check columns through Keras and the deployed weights, when both can run them here:
    a quantized column model, Keras and TF.js in Node both ran, and both map to the roles."""
    g = facts.graph
    if g is None or g.precision == "float32" or facts.kind != "column":
        return None
    keras, node = facts.runtime("keras"), facts.runtime(DEPLOYED)
    if keras is None or node is None or keras.runner is None or node.runner is None:
        return None
    if node.weights != g.precision or not facts.role_map("keras") or not facts.role_map(DEPLOYED):
        return None
    from soroban_vision.export import CHECK_COUNT, check_inputs
    from soroban_vision.seeds import CHECK_SEED

    say(f"rendering export's {CHECK_COUNT} check columns (seed {CHECK_SEED}) for the quantization check")
    x, labels = check_inputs(None)
    say(f"running keras and {DEPLOYED} on them")
    return CheckSet(DEPLOYED, labels, run("keras", x, CHECK_BATCH), run(DEPLOYED, x, CHECK_BATCH), CHECK_SEED)
