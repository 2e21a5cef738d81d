"""A training run: what the admin asked for (numbers only, each in a stated range), where it lives
(`RUNS/run-N`, N chosen by the server), what state it is in, and what it found. Its run.json is
rewritten at every change, so a restarted server lists its past runs."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from soroban_vision.collect.rejection import Rejected, bad_field
from soroban_vision.collect.runlog import RunLog
from soroban_vision.data import write_json_atomic

TRAINING, COMPARING, COMPARED, PUBLISHING, PUBLISHED = (
    "training",
    "comparing",
    "compared",
    "publishing",
    "published",
)
FAILED, PUBLISH_FAILED, INTERRUPTED = "failed", "publish_failed", "interrupted"
ACTIVE = (TRAINING, COMPARING, PUBLISHING)
# field: (type, default, low, high)
RANGES: dict[str, tuple[type, float, float, float]] = {
    "epochs": (int, 5, 1, 100),
    "synthetic": (int, 2000, 0, 100_000),  # rendered columns mixed into the training data
    "learning_rate": (float, 3e-4, 1e-6, 1e-2),
    "batch_size": (int, 64, 8, 256),
    "seed": (int, 0, 0, 2**31 - 1),
    "heldout": (float, 0.2, 0.05, 0.5),  # the share of players kept out of training
    "rendered": (int, 500, 20, 5000),  # rendered columns both models are compared on
}


@dataclass(frozen=True)
class RunParams:
    epochs: int = 5
    synthetic: int = 2000
    learning_rate: float = 3e-4
    batch_size: int = 64
    seed: int = 0
    heldout: float = 0.2
    rendered: int = 500

    @classmethod
    def parse(cls, doc) -> RunParams:
        """Parameters from a request body; anything but known numbers in range is Rejected (422)."""
        if doc is None:
            doc = {}
        if not isinstance(doc, dict):
            raise Rejected(400, "bad_payload", "the body must be a JSON object of run parameters")
        unknown = sorted(set(doc) - set(RANGES))
        if unknown:
            raise bad_field(
                str(unknown[0])[:40], f"not a run parameter (known: {', '.join(RANGES)})", "unknown_field"
            )
        values = {}
        for name, (kind, _default, low, high) in RANGES.items():
            if name not in doc or doc[name] is None:
                continue
            v = doc[name]
            whole = isinstance(v, int) and not isinstance(v, bool)
            number = whole or (isinstance(v, float) and math.isfinite(v))
            if not (whole if kind is int else number):
                raise bad_field(name, "expected a whole number" if kind is int else "expected a number")
            if not low <= v <= high:
                raise bad_field(name, f"expected {low:g} to {high:g}, got {v:g}", "out_of_range")
            values[name] = kind(v)
        return cls(**values)


@dataclass
class Run:
    id: int
    folder: Path
    params: RunParams
    created_at: str
    baseline: str  # the current model's name when the run started
    state: str = TRAINING
    stop_requested: bool = False
    error: dict | None = None  # {code, message}
    data: dict | None = None  # crops per split
    metrics: dict | None = None  # the training's own summary
    comparison: dict | None = None
    verdict: dict | None = None
    doctor: dict | None = None  # {status, checks: [{id, status, summary}]}
    published: dict | None = None  # {name, published_at}
    log: RunLog = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def view(self) -> dict:
        doc = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("folder", "log", "params")
        }
        doc["params"] = asdict(self.params)
        doc["active"] = self.active
        doc["last_event"] = self.log.last if self.log is not None else 0
        doc["events"] = f"/api/training/runs/{self.id}/events"
        return doc

    def save(self) -> None:
        write_json_atomic(self.folder / "run.json", self.view())

    @classmethod
    def load(cls, folder: Path) -> Run | None:
        """A past run from its run.json; one that was active when the server stopped is interrupted."""
        try:
            doc = json.loads((folder / "run.json").read_text())
            params = RunParams(**{k: doc["params"][k] for k in RANGES if k in doc["params"]})
            run = cls(
                id=int(doc["id"]),
                folder=folder,
                params=params,
                created_at=str(doc["created_at"]),
                baseline=str(doc.get("baseline", "")),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        for name in ("state", "stop_requested", "error", "data", "metrics", "comparison", "verdict"):
            setattr(run, name, doc.get(name, getattr(run, name)))
        run.doctor, run.published = doc.get("doctor"), doc.get("published")
        if run.state in ACTIVE:
            run.state = INTERRUPTED
            run.error = {"code": "interrupted", "message": "the server stopped during this run"}
        run.log = RunLog(folder / "events.ndjson")
        return run
