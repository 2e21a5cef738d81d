"""Training throughput, one worker against two: `train --distribute multiworker` on localhost.

Renders the columns once, then trains the same model with the same options on one worker and on
a cluster of two (worker processes on this machine, free ports), and reports the cluster's
training images per second from the chief's epoch events (the first epoch, which traces the
step, is left out). Both workers here share this machine's cores, so two workers cannot be
faster than one: what this measures is the cost of the cluster (gradient all-reduce each step,
two TensorFlow runtimes on the same cores), not the speed-up of a machine per worker.

    .venv/bin/python benchmarks/multiworker.py --per-digit 150 --epochs 4 --workdir out/mw-bench
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

SV = [sys.executable, "-m", "soroban_vision.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def train(workers: int, data: Path, out: Path, options: list[str]) -> dict:
    """Run a cluster of `workers` worker processes; the chief's epoch events and the wall time."""
    cluster = ",".join(f"localhost:{free_port()}" for _ in range(workers))
    env = {**{k: v for k, v in os.environ.items() if k != "TF_CONFIG"}, "TF_CPP_MIN_LOG_LEVEL": "2"}
    procs = []
    began = time.perf_counter()
    try:
        for index in range(workers):
            where = ["--cluster", cluster, "--task-index", str(index)] if workers > 1 else []
            cmd = [*SV, "train", "--data", str(data), "--distribute", "multiworker", *where, *options]
            cmd += ["--out", str(out / f"worker-{index}"), "--json-progress"]
            procs.append(
                subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
            )
        outputs = [p.communicate(timeout=3600)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    failed = [i for i, p in enumerate(procs) if p.returncode != 0]
    if failed:
        raise SystemExit(f"error: worker(s) {failed} of {workers} failed; run one by hand to see why")
    events = [json.loads(line) for line in outputs[0].splitlines()]
    return {"epochs": [e for e in events if e["event"] == "epoch"], "wall_s": time.perf_counter() - began}


def measure(workers: int, data: Path, out: Path, options: list[str]) -> dict:
    run = train(workers, data, out / f"{workers}-worker", options)
    timed = run["epochs"][1:] or run["epochs"]  # epoch 1 also traces the step
    images = sum(e["images"] for e in timed)
    seconds = sum(e["images"] / e["images_per_s"] for e in timed)
    return {
        "workers": workers,
        "images_per_s": round(images / seconds, 1),
        "epochs_timed": len(timed),
        "val_digit_accuracy": run["epochs"][-1]["val"]["digit_accuracy"],
        "wall_s": round(run["wall_s"], 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-digit", type=int, default=150)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=32, help="per worker, as `train --batch-size`")
    ap.add_argument("--workdir", type=Path, default=Path("out/mw-bench"))
    ap.add_argument("--json", type=Path, help="Also write the result here.")
    args = ap.parse_args()
    data = args.workdir / f"data-{args.per_digit}"
    if not (data / "manifest.json").is_file():
        subprocess.run(
            [*SV, "render", "--out", data, "--per-digit", str(args.per_digit), "--seed", "41"], check=True
        )
    out = args.workdir / f"run-{int(time.time())}"
    options = ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size), "--seed", "5"]
    rows = [measure(n, data, out, options) for n in (1, 2)]
    setup = f"{args.per_digit * 10} columns, {args.epochs} epochs, batch {args.batch_size} per worker"
    print(f"{os.cpu_count()} cores shared by every worker; {setup}")
    for r in rows:
        print(
            f"{r['workers']} worker(s): {r['images_per_s']:7.1f} images/s over {r['epochs_timed']} epoch(s)  "
            f"(val digit accuracy {r['val_digit_accuracy']:.3f}, wall {r['wall_s']:.0f} s)"
        )
    print(f"2 workers / 1 worker: {rows[1]['images_per_s'] / rows[0]['images_per_s']:.2f}x (same cores)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
