"""The training page's API, for the admin key: start a fine-tune run on the accepted crops, follow
its events (server-sent events, sse.py), stop it, and publish it when it is not worse than the
current model (trainer.py does the work). Requests carry numbers only: run parameters in stated
ranges, and run ids that name folders the server made."""

from __future__ import annotations

from dataclasses import asdict

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from soroban_vision.collect import sse
from soroban_vision.collect.app import NO_STORE, Service, ok, read_json
from soroban_vision.collect.rejection import Rejected
from soroban_vision.collect.runs import RANGES, RunParams
from soroban_vision.collect.trainer import Trainer
from soroban_vision.collect.verdict import RENDERED_MARGIN

MAX_BODY = 4096
MAX_ID = 2**31


def _trainer(request: Request) -> Trainer:
    """The trainer, once the admin key is right; 403 when training is off."""
    service: Service = request.app.state.service
    service.admit(request, admin=True)
    if service.trainer is None:
        raise Rejected(
            403, "training_disabled", "training is off: start the server with SOROBAN_COLLECT_RUNS_DIR"
        )
    return service.trainer


def _run_id(request: Request) -> int:
    value = request.path_params["id"]
    if value > MAX_ID:
        raise Rejected(404, "not_found", "no such run")
    return value


async def overview(request: Request):
    service: Service = request.app.state.service
    service.admit(request, admin=True)
    trainer = service.trainer
    if trainer is None:
        return ok({"enabled": False})
    name, _ = trainer.current()
    return ok(
        {
            "enabled": True,
            "publishing": trainer.settings.publish_dir is not None,
            "current": name,
            "busy": trainer.busy(),
            "defaults": asdict(RunParams()),
            "ranges": {k: {"low": low, "high": high} for k, (_, _, low, high) in RANGES.items()},
            "rule": {"heldout_allowed_drop": 0, "rendered_margin": RENDERED_MARGIN},
            "doctor_runtimes": trainer.settings.doctor_runtimes.split(","),
            "runs": await run_in_threadpool(trainer.listing),
        }
    )


async def start(request: Request):
    trainer = _trainer(request)
    params = RunParams.parse(await read_json(request, MAX_BODY))
    run = await run_in_threadpool(trainer.start, params)
    return ok(run.view(), 202)


async def show(request: Request):
    trainer = _trainer(request)
    return ok(trainer.get(_run_id(request)).view())


async def stop(request: Request):
    trainer = _trainer(request)
    return ok(trainer.stop(_run_id(request)).view(), 202)


async def publish(request: Request):
    trainer = _trainer(request)
    return ok(trainer.publish(_run_id(request)).view(), 202)


async def events(request: Request):
    trainer = _trainer(request)
    raw = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or int(raw) > MAX_ID:
        raise Rejected(422, "bad_query", "Last-Event-ID: expected an event number")
    run = trainer.get(_run_id(request))
    state = request.app.state
    if getattr(state, "streams", 0) >= trainer.settings.max_streams:
        raise Rejected(
            429, "too_many_streams", "too many event streams are open; close one", {"Retry-After": "5"}
        )

    async def counted():
        state.streams = getattr(state, "streams", 0) + 1
        try:
            async for chunk in sse.stream(run, int(raw)):
                yield chunk
        finally:
            state.streams -= 1

    headers = {**NO_STORE, "X-Accel-Buffering": "no"}  # a proxy must pass events on at once
    return StreamingResponse(counted(), media_type="text/event-stream", headers=headers)


def routes() -> list[Route]:
    return [
        Route("/api/training", overview, methods=["GET"]),
        Route("/api/training/runs", start, methods=["POST"]),
        Route("/api/training/runs/{id:int}", show, methods=["GET"]),
        Route("/api/training/runs/{id:int}/events", events, methods=["GET"]),
        Route("/api/training/runs/{id:int}/stop", stop, methods=["POST"]),
        Route("/api/training/runs/{id:int}/publish", publish, methods=["POST"]),
    ]
