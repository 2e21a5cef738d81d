"""A training run's events, numbered from 1: the training subprocess's progress events and the
run's own (phase changes, the comparison, the doctor's verdict). Threads append; the event stream
reads everything after the last number a client saw. Memory is bounded: only the newest events are
kept in memory; every event also goes to the run's events.ndjson."""

from __future__ import annotations

import json
import threading
from collections import deque
from pathlib import Path

KEEP = 5000  # a 30-epoch run of 20,000 columns at batch 64 makes about 9,400 batch events


class RunLog:
    def __init__(self, path: Path | None = None, keep: int = KEEP):
        self.path = path
        self._events: deque[dict] = deque(maxlen=keep)
        self._last = _count_lines(path)  # a past run's file goes on from its last number
        self._lock = threading.Lock()

    def add(self, kind: str, **fields) -> dict:
        with self._lock:
            self._last += 1
            event = {"id": self._last, "event": kind, **fields}
            self._events.append(event)
            if self.path is not None:
                with open(self.path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(event) + "\n")
            return event

    @property
    def last(self) -> int:
        return self._last

    def since(self, after: int) -> list[dict]:
        """The kept events numbered above `after`, oldest first."""
        with self._lock:
            if after >= self._last:
                return []
            return [e for e in self._events if e["id"] > after]

    def compact(self, kind: str) -> None:
        """Forget the kept events of one kind (events.ndjson still has them)."""
        with self._lock:
            self._events = deque((e for e in self._events if e["event"] != kind), maxlen=self._events.maxlen)

    def latest(self, kind: str) -> dict | None:
        with self._lock:
            return next((e for e in reversed(self._events) if e["event"] == kind), None)


def _count_lines(path: Path | None) -> int:
    try:
        with open(path, "rb") as f:
            return sum(1 for _ in f)
    except (OSError, TypeError):
        return 0
