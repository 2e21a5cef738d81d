"""The collection service (`soroban-vision collect-server`) as deployed: a real uvicorn process on a
loopback port, over SQLite and over a real PostgreSQL started here. The bad-input table, the happy
paths (provenance, review decision, dedupe), review actions, export, and a small burst with a
`kill -9` in the middle: nothing acknowledged is lost."""

from __future__ import annotations

import base64
import functools
import http.client
import io
import json
import os
import threading
import time
import zlib
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image

from soroban_vision.collect.burst import base_crops, run_burst
from soroban_vision.collect.cluster import ThrowawayPostgres
from soroban_vision.collect.limits import Limits
from soroban_vision.collect.process import ServerProcess
from soroban_vision.collect.storage import Store
from tests.conftest import assert_one_line_error, run_cli

WRITE, ADMIN = "write-key-for-tests-0123456789", "admin-key-for-tests-9876543210"
BACKENDS = ["sqlite", "postgresql"]
MAX = Limits().max_columns


@pytest.fixture(scope="module")
def postgres():
    with ThrowawayPostgres() as pg:
        yield pg


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    """One server per backend for the module; its working folder must stay empty but for SQLite's files."""
    workdir = tmp_path_factory.mktemp(f"collect-{request.param}")
    if request.param == "sqlite":
        db = str(workdir / "collect.db")
    else:
        db = request.getfixturevalue("postgres").create_database(f"collect_{os.getpid()}")
    log = tmp_path_factory.mktemp("logs") / "server.log"
    with ServerProcess(db, WRITE, ADMIN, log=log, cwd=workdir) as running:
        running.workdir, running.backend = workdir, request.param
        yield running


@pytest.fixture(scope="module")
def bases():
    return base_crops(10, seed=11)


def call(server, method: str, path: str, body=None, key: str | None = WRITE, headers=None):
    """(status, JSON or bytes, headers) of one request; `body` may be a dict (JSON) or bytes."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    sent = {"Content-Type": "application/json"}
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    sent.update(headers or {})
    data = json.dumps(body).encode() if isinstance(body, dict | list) else body
    try:
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        raw = response.read()
        kind = response.getheader("Content-Type", "")
        return response.status, json.loads(raw) if "json" in kind else raw, response.headers
    finally:
        conn.close()


def png(pixels: np.ndarray) -> str:
    """Base64 PNG; uint16 pixels make a 16-bit PNG."""
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def noisy(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (128, 64), dtype=np.uint8)


def seed_payload(images: list[str], answer, player="p1", session="s1") -> dict:
    columns = [{"columnIndex": i, "imageData": im} for i, im in enumerate(images)]
    return {"columns": columns, "correctAnswer": answer, "playerId": player, "sessionId": session}


@functools.cache
def bomb() -> str:
    """A PNG whose header says 6000x6000 gray (36 MB inflated) in about 35 KB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = (6000).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    raw = zlib.compress(b"\x00" * (6001 * 6000), 9)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    return base64.b64encode(data).decode()


