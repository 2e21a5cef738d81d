"""The collection service's HTTP routes (Starlette). Writes: the seed app's crops, ours, and whole
frames. Reads: /healthz for anyone, and the review API and page (review.py) for the admin key.

Every refusal is JSON `{"error": {"code", "message"}}` with a 4xx status; a fault of the server
itself is logged and answered with a JSON 500 (`internal`), never with a traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from importlib import metadata

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from soroban_vision.collect import auth, payloads
from soroban_vision.collect.frames import check_frame
from soroban_vision.collect.judge import Judge
from soroban_vision.collect.limits import Limits
from soroban_vision.collect.provenance import hash_id
from soroban_vision.collect.rate import RateLimit
from soroban_vision.collect.rejection import Rejected
from soroban_vision.collect.storage import Store, now
from soroban_vision.collect.trainer import Trainer

log = logging.getLogger("soroban_vision.collect")
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@dataclass
class Service:
    store: Store
    judge: Judge
    keys: auth.Keys
    limits: Limits
    rate: RateLimit
    trainer: Trainer | None = None  # the training page's runs (training.py); None: training is off

    def admit(self, request: Request, admin: bool) -> str:
        """The caller's key id once its key is right and within its rate, else Rejected."""
        key = auth.check(request.headers.get("authorization"), self.keys, admin)
        self.rate.take(key)
        return key


def error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=status,
        headers={**NO_STORE, **(headers or {})},
    )


def ok(doc, status: int = 200) -> JSONResponse:
    return JSONResponse(doc, status_code=status, headers=NO_STORE)


async def read_json(request: Request, limit: int):
    """The body as JSON, read no further than `limit` bytes."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise Rejected(415, "not_json", "send the body as Content-Type: application/json")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Rejected(413, "body_too_large", f"the body is over the {limit}-byte limit")
    body, size = bytearray(), 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Rejected(413, "body_too_large", f"the body is over the {limit}-byte limit")
        body += chunk
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise Rejected(400, "bad_json", "the body is not valid JSON") from None


def _submission(service: Service, kind: str, key: str, ids: payloads.Ids, client: payloads.Client) -> dict:
    secret = service.store.secret
    return {
        "kind": kind,
        "received_at": now(),
        "key_id": key,
        "player": hash_id(secret, "player", ids.player),
        "session": hash_id(secret, "session", ids.session),
        "device": hash_id(secret, "device", ids.device),
        "client_version": client.version,
        "client_model": client.model_name,
        "client_model_sha256": client.model_sha256,
    }


def store_crops(service: Service, key: str, sub: payloads.CropSubmission) -> dict:
    """Judge and store one submission's crops (in a worker thread: inference and the database)."""
    verdicts = service.judge.judge([c.pixels for _, c, _ in sub.crops], [label for _, _, label in sub.crops])
    row = _submission(service, sub.source, key, sub.ids, sub.client)
    row.update(answer=sub.answer, columns=sub.columns)
    if sub.client_digits is not None:
        row["client_digits"] = "".join(map(str, sub.client_digits))
    created = now()
    rows = [
        {
            "sha256": crop.sha256,
            "png": crop.png,
            "column_index": index,
            "submitted_label": label,
            "label": label,
            "status": verdict.status,
            "model_name": service.judge.name,
            "model_sha256": service.judge.sha256,
            "model_digit": verdict.digit,
            "model_confidence": verdict.confidence,
            "player": row["player"],
            "client_version": sub.client.version,
            "created_at": created,
        }
        for (index, crop, label), verdict in zip(sub.crops, verdicts, strict=True)
    ]
    ids = service.store.add_crops(row, rows)
    columns = [
        {
            "index": r["column_index"],
            "label": r["label"],
            "stored": crop_id is not None,
            "id": crop_id,
            "status": r["status"] if crop_id is not None else "duplicate",
            "model": {"digit": r["model_digit"], "confidence": r["model_confidence"]},
        }
        for r, crop_id in zip(rows, ids, strict=True)
    ]
    stored = sum(c["stored"] for c in columns)
    return {
        "success": True,  # the seed app's clients look for this
        "stored": stored,
        "duplicates": len(columns) - stored,
        "needs_review": sum(c["status"] == "needs_review" for c in columns),
        "columns": columns,
    }


def endpoint(parse, limit_of):
    """A write route: key and rate first, then the body (bounded), parsed, judged and stored."""

    async def handle(request: Request):
        service: Service = request.app.state.service
        key = service.admit(request, admin=False)
        doc = await read_json(request, limit_of(service.limits))
        submission = parse(doc, service.limits)
        result = await run_in_threadpool(store_crops, service, key, submission)
        return ok(result, 201 if result["stored"] else 200)

    return handle


async def collect_frame(request: Request):
    service: Service = request.app.state.service
    key = service.admit(request, admin=False)
    doc = await read_json(request, service.limits.frame_body_bytes)
    sub = payloads.parse_frame(doc, service.limits)

    def store():
        frame = check_frame(sub.image, sub.corners, service.limits.frame_megapixels)
        row = _submission(service, "frame", key, sub.ids, sub.client)
        fields = {"sha256": frame.sha256, "png": frame.png, "width": frame.width, "height": frame.height}
        fields.update(corners=frame.corners, player=row["player"], created_at=now())
        frame_id = service.store.add_frame(row, fields)
        return {
            "success": True,
            "stored": frame_id is not None,
            "id": frame_id,
            "size": [frame.width, frame.height],
        }

    result = await run_in_threadpool(store)
    return ok(result, 201 if result["stored"] else 200)


async def healthz(request: Request):
    service: Service = request.app.state.service
    try:
        await run_in_threadpool(service.store.ping)
    except Exception:
        log.exception("health check: the database does not answer")
        return error(503, "database_down", "the database does not answer")
    return ok(
        {
            "status": "ok",
            "database": service.store.kind,
            "model": service.judge.name,
            "version": metadata.version("soroban-vision"),
        }
    )


async def on_rejected(request: Request, exc: Rejected):
    return error(exc.status, exc.code, str(exc), exc.headers)


async def on_http(request: Request, exc: HTTPException):
    codes = {404: "not_found", 405: "method_not_allowed"}
    return error(exc.status_code, codes.get(exc.status_code, "http_error"), exc.detail or "", exc.headers)


async def on_fault(request: Request, exc: Exception):
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return error(500, "internal", "the server failed; the request was not stored")


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette):
    yield
    trainer = app.state.service.trainer
    if trainer is not None:  # a run's step ends with the server, never left running alone
        await run_in_threadpool(trainer.close)


def create_app(service: Service, allow_origins: list[str] | None = None) -> Starlette:
    from soroban_vision.collect import review, training

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route(
            "/api/vision-training/collect",
            endpoint(payloads.parse_seed, lambda lim: lim.crops_body_bytes),
            methods=["POST"],
        ),
        Route(
            "/api/collect/v1/crops",
            endpoint(payloads.parse_v1, lambda lim: lim.crops_body_bytes),
            methods=["POST"],
        ),
        Route("/api/collect/v1/frames", collect_frame, methods=["POST"]),
        *review.routes(),
        *training.routes(),
    ]
    middleware = []
    if allow_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(allow_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
                max_age=600,
            )
        )
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={Rejected: on_rejected, HTTPException: on_http, Exception: on_fault},
        lifespan=_lifespan,
    )
    app.state.service = service
    return app
