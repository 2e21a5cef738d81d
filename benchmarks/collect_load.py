"""Reliability of the collection service (`soroban-vision collect-server`) on loopback: load, and a
crash in the middle of a write burst.

Load: N submissions of the seed app's payload (4 crops each, every crop unique) from C concurrent
clients, each client's loop bounded in count and time. Reports accepted, rejected and rows stored
(accepted crops = stored rows: nothing lost) and the p50/p95 latency of a submission.

Crash: a burst, `kill -9` of the server once some submissions are acknowledged, a restart on the same
database, then: is every acknowledged crop there, and does the database pass its integrity check
(SQLite: PRAGMA integrity_check; PostgreSQL: amcheck on every index)?

Both on SQLite (one file, WAL) and on PostgreSQL (a throwaway cluster, Debian's binaries).

    .venv/bin/python benchmarks/collect_load.py --submissions 2000 --clients 20
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

from soroban_vision.collect.burst import base_crops, percentile, run_burst
from soroban_vision.collect.cluster import ThrowawayPostgres
from soroban_vision.collect.process import ServerProcess
from soroban_vision.collect.storage import Store

UNLIMITED = ("--rate", "0")  # the rate limit is tested on its own; here it would only throttle


def load(db: str, submissions: int, clients: int, columns: int, log: Path) -> dict:
    """One burst against a fresh server on `db`: what was sent, acknowledged and stored."""
    key = secrets.token_urlsafe(24)
    with ServerProcess(db, key, None, *UNLIMITED, log=log) as server:
        began = time.perf_counter()
        result = run_burst(server.url, key, submissions, clients, columns=columns, seconds=600)
        wall = time.perf_counter() - began
    store = Store(db)
    try:
        stored_rows, acknowledged_stored = store.count_crops(), store.count_crops(result.acknowledged)
    finally:
        store.close()
    accepted = sum(n for s, n in result.statuses.items() if s in ("200", "201"))
    return {
        "submissions": submissions,
        "clients": clients,
        "sent": result.sent,
        "accepted": accepted,
        "rejected": result.sent - accepted,
        "statuses": result.statuses,
        "crops_acknowledged": len(result.acknowledged),
        "rows_stored": stored_rows,
        "acknowledged_and_stored": acknowledged_stored,
        "lost": len(result.acknowledged) - acknowledged_stored,
        "p50_ms": round(percentile(result.latencies_ms, 50), 1),
        "p95_ms": round(percentile(result.latencies_ms, 95), 1),
        "submissions_per_s": round(result.sent / wall, 1),
    }


def crash(db: str, submissions: int, clients: int, columns: int, kill_after: int, log: Path) -> dict:
    """A burst, SIGKILL once `kill_after` submissions are answered, a restart: what survived."""
    key = secrets.token_urlsafe(24)
    server = ServerProcess(db, key, None, *UNLIMITED, log=log).start()
    stop = threading.Event()
    results = []
    bases = base_crops()
    burst = threading.Thread(
        target=lambda: results.append(
            run_burst(server.url, key, submissions, clients, columns, seconds=300, stop=stop, bases=bases)
        )
    )
    burst.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and burst.is_alive():
        time.sleep(0.02)
        if results or _answered(server) >= kill_after:
            break
    server.kill()  # mid-burst: requests are in flight
    stop.set()
    burst.join(120)
    result = results[0]
    with ServerProcess(db, key, None, *UNLIMITED, log=log):
        pass  # the restart: the server opens the database again and answers /healthz
    store = Store(db)
    try:
        present = store.count_crops(result.acknowledged)
        integrity = store.integrity()
        rows = store.count_crops()
    finally:
        store.close()
    return {
        "sent": result.sent,
        "acknowledged_crops": len(result.acknowledged),
        "present_after_restart": present,
        "lost": len(result.acknowledged) - present,
        "rows_after_restart": rows,
        "failed_in_flight": result.statuses.get("error", 0),
        "integrity": integrity,
    }


def _answered(server: ServerProcess) -> int:
    """How many submissions the server has committed so far (read from its database)."""
    store = Store(server.db)
    try:
        return store.summary()["submissions"]
    finally:
        store.close()


def run(backends: list[str], submissions: int, clients: int, columns: int, workdir: Path) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    report = {}
    pg = ThrowawayPostgres().start() if "postgresql" in backends else None
    try:
        for backend in backends:

            def fresh(name: str, backend=backend) -> str:
                if backend == "sqlite":
                    return str(Path(tempfile.mkdtemp(dir=workdir)) / f"{name}.db")
                return pg.create_database(f"{name}_{secrets.token_hex(4)}")

            log = workdir / f"server-{backend}.log"
            report[backend] = {
                "load": load(fresh("load"), submissions, clients, columns, log),
                "crash": crash(fresh("crash"), submissions // 2, clients, columns, submissions // 10, log),
            }
    finally:
        if pg is not None:
            pg.stop()
    return report


def describe(report: dict) -> str:
    lines = []
    for backend, r in report.items():
        lo, cr = r["load"], r["crash"]
        lines.append(
            f"{backend:10} load: {lo['sent']} submissions from {lo['clients']} clients: "
            f"accepted {lo['accepted']}, rejected {lo['rejected']}; "
            f"crops acknowledged {lo['crops_acknowledged']}, rows stored "
            f"{lo['rows_stored']}, lost {lo['lost']}; p50 {lo['p50_ms']} ms, p95 {lo['p95_ms']} ms "
            f"({lo['submissions_per_s']}/s)"
        )
        lines.append(
            f"{backend:10} crash: kill -9 mid-burst ({cr['sent']} requests in all): "
            f"{cr['acknowledged_crops']} crops acknowledged, "
            f"{cr['present_after_restart']} present after restart, lost {cr['lost']}; "
            f"{cr['failed_in_flight']} requests failed once it was killed; integrity {cr['integrity']}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--columns", type=int, default=4)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--workdir", type=Path, default=Path("out/collect-bench"))
    parser.add_argument("--json", type=Path, help="Also write the figures as JSON.")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    report = run(backends, args.submissions, args.clients, args.columns, args.workdir)
    print(describe(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return (
        0
        if all(
            r["load"]["lost"] == 0 and r["crash"]["lost"] == 0 and r["crash"]["integrity"] == "ok"
            for r in report.values()
        )
        else 1
    )


if __name__ == "__main__":
    sys.exit(main())
