"""What a check decides (a Finding), and the line the report shows for it (a Check)."""

from __future__ import annotations

from dataclasses import dataclass, field

from soroban_vision.doctor.jsonable import plain

STATUSES = ("pass", "warn", "fail", "skip")


@dataclass(frozen=True)
class Finding:
    """A check's decision: its status, which of the check's situations it met (`reason`, the key
    wording.py writes the sentence by), the evidence behind it (as the JSON report shows it), and
    the few values the sentence needs that the evidence does not hold."""

    status: str
    reason: str
    evidence: dict = field(default_factory=dict)
    words: dict = field(default_factory=dict)


@dataclass
class Check:
    id: str
    status: str
    summary: str  # one line a person can act on
    evidence: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "status": self.status,
            "summary": self.summary,
            "evidence": plain(self.evidence),
        }