# Long because it is one table, a case per row, read top to bottom like the error codes it covers.
def bad_inputs(bases) -> list[tuple[str, str, str, object, str | None, int, str]]:
    """(case, method, path, body, key, status, code): at least 15 ways to get it wrong."""
    good = png(bases[0][0])
    seed = "/api/vision-training/collect"
    v1 = "/api/collect/v1/crops"
    sixteen = png((np.arange(128 * 64).reshape(128, 64) * 7).astype(np.uint16))
    colour = np.zeros((128, 64, 3), np.uint8)
    colour[..., 0] = 200
    jpeg = io.BytesIO()
    Image.fromarray(bases[0][0]).save(jpeg, format="JPEG")
    truncated = base64.b64encode(base64.b64decode(good)[:200]).decode()
    nested = "[" * 100_000 + "]" * 100_000
    frame = png(noisy(1))
    return [
        ("no key", "POST", seed, seed_payload([good], 1), None, 401, "no_key"),
        ("wrong key", "POST", seed, seed_payload([good], 1), "not-the-key-0123456789", 401, "wrong_key"),
        ("admin key on a write endpoint", "POST", seed, seed_payload([good], 1), ADMIN, 401, "wrong_key"),
        ("write key on review", "GET", "/api/review/crops", None, WRITE, 403, "not_admin"),
        (
            "oversized body",
            "POST",
            seed,
            seed_payload([good] * 3 + ["A" * 600_000], 1),
            WRITE,
            413,
            "body_too_large",
        ),
        ("not JSON at all", "POST", seed, b"columns=1", WRITE, 400, "bad_json"),
        ("JSON nested 100,000 deep", "POST", seed, nested.encode(), WRITE, 400, "bad_json"),
        ("a JSON list, not an object", "POST", seed, [1, 2], WRITE, 400, "bad_payload"),
        (
            "a JPEG, not a PNG",
            "POST",
            seed,
            seed_payload([base64.b64encode(jpeg.getvalue()).decode()], 1),
            WRITE,
            422,
            "not_png",
        ),
        ("a 16-bit PNG", "POST", seed, seed_payload([sixteen], 1), WRITE, 422, "not_8bit_gray"),
        ("a colour PNG", "POST", seed, seed_payload([png(colour)], 1), WRITE, 422, "not_8bit_gray"),
        (
            "the wrong size (64x64)",
            "POST",
            seed,
            seed_payload([png(noisy(2)[:64])], 1),
            WRITE,
            422,
            "wrong_size",
        ),
        ("a decompression bomb", "POST", seed, seed_payload([bomb()], 1), WRITE, 422, "wrong_size"),
        ("a truncated PNG", "POST", seed, seed_payload([truncated], 1), WRITE, 422, "undecodable"),
        ("not base64", "POST", seed, seed_payload(["@@@@not base64@@@@"], 1), WRITE, 422, "bad_base64"),
        (
            "a digit out of range",
            "POST",
            v1,
            {"columns": [{"index": 0, "image": good, "label": 10}]},
            WRITE,
            422,
            "digit_out_of_range",
        ),
        ("a negative answer", "POST", seed, seed_payload([good], -3), WRITE, 422, "bad_answer"),
        (
            "an answer longer than the columns",
            "POST",
            seed,
            seed_payload([good], 123),
            WRITE,
            422,
            "answer_too_long",
        ),
        (
            f"{MAX + 1} columns",
            "POST",
            seed,
            seed_payload([good] * (MAX + 1), 1),
            WRITE,
            422,
            "too_many_columns",
        ),
        ("no columns", "POST", seed, seed_payload([], 1), WRITE, 422, "bad_field"),
        (
            "a column index twice",
            "POST",
            seed,
            {"columns": [{"columnIndex": 0, "imageData": good}] * 2, "correctAnswer": 1},
            WRITE,
            422,
            "bad_column_index",
        ),
        (
            "a player id of 10,000 characters",
            "POST",
            seed,
            seed_payload([good], 1, player="x" * 10_000),
            WRITE,
            422,
            "bad_field",
        ),
        (
            "a frame's corners outside it",
            "POST",
            "/api/collect/v1/frames",
            {"image": frame, "corners": [[0, 0], [64, 0], [64, 500], [0, 128]]},
            WRITE,
            422,
            "bad_corners",
        ),
        (
            "a frame that is a bomb",
            "POST",
            "/api/collect/v1/frames",
            {"image": bomb(), "corners": [[0, 0], [9, 0], [9, 9], [0, 9]]},
            WRITE,
            413,
            "too_many_pixels",
        ),
        (
            "a NUL in the client version",
            "POST",
            v1,
            {"columns": [{"index": 0, "image": good, "label": 1}], "client": {"version": "1\x00"}},
            WRITE,
            422,
            "bad_field",
        ),
        ("text/plain", "POST", seed, b"{}", WRITE, 415, "not_json"),
        (
            "a review filter that is not a status",
            "GET",
            "/api/review/crops?status=1%27%20OR%201=1",
            None,
            ADMIN,
            422,
            "bad_query",
        ),
        (
            "a crop id past 64 bits",
            "GET",
            "/api/review/crops/99999999999999999999999/image",
            None,
            ADMIN,
            404,
            "not_found",
        ),
        ("an unknown path", "GET", "/../../etc/passwd", None, None, 404, "not_found"),
        ("the wrong method", "GET", seed, None, WRITE, 405, "method_not_allowed"),
    ]


def test_bad_input_gets_a_json_error_with_a_stable_code_never_a_500(server, bases):
    before = call(server, "GET", "/api/review/summary", key=ADMIN)[1]["crops"]
    table = []
    for case, method, path, body, key, status, code in bad_inputs(bases):
        headers = {"Content-Type": "text/plain"} if case == "text/plain" else None
        got, doc, _ = call(server, method, path, body, key, headers)
        got_code = doc.get("error", {}).get("code") if isinstance(doc, dict) else None
        table.append((case, got, got_code))
        assert (got, got_code) == (status, code), (case, got, doc)
    print(f"\n{server.backend}: " + "; ".join(f"{c}: {s} {k}" for c, s, k in table))
    assert len(table) >= 15
    assert call(server, "GET", "/api/review/summary", key=ADMIN)[1]["crops"] == before  # nothing stored
    assert call(server, "GET", "/healthz", key=None)[0] == 200


