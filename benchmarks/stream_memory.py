"""Training streams from disk: peak memory stays flat however many images there are.

Renders N columns (default 200,000) once, trains one epoch with the in-memory cache turned
off, and samples the resident memory of the training process every half second.

    .venv/bin/python benchmarks/stream_memory.py --images 200000 --workdir out/stream-bench
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

SV = [sys.executable, "-m", "soroban_vision.cli"]


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--images", type=int, default=200_000)
    ap.add_argument("--workdir", type=Path, default=Path("out/stream-bench"))
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--json", type=Path, help="Also write the result here.")
    args = ap.parse_args()
    data = args.workdir / f"data-{args.images}"
    if not (data / "manifest.json").is_file():
        subprocess.run(
            [*SV, "render", "--out", data, "--per-digit", str(args.images // 10), "--seed", "31"], check=True
        )
    run = args.workdir / f"run-{int(time.time())}"
    cmd = [
        *SV,
        "train",
        "--data",
        data,
        "--epochs",
        "1",
        "--batch-size",
        str(args.batch_size),
        "--cache-limit-mb",
        "0",
        "--out",
        run,
        "--json-progress",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    samples: list[tuple[float, int, int]] = []  # (seconds, rss bytes, batches done)
    batches = [0]
    started = time.time()

    def sample() -> None:
        while proc.poll() is None:
            samples.append((time.time() - started, tree_rss(ps), batches[0]))
            time.sleep(0.5)

    threading.Thread(target=sample, daemon=True).start()
    steps = None
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "batch":
            batches[0] = event["batch"]
        elif event["event"] == "epoch_start":
            steps = event["steps"]
    proc.wait()
    training = [s for s in samples if s[2] > 0]
    first = [s[1] for s in training if steps and s[2] <= 0.1 * steps]
    last = [s[1] for s in training if steps and s[2] >= 0.9 * steps]
    mib = 2**20
    result = {
        "images": args.images,
        "steps": steps,
        "exit_code": proc.returncode,
        "seconds": round(time.time() - started, 1),
        "peak_rss_mib": round(max(s[1] for s in samples) / mib, 1),
        "rss_first_10pct_steps_mib": round(max(first) / mib, 1) if first else None,
        "rss_last_10pct_steps_mib": round(max(last) / mib, 1) if last else None,
        "decoded_dataset_in_memory_would_be_mib": round(args.images * 128 * 64 * 4 / mib, 1),
    }
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
