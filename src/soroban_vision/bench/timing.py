"""Clocks and the statistics of timings: every timed figure of the bench goes through these."""

from __future__ import annotations

import math
import resource
import statistics
import time
from collections.abc import Callable


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def p95(xs: list[float]) -> float:
    """Nearest-rank 95th percentile: a value that was actually measured."""
    s = sorted(xs)
    return float(s[max(0, math.ceil(0.95 * len(s)) - 1)])


def timed_calls(fn: Callable[[], object], runs: int, warmup: int) -> list[float]:
    """Seconds of each of `runs` calls of fn, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def cpu_seconds() -> float:
    """CPU time of this process and of every child process it has waited for."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