def test_hostile_ids_are_hashed_and_never_reach_a_path_or_a_query(server, bases):
    hostile = [
        "../../../../etc/passwd",
        "..\\..\\boot.ini",
        "/dev/null",
        "x'); DROP TABLE crops;--",
        "\x00nul",
        "%2e%2e%2f",
        "名前",
    ]
    for i, value in enumerate(hostile):
        doc = {
            "columns": [{"index": 0, "image": png(noisy(100 + i)), "label": 4}],
            "player": value,
            "session": value,
            "device": value,
            "client": {"version": "0.1.0"},
        }
        status, body, _ = call(server, "POST", "/api/collect/v1/crops", doc)
        assert status == 201, body
    crops = call(server, "GET", "/api/review/crops?limit=500", key=ADMIN)[1]["crops"]
    players = {c["player"] for c in crops}
    assert not any(value in players for value in hostile)
    assert all(p is None or (len(p) == 32 and all(ch in "0123456789abcdef" for ch in p)) for p in players)
    names = sorted(p.name for p in server.workdir.iterdir())
    assert set(names) <= {"collect.db", "collect.db-wal", "collect.db-shm"}, names
    assert call(server, "GET", "/healthz", key=None)[0] == 200  # the tables are all there


def test_provenance_review_decision_and_dedupe(server, bases):
    three, seven = bases[3][0], bases[7][0]
    assert (bases[3][1], bases[7][1]) == (3, 7)
    images = [png(three), png(seven)]
    status, doc, _ = call(
        server, "POST", "/api/vision-training/collect", seed_payload(images, 37, "ann", "s9")
    )
    assert status == 201 and doc["stored"] == 2 and doc["needs_review"] == 0, doc
    assert [c["model"]["digit"] for c in doc["columns"]] == [3, 7]
    # the same crops again: nothing new; a wrong answer on new pixels of a 3: needs review
    status, again, _ = call(server, "POST", "/api/vision-training/collect", seed_payload(images, 37))
    assert status == 200 and again["stored"] == 0 and again["duplicates"] == 2
    wrong = three.copy()
    wrong[-1, -1] ^= 1
    status, doc, _ = call(server, "POST", "/api/vision-training/collect", seed_payload([png(wrong)], 8))
    assert status == 201 and doc["columns"][0]["status"] == "needs_review", doc
    crop = call(server, "GET", "/api/review/crops?status=needs_review&label=8", key=ADMIN)[1]["crops"][0]
    assert crop["model"]["digit"] == 3 and crop["model"]["confidence"] >= 0.8
    assert crop["model"]["name"] == "compact" and len(crop["model"]["sha256"]) == 64
    assert crop["created_at"].endswith("Z") and crop["label"] == 8
    first = call(server, "GET", "/api/review/crops?limit=1", key=ADMIN)[1]["crops"][0]
    assert first["status"] == "needs_review"  # review order: needs review first
    status, image, headers = call(server, "GET", crop["image"], key=ADMIN)
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(image))), wrong)
    # relabel it 3 (what the beads show), accept the others, then export keeps players apart
    status, after, _ = call(
        server, "POST", f"/api/review/crops/{crop['id']}", {"action": "relabel", "label": 3}, key=ADMIN
    )
    assert (
        status == 200
        and after["status"] == "accepted"
        and after["label"] == 3
        and after["submitted_label"] == 8
    )
    assert (
        call(
            server, "POST", f"/api/review/crops/{crop['id']}", {"action": "relabel", "label": 12}, key=ADMIN
        )[1]["error"]["code"]
        == "digit_out_of_range"
    )
    assert call(server, "POST", "/api/review/crops/999999", {"action": "accept"}, key=ADMIN)[0] == 404


def test_export_writes_accepted_crops_with_players_apart(server, tmp_path):
    for player in range(5):
        doc = {
            "columns": [
                {"index": i, "image": png(noisy(1000 + 10 * player + i)), "label": i} for i in range(3)
            ],
            "player": f"player-{player}",
        }
        assert call(server, "POST", "/api/collect/v1/crops", doc)[0] == 201
    for crop in call(server, "GET", "/api/review/crops?status=unreviewed&limit=500", key=ADMIN)[1]["crops"]:
        assert (
            call(server, "POST", f"/api/review/crops/{crop['id']}", {"action": "accept"}, key=ADMIN)[0] == 200
        )
    out = tmp_path / "export"
    run_cli("dataset", "export", "--db", server.db, "--out", out, "--heldout", "0.4", check=True)
    from soroban_vision.data import scan

    manifests = {s: json.loads((out / s / "manifest.json").read_text()) for s in ("train", "heldout")}
    players = {s: {i["player"] for i in m["items"]} for s, m in manifests.items()}
    assert players["train"] and players["heldout"] and not players["train"] & players["heldout"]
    accepted = call(server, "GET", "/api/review/summary", key=ADMIN)[1]["by_status"]["accepted"]
    assert sum(len(m["items"]) for m in manifests.values()) == accepted
    for split, manifest in manifests.items():
        items = scan([], manifest=out / split / "manifest.json").items
        assert len(items) == len(manifest["items"]) and all(0 <= it.digit <= 9 for it in items)


