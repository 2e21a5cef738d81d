"""A bounded burst of submissions from concurrent clients, for the load and crash figures
(benchmarks/collect_load.py) and their small versions in the tests. Every crop is unique (its
corner pixels carry the submission's and column's number), so "stored" must equal "acknowledged".
Each client's loop is bounded in count and in time; traffic goes only to the URL given (loopback)."""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import cv2
import numpy as np

from soroban_vision.collect.crops import content_hash

PATH = "/api/vision-training/collect"


def base_crops(count: int = 20, seed: int = 5) -> list[tuple[np.ndarray, int]]:
    """Rendered crops to vary: (pixels, digit)."""
    from soroban_vision.data import item_seed
    from soroban_vision.render import render_column

    return [(render_column(i % 10, item_seed(seed, i % 10, i))[0], i % 10) for i in range(count)]


def submission(bases, number: int, columns: int) -> tuple[dict, list[str]]:
    """The seed app's payload for submission `number`, and its crops' content hashes."""
    crops, digits, hashes = [], [], []
    for j in range(columns):
        pixels, digit = bases[(number * columns + j) % len(bases)]
        pixels = pixels.copy()
        pixels[0, :8] = np.frombuffer(np.array([number, j], ">u4").tobytes(), np.uint8)
        ok, png = cv2.imencode(".png", pixels)
        crops.append({"columnIndex": j, "imageData": base64.b64encode(png.tobytes()).decode()})
        digits.append(str(digit))
        hashes.append(content_hash(pixels))
    doc = {
        "columns": crops,
        "correctAnswer": "".join(digits),
        "playerId": f"p{number % 37}",
        "sessionId": "s",
    }
    return doc, hashes


@dataclass
class BurstResult:
    acknowledged: list[str] = field(default_factory=list)  # crop hashes the server said it stored
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)  # HTTP status (or "error") -> count
    sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: str, ms: float | None, hashes: list[str] | None) -> None:
        with self.lock:
            self.sent += 1
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if ms is not None:
                self.latencies_ms.append(ms)
            if hashes:
                self.acknowledged.extend(hashes)


def _client(url, key, jobs, result: BurstResult, deadline: float, stop: threading.Event) -> None:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    for body, hashes in jobs:
        if stop.is_set() or time.monotonic() > deadline:
            break
        began = time.perf_counter()
        try:
            conn.request("POST", PATH, body=body, headers=headers)
            response = conn.getresponse()
            doc = json.loads(response.read() or b"{}")
        except (OSError, http.client.HTTPException, ValueError):
            result.record("error", None, None)
            conn.close()
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            continue
        ms = (time.perf_counter() - began) * 1000
        stored = [h for h, c in zip(hashes, doc.get("columns", []), strict=False) if c.get("stored")]
        result.record(str(response.status), ms, stored if response.status in (200, 201) else None)
    conn.close()


def run_burst(
    url: str,
    key: str,
    count: int,
    clients: int,
    columns: int = 4,
    seconds: float = 300,
    offset: int = 0,
    stop: threading.Event | None = None,
    bases=None,
) -> BurstResult:
    """`count` submissions (numbered from `offset`) split over `clients` threads, each bounded by
    its share and by `seconds`; returns what was acknowledged."""
    bases = bases or base_crops()
    stop = stop or threading.Event()
    payloads = []
    for n in range(offset, offset + count):
        doc, hashes = submission(bases, n, columns)
        payloads.append((json.dumps(doc).encode(), hashes))
    result = BurstResult()
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_client, args=(url, key, payloads[i::clients], result, deadline, stop))
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return result


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")
