"""How fast the renderer makes columns: one process, then a pool over all cores."""

from __future__ import annotations

import multiprocessing
import time

from soroban_vision.render.column import render_column


def _batch(args: tuple[int, int]) -> int:
    start, n = args
    for i in range(start, start + n):
        render_column(i % 10, i)
    return n


def measure(count: int, workers: int) -> list[dict]:
    """Columns per second for 1 process and for `workers` processes (after a warm-up)."""
    _batch((0, 20))
    rows = []
    t = time.perf_counter()
    _batch((0, count))
    dt = time.perf_counter() - t
    rows.append({"processes": 1, "count": count, "seconds": dt, "columns_per_s": count / dt})
    if workers > 1:
        per = count // workers
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            pool.map(_batch, [(0, 20)] * workers)  # warm-up: imports and caches in each worker
            t = time.perf_counter()
            done = sum(pool.map(_batch, [(w * per, per) for w in range(workers)]))
            dt = time.perf_counter() - t
        rows.append({"processes": workers, "count": done, "seconds": dt, "columns_per_s": done / dt})
    return rows
