"""What a benchmark run found: rows of figures and targets, no formatting and no measuring.

A figure is a measured number, or a sentence that says honestly why there is no number
("not reached in 3 epochs", "not measured: browser abacus pipeline not present"). Never a
made-up number.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

Value = float | int | str | None

OURS = "compact"
REFERENCE = "mobilenetv2"
FRAME_MODEL = "frame_model"  # markerless: the learned frame detector (models/frame) ...
OUTLINE = "outline"  # ... against the classical outline search
# what a row compares: its two sides' names (as in `samples` and `checks`), ours first
PAIRS = {"columns": (OURS, REFERENCE), "frame": (FRAME_MODEL, OUTLINE)}


def is_number(v: Value) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


@dataclass
class Row:
    """One figure, for both sides of its `pair` (`ours` and `reference`) or for one thing (`single`).
    Pair "columns": compact (ours) and MobileNetV2; "frame": the frame model (ours) and the
    outline search."""

    key: str  # stable id, e.g. "python.onnxruntime.b256"
    section: str
    metric: str
    unit: str
    ours: Value
    reference: Value = None
    single: bool = False  # one figure, not per model (rendering, the shipped model)
    better: str = "higher"  # how to read the ratio: "higher" or "lower" is better
    checks: dict[str, str] = field(default_factory=dict)  # export check per side
    samples: dict[str, list[float]] = field(default_factory=dict)  # raw timings per side
    note: str = ""
    pair: str = "columns"  # a key of PAIRS

    @property
    def sides(self) -> tuple[str, str]:
        """The names of `ours` and `reference` in `samples` and `checks`."""
        return PAIRS[self.pair]

    @property
    def ratio(self) -> float | None:
        """Ours divided by the reference, when both are numbers."""
        if self.single or not (is_number(self.ours) and is_number(self.reference)) or not self.reference:
            return None
        return float(self.ours) / float(self.reference)

    def to_json(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


@dataclass
class Target:
    """A goal from the issue, checked against measured figures."""

    key: str
    text: str  # e.g. "compact digit accuracy ≥ 99.8%"
    measured: Value
    threshold: float
    op: str  # ">=" or "<="
    unit: str
    condition: tuple[str, bool] | None = None  # (what, holds) that must also hold

    @property
    def status(self) -> str:
        if not is_number(self.measured):
            return "not measured"
        ok = self.measured >= self.threshold if self.op == ">=" else self.measured <= self.threshold
        if self.condition is not None:
            ok = ok and self.condition[1]
        return "pass" if ok else "miss"

    @property
    def margin(self) -> float | None:
        """How far the figure is from the threshold, positive = on the good side."""
        if not is_number(self.measured):
            return None
        d = float(self.measured) - self.threshold
        return d if self.op == ">=" else -d

    def to_json(self) -> dict:
        return {**asdict(self), "status": self.status, "margin": self.margin}


@dataclass
class Results:
    meta: dict
    rows: list[Row]
    targets: list[Target]

    def row(self, key: str) -> Row:
        return next(r for r in self.rows if r.key == key)

    @classmethod
    def from_json(cls, doc: dict) -> Results:
        """Results saved by `to_json`, to report them again without measuring again."""

        def fields(d: dict, kind) -> dict:
            return {k: v for k, v in d.items() if k in kind.__dataclass_fields__}

        targets = []
        for t in doc["targets"]:
            t = fields(t, Target)
            if t.get("condition") is not None:
                t["condition"] = tuple(t["condition"])
            targets.append(Target(**t))
        return cls(doc["meta"], [Row(**fields(r, Row)) for r in doc["rows"]], targets)

    def to_json(self) -> dict:
        return {
            "meta": self.meta,
            "rows": [r.to_json() for r in self.rows],
            "targets": [t.to_json() for t in self.targets],
        }
