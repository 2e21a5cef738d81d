"""A run's events as server-sent events (text/event-stream). The page reads them with fetch() and a
streaming body reader, so the admin key travels in the Authorization header like every other admin
request: not in a URL (URLs end up in access logs, browser history and Referer headers), and with no
second kind of credential (a signed token) to issue, expire and check. Each event carries its number
as `id:`; a client that reconnects sends `Last-Event-ID` and gets what it missed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from soroban_vision.collect.runs import Run

POLL_S = 0.2
KEEPALIVE_S = 15.0  # a comment line now and then keeps proxies from closing a quiet stream
RETRY_MS = 2000


def frame(event: dict) -> bytes:
    data = json.dumps(event, separators=(",", ":"))  # one line: JSON escapes every newline
    return f"id: {event['id']}\nevent: {event['event']}\ndata: {data}\n\n".encode()


async def stream(run: Run, after: int) -> AsyncIterator[bytes]:
    """Every event after `after`, as it comes, until the run has no step running; then `end`."""
    yield f"retry: {RETRY_MS}\n\n".encode()
    quiet = 0.0
    while True:
        settled = not run.active  # read before the events: a settled run's last event is already there
        events = run.log.since(after)
        for event in events:
            yield frame(event)
            after = event["id"]
        if events:
            quiet = 0.0
            continue
        if settled:
            yield f"id: {after}\nevent: end\ndata: {json.dumps({'state': run.state})}\n\n".encode()
            return
        await asyncio.sleep(POLL_S)
        quiet += POLL_S
        if quiet >= KEEPALIVE_S:
            quiet = 0.0
            yield b": keep-alive\n\n"
