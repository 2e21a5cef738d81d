"""The six checks, one module each, listed in the report's order. Each is a pure function of the
gathered Facts that decides a Finding (status, evidence); wording.py writes its sentence. No check
reads another's result, so they give the same answers in any order. A frame model gets the same ids,
four of them measured in photo pixels (frame_*.py, worded by frame_wording.py)."""

from __future__ import annotations

from collections.abc import Callable

from soroban_vision.doctor.checks import (
    frame_normalization,
    frame_preprocess_parity,
    frame_quantization,
    frame_runtime_parity,
    frame_wording,
    normalization,
    output_mapping,
    preprocess_parity,
    preprocessing_layers,
    quantization,
    runtime_parity,
    wording,
)
from soroban_vision.doctor.checks.finding import STATUSES, Check, Finding
from soroban_vision.doctor.facts import Facts
from soroban_vision.errors import SorobanError

CHECKS: dict[str, Callable[[Facts], Finding]] = {
    "preprocessing_layers": preprocessing_layers.check,
    "normalization": normalization.check,
    "quantization": quantization.check,
    "output_mapping": output_mapping.check,
    "preprocess_parity": preprocess_parity.check,
    "runtime_parity": runtime_parity.check,
}
# a frame model: the same ids, four of them measured in photo pixels and frame-present decisions
FRAME_CHECKS: dict[str, Callable[[Facts], Finding]] = {
    **CHECKS,
    "normalization": frame_normalization.check,
    "quantization": frame_quantization.check,
    "preprocess_parity": frame_preprocess_parity.check,
    "runtime_parity": frame_runtime_parity.check,
}
CHECK_IDS = tuple(CHECKS)

__all__ = ["CHECKS", "CHECK_IDS", "FRAME_CHECKS", "STATUSES", "Check", "Finding", "run_check", "run_checks"]


def run_check(check_id: str, facts: Facts) -> Check:
    """One check on the facts; a fact it needs that could not be measured fails it, with why."""
    frame = facts.kind == "frame"
    checks, words = (FRAME_CHECKS, frame_wording.summary) if frame else (CHECKS, wording.summary)
    try:
        if check_id in facts.unfinished:
            finding = Finding("fail", "unfinished", {"error": facts.unfinished[check_id]})
        else:
            finding = checks[check_id](facts)
    except SorobanError as e:
        finding = Finding("fail", "unfinished", {"error": str(e)})
    return Check(check_id, finding.status, words(check_id, finding), finding.evidence)


def run_checks(facts: Facts, say: Callable[[str], None] = lambda _: None) -> list[Check]:
    out = []
    for check_id in CHECK_IDS:
        say(f"check {check_id}")
        out.append(run_check(check_id, facts))
    return out
