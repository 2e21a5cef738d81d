"""The review page (web/review/) in real headless Chromium against a running collect-server:
needs-review crops first with the model's reading beside the label, and accept, relabel and
reject from the keyboard, each one stored."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from soroban_vision.collect.burst import base_crops
from soroban_vision.collect.process import ServerProcess
from soroban_vision.runners.chromium import FLAGS, find_chromium
from tests.test_collect_server import ADMIN, WRITE, png, seed_payload

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def request(server, method, path, body=None, key=ADMIN):
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with ServerProcess(str(tmp_path_factory.mktemp("review") / "review.db"), WRITE, ADMIN) as running:
        crops = base_crops(6, seed=21)  # digits 0-5
        # three agreeing crops (0, 1, 2) and one labelled 9 whose beads show a 3: it needs review
        assert (
            request(
                running,
                "POST",
                "/api/vision-training/collect",
                seed_payload([png(c) for c, _ in crops[:3]], "012"),
                key=WRITE,
            )[0]
            == 201
        )
        wrong = crops[3][0].copy()
        assert crops[3][1] == 3
        status, doc = request(
            running, "POST", "/api/vision-training/collect", seed_payload([png(wrong)], 9), key=WRITE
        )
        assert status == 201 and doc["needs_review"] == 1
        yield running


@pytest.fixture(scope="module")
def page(server, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")),
            executable_path=find_chromium(),
            headless=True,
            args=FLAGS,
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def statuses(server) -> dict[int, tuple[str, int]]:
    crops = request(server, "GET", "/api/review/crops?limit=500")[1]["crops"]
    return {c["id"]: (c["status"], c["label"]) for c in crops}


def test_review_page_lists_needs_review_first_and_acts_from_the_keyboard(server, page):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/review/")
    page.fill("#key", ADMIN)
    page.click("button[type=submit]")
    page.wait_for_selector(".card img[src^='blob:']")
    cards = page.locator(".card")
    assert cards.count() == 4
    first = cards.nth(0)
    assert "needs_review" in first.get_attribute("class") and "selected" in first.get_attribute("class")
    assert first.locator(".label").inner_text() == "label 9"
    assert first.locator(".model").inner_text().startswith("model reads 3")
    assert "disagree" in first.locator(".model").get_attribute("class")
    assert page.locator("h2").first.inner_text() == "needs review · labelled 9"
    ids = [int(cards.nth(i).get_attribute("data-id")) for i in range(4)]

    page.keyboard.press("3")  # relabel the first as 3 (accepted), then the selection moves on
    page.wait_for_selector('.card[data-index="1"].selected')
    page.keyboard.press("a")  # accept the second
    page.wait_for_selector('.card[data-index="2"].selected')
    page.keyboard.press("x")  # reject the third
    page.wait_for_selector('.card[data-index="3"].selected')
    page.keyboard.press("k")  # back to the third, then forward past the end stays on the last
    page.keyboard.press("j")
    page.keyboard.press("j")

    stored = statuses(server)
    assert stored[ids[0]] == ("accepted", 3)
    assert stored[ids[1]][0] == "accepted"
    assert stored[ids[2]][0] == "rejected"
    assert stored[ids[3]][0] == "unreviewed"
    assert "selected" in cards.nth(3).get_attribute("class")
    assert not errors, errors


def test_review_page_says_when_the_key_is_wrong(server, page):
    page.goto(server.url + "/review/")
    page.evaluate("sessionStorage.clear()")
    page.fill("#key", WRITE)  # the write key cannot review
    page.click("button[type=submit]")
    page.wait_for_selector("#message:not(:empty)")
    assert "not_admin" in page.inner_text("#message")


def test_create_collector_posts_the_exact_crops_from_another_origin(page, tmp_path):
    """web/src/collector.js in Chromium: a page on one origin posts a reading's crops to a
    collect-server that allows that origin; the stored crops are the reading's pixels, bit for bit."""
    from soroban_vision.serve import WEB_DIR, StaticServer

    (tmp_path / "blank.html").write_text("<!doctype html><title>blank</title>")
    crops = base_crops(4, seed=41)[1:3]  # digits 1 and 2
    with StaticServer({"/web/": WEB_DIR, "/t/": tmp_path}) as static:
        db = str(tmp_path / "cors.db")
        with ServerProcess(db, WRITE, ADMIN, "--allow-origin", static.url) as server:
            page.goto(static.url + "/t/blank.html")
            result = page.evaluate(
                """async ({url, key, crops}) => {
                  const { createCollector } = await import("/web/src/index.js");
                  const reading = { columns: [{ digit: 1 }, { digit: 2 }],
                                    debug: { crops: Float32Array.from(crops.flat(), (v) => v / 255) } };
                  const codeOf = (p) => p.then(() => "sent", (e) => e.code);
                  const doc = await createCollector({ url, apiKey: key, player: "ann" }).submit(reading, 12);
                  const collector = createCollector({ url, apiKey: key });
                  const stranger = createCollector({ url, apiKey: "not-the-key-0123456789" });
                  return {
                    doc,
                    noCrops: await codeOf(collector.submit({ columns: [{ digit: 1 }] }, 1)),
                    tooLong: await codeOf(collector.submit(reading, 123)),
                    wrongKey: await codeOf(stranger.submit(reading, 12)),
                  };
                }""",
                {"url": server.url, "key": WRITE, "crops": [c.reshape(-1).tolist() for c, _ in crops]},
            )
            assert result["doc"]["stored"] == 2 and result["doc"]["needs_review"] == 0, result
            assert [c["model"]["digit"] for c in result["doc"]["columns"]] == [1, 2]
            assert (result["noCrops"], result["tooLong"], result["wrongKey"]) == (
                "no_crops",
                "bad_answer",
                "wrong_key",
            )
            import io

            import numpy as np
            from PIL import Image

            for column, (pixels, digit) in zip(result["doc"]["columns"], crops, strict=True):
                assert column["label"] == digit
                parts = urlsplit(server.url)
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                conn.request(
                    "GET",
                    f"/api/review/crops/{column['id']}/image",
                    headers={"Authorization": f"Bearer {ADMIN}"},
                )
                stored = np.asarray(Image.open(io.BytesIO(conn.getresponse().read())))
                conn.close()
                assert np.array_equal(stored, pixels)
