"""Rendering speed: columns per second, in one process and in a pool over all cores."""

from __future__ import annotations

from soroban_vision.bench.config import BenchConfig
from soroban_vision.bench.results import Row
from soroban_vision.bench.timing import median


def render_rows(cfg: BenchConfig, say) -> list[Row]:
    from soroban_vision.render.bench import measure

    say(f"timing the renderer: {cfg.render_count} columns, {cfg.render_runs} run(s)")
    by_procs: dict[int, list[float]] = {}
    for _ in range(cfg.render_runs):
        for r in measure(cfg.render_count, cfg.processes):
            by_procs.setdefault(r["processes"], []).append(r["columns_per_s"])
    return [
        Row(
            f"render.p{p}",
            "Rendering",
            f"columns rendered per second, {p} process{'es' if p > 1 else ''}",
            "columns/s",
            median(v),
            single=True,
            samples={"single": v},
            note=f"median of {len(v)} run(s) of {cfg.render_count} columns after a warm-up",
        )
        for p, v in sorted(by_procs.items())
    ]
