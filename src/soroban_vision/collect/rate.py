"""The rate limit per API key: a token bucket (a burst, then a sustained rate). A key over its
limit gets 429 with Retry-After, and nothing of the request is read."""

from __future__ import annotations

import math
import threading
import time

from soroban_vision.collect.rejection import Rejected


class RateLimit:
    def __init__(self, per_s: float, burst: int, clock=time.monotonic):
        self.per_s, self.burst, self.clock = per_s, max(1, burst), clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        if self.per_s <= 0:
            return
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.per_s)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                wait = max(1, math.ceil((1 - tokens) / self.per_s))
                raise Rejected(
                    429,
                    "rate_limited",
                    f"too many requests for this key; retry in {wait} s",
                    {"Retry-After": str(wait)},
                )
            self._buckets[key] = (tokens - 1, now)
