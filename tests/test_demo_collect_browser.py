"""The demo's opt-in collect button (web/demo/collect.js) in real headless Chromium against a
running collect-server: a photo read by the demo, the button pressed once, and the server holds
exactly that reading's column crops, labelled with its digits; nothing is sent unasked, and a
refused key says so on the page and stores nothing."""

from __future__ import annotations

import http.client
import io
import json
from pathlib import Path
from urllib.parse import quote, urlsplit

import numpy as np
import pytest
from PIL import Image

from soroban_vision.collect.process import ServerProcess
from soroban_vision.reader import DEFAULT_MODEL
from soroban_vision.runners.chromium import ChromiumRunner
from tests.test_collect_server import ADMIN, WRITE

pytestmark = [pytest.mark.slow, pytest.mark.browser]

EXAMPLE = Path(__file__).resolve().parents[1] / "web" / "demo" / "example-soroban.jpg"
EXAMPLE_TEXT = "3141592653589"  # what the reader reads on the demo's example (test_browser_abacus)


def _get(server, path: str):
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {ADMIN}"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def stored_crops(server) -> list[dict]:
    status, body = _get(server, "/api/review/crops?limit=500")
    assert status == 200, body
    return json.loads(body)["crops"]


@pytest.fixture(scope="module")
def browser():
    with ChromiumRunner(DEFAULT_MODEL / "tfjs", "wasm") as runner:
        yield runner


@pytest.fixture(scope="module")
def origin(browser) -> str:
    page = browser.new_page("/web/demo/index.html")
    try:
        return page.evaluate("location.origin")
    finally:
        page.close()


def open_demo(browser, query: str):
    page = browser.new_page(f"/web/demo/index.html{query}")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.wait_for_function("window.demoReady === true", timeout=60_000)
    page.set_input_files("#photo", str(EXAMPLE))
    page.wait_for_function("document.getElementById('fact-columns').textContent !== '–'", timeout=60_000)
    return page, errors


def press_send(page, outcome: str) -> tuple[str, bool]:
    """Press the button and wait until the status starts with `outcome`: (the status, the button enabled)."""
    page.click("#collect-send")
    page.wait_for_function(
        f"document.getElementById('collect-status').textContent.startsWith('{outcome}')", timeout=60_000
    )
    return page.inner_text("#collect-status"), page.is_enabled("#collect-send")


def collect_query(server, key: str) -> str:
    return f"?collect={quote(server.url, safe='')}&collectKey={quote(key, safe='')}"


def test_the_collect_button_sends_the_reading_s_crops_once(browser, origin, tmp_path):
    with ServerProcess(str(tmp_path / "demo.db"), WRITE, ADMIN, "--allow-origin", origin) as server:
        page, errors = open_demo(browser, collect_query(server, WRITE))
        try:
            assert page.is_visible("#collect") and page.inner_text("#collect-number") == EXAMPLE_TEXT
            assert stored_crops(server) == [], "nothing is sent before the button is pressed"
            status, again = press_send(page, "sent")
        finally:
            page.close()
        assert f"sent: {len(EXAMPLE_TEXT)} new column(s), 0 already there" in status, status
        assert not again, "a reading is sent once"
        crops = sorted(stored_crops(server), key=lambda c: c["column_index"])
        assert [c["column_index"] for c in crops] == list(range(len(EXAMPLE_TEXT)))
        assert "".join(str(c["label"]) for c in crops) == EXAMPLE_TEXT
        for c in crops[:3]:  # column crops in the contract's size, not the photo
            code, png = _get(server, c["image"])
            assert code == 200 and np.asarray(Image.open(io.BytesIO(png))).shape == (128, 64)
    assert errors == []


def test_a_refused_key_is_said_on_the_page_and_stores_nothing(browser, origin, tmp_path):
    with ServerProcess(str(tmp_path / "refused.db"), WRITE, ADMIN, "--allow-origin", origin) as server:
        page, errors = open_demo(browser, collect_query(server, "not-the-write-key-0123456789"))
        try:
            status, retry = press_send(page, "not sent")
        finally:
            page.close()
        assert stored_crops(server) == []
    assert "not sent:" in status and retry, status
    assert errors == []


def test_without_a_collect_server_the_demo_offers_nothing(browser):
    page, errors = open_demo(browser, "")
    try:
        assert page.inner_text("#number").replace("\u2009", "").replace(" ", "") == EXAMPLE_TEXT
        assert not page.is_visible("#collect")
    finally:
        page.close()
    assert errors == []