def test_frames_are_stored_with_their_corners_upright_and_without_metadata(server):
    pixels = np.random.default_rng(3).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the stored frame must be upright, 120 wide
    Image.fromarray(pixels).save(out, format="JPEG", exif=exif)
    corners = [[10, 10], [110, 12], [108, 150], [12, 148]]
    doc = {"image": base64.b64encode(out.getvalue()).decode(), "corners": corners, "player": "p"}
    status, body, _ = call(server, "POST", "/api/collect/v1/frames", doc)
    assert status == 201 and body["size"] == [120, 160], body
    frames = call(server, "GET", "/api/review/frames", key=ADMIN)[1]["frames"]
    assert frames[-1]["corners"] == [[float(x), float(y)] for x, y in corners]
    status, image, _ = call(server, "GET", frames[-1]["image"], key=ADMIN)
    stored = Image.open(io.BytesIO(image))
    assert stored.format == "PNG" and stored.size == (120, 160) and not stored.getexif()


@pytest.mark.slow
def test_a_burst_with_a_kill_9_loses_nothing_acknowledged(server, request, tmp_path):
    """The small version of benchmarks/collect_load.py: accepted = stored, then kill -9 mid-burst."""
    key = "burst-key-0123456789abcdef"
    if server.backend == "sqlite":
        db = str(tmp_path / "burst.db")
    else:
        db = request.getfixturevalue("postgres").create_database(f"burst_{os.getpid()}")
    bases = base_crops(10)
    with ServerProcess(db, key, None, "--rate", "0") as burst_server:
        result = run_burst(burst_server.url, key, 60, 6, columns=3, seconds=120, bases=bases)
        assert result.statuses == {"201": 60}, result.statuses
        burst_server.kill()
    store = Store(db)
    try:
        assert store.count_crops() == store.count_crops(result.acknowledged) == 180
    finally:
        store.close()
    # kill -9 while 6 clients are writing; then restart on the same database
    crashing = ServerProcess(db, key, None, "--rate", "0").start()
    results: list = []
    worker = threading.Thread(
        target=lambda: results.append(
            run_burst(crashing.url, key, 200, 6, columns=3, seconds=120, offset=1000, bases=bases)
        )
    )
    worker.start()
    time.sleep(1.0)
    crashing.kill()
    worker.join(120)
    acknowledged = results[0].acknowledged
    with ServerProcess(db, key, None):
        store = Store(db)
        try:
            assert store.count_crops(acknowledged) == len(acknowledged)
            assert store.integrity() == "ok"
        finally:
            store.close()


def test_the_rate_limit_answers_429_with_retry_after(tmp_path, bases):
    with ServerProcess(str(tmp_path / "rate.db"), WRITE, None, "--rate", "0.5", "--burst", "3") as server:
        doc = seed_payload([png(bases[0][0])], bases[0][1])
        statuses = [call(server, "POST", "/api/vision-training/collect", doc)[0] for _ in range(3)]
        status, body, headers = call(server, "POST", "/api/vision-training/collect", doc)
        assert statuses == [201, 200, 200] and status == 429, (statuses, body)
        assert body["error"]["code"] == "rate_limited" and int(headers["Retry-After"]) >= 1
        assert call(server, "GET", "/api/review/summary", key=ADMIN)[1]["error"]["code"] == "review_disabled"


def test_the_command_refuses_missing_or_weak_keys_and_bad_databases(tmp_path):
    env_free = {k: v for k, v in os.environ.items() if not k.startswith("SOROBAN_COLLECT_")}
    os.environ.clear()
    os.environ.update(env_free)
    proc = run_cli("collect-server", "--db", str(tmp_path / "x.db"), "--port", "0", timeout=60)
    assert_one_line_error(proc, 2, "write key")
    proc = run_cli("collect-server", "--write-key", "short", "--db", str(tmp_path / "x.db"), timeout=60)
    assert_one_line_error(proc, 2, "at least 16")
    proc = run_cli("collect-server", "--write-key", WRITE, "--db", "mysql+nothing://x/y", timeout=60)
    assert_one_line_error(proc, 2, "--db")
    proc = run_cli("dataset", "export", "--db", str(tmp_path / "empty.db"), "--out", str(tmp_path / "o"))
    assert_one_line_error(proc, 2, "no accepted crops")
