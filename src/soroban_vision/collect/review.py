"""Review, for the admin key: the crops in review order with their provenance and the model's
reading, each crop's image, the actions (accept, relabel, reject), the frames, and the review page
itself (web/review/), whose few files are read once at start-up and served by name from that list:
no request string becomes a path."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from soroban_vision.collect.app import NO_STORE, Service, ok, read_json
from soroban_vision.collect.judge import ACCEPTED, REJECTED, STATUSES
from soroban_vision.collect.rejection import Rejected, bad_field
from soroban_vision.shipped import WEB_DIR

REVIEW_DIR = WEB_DIR / "review"
PAGE_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# the page loads only itself: its script, its style, and crop images fetched as blobs
PAGE_HEADERS = {
    **NO_STORE,
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob:; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
ACTIONS = {"accept": ACCEPTED, "relabel": ACCEPTED, "reject": REJECTED}
MAX_PAGE = 500


def page_files() -> dict[str, tuple[bytes, str]]:
    files = {}
    if REVIEW_DIR.is_dir():
        for path in sorted(REVIEW_DIR.iterdir()):
            if path.is_file() and path.suffix in PAGE_TYPES:
                files[path.name] = (path.read_bytes(), PAGE_TYPES[path.suffix])
    return files


def _int_param(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise Rejected(422, "bad_query", f"{name}: expected a whole number {low}-{high}")
    return int(raw)


def _row_id(request: Request) -> int:
    """The {id} of the path; beyond any stored id (or a 64-bit integer) is simply not found."""
    value = request.path_params["id"]
    if value > 2**62:
        raise Rejected(404, "not_found", "no such item")
    return value


def _view(row: dict) -> dict:
    return {
        "id": row["id"],
        "label": row["label"],
        "submitted_label": row["submitted_label"],
        "status": row["status"],
        "model": {
            "name": row["model_name"],
            "sha256": row["model_sha256"],
            "digit": row["model_digit"],
            "confidence": row["model_confidence"],
        },
        "column_index": row["column_index"],
        "submission": row["submission_id"],
        "player": row["player"],
        "client_version": row["client_version"],
        "sha256": row["sha256"],
        "created_at": row["created_at"],
        "reviewed_at": row["reviewed_at"],
        "image": f"/api/review/crops/{row['id']}/image",
    }


async def list_crops(request: Request):
    service: Service = request.app.state.service
    service.admit(request, admin=True)
    status = request.query_params.get("status") or None
    if status is not None and status not in STATUSES:
        raise Rejected(422, "bad_query", f"status: one of {', '.join(STATUSES)}")
    label = _int_param(request, "label", None, 0, 9)
    after = _int_param(request, "after", 0, 0, 2**62)
    limit = _int_param(request, "limit", 100, 1, MAX_PAGE)
    rows = await run_in_threadpool(service.store.list_crops, status, label, after, limit)
    return ok({"crops": [_view(r) for r in rows]})


async def summary(request: Request):
    service: Service = request.app.state.service
    service.admit(request, admin=True)
    doc = await run_in_threadpool(service.store.summary)
    doc["model"] = {"name": service.judge.name, "sha256": service.judge.sha256}
    return ok(doc)


async def crop_image(request: Request):
    service: Service = request.app.state.service
    service.admit(request, admin=True)
    png = await run_in_threadpool(service.store.crop_png, _row_id(request))
    if png is None:
        raise Rejected(404, "not_found", "no such crop")
    return Response(png, media_type="image/png", headers=NO_STORE)


async def review_crop(request: Request):
    service: Service = request.app.state.service
    service.admit(request, admin=True)
    doc = await read_json(request, 4096)
    if not isinstance(doc, dict) or doc.get("action") not in ACTIONS:
        raise bad_field("action", "one of accept, relabel, reject", code="bad_action")
    label = doc.get("label")
    if doc["action"] == "relabel":
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
            raise bad_field("label", "expected a digit 0-9", code="digit_out_of_range")
    else:
        label = None
    row = await run_in_threadpool(service.store.review, _row_id(request), ACTIONS[doc["action"]], label)
    if row is None:
        raise Rejected(404, "not_found", "no such crop")
    return ok(_view(row))


async def list_frames(request: Request):
    service: Service = request.app.state.service
    service.admit(request, admin=True)
    after = _int_param(request, "after", 0, 0, 2**62)
    limit = _int_param(request, "limit", 100, 1, MAX_PAGE)
    rows = await run_in_threadpool(service.store.list_frames, after, limit)
    for row in rows:
        row["image"] = f"/api/review/frames/{row['id']}/image"
    return ok({"frames": rows})


async def frame_image(request: Request):
    service: Service = request.app.state.service
    service.admit(request, admin=True)
    png = await run_in_threadpool(service.store.frame_png, _row_id(request))
    if png is None:
        raise Rejected(404, "not_found", "no such frame")
    return Response(png, media_type="image/png", headers=NO_STORE)


def page_route(files: dict[str, tuple[bytes, str]]):
    async def page(request: Request):
        name = request.path_params.get("name") or "index.html"
        if name not in files:
            raise Rejected(404, "not_found", "no such page")
        body, media_type = files[name]
        return Response(body, media_type=media_type, headers=PAGE_HEADERS)

    return page


def routes() -> list[Route]:
    page = page_route(page_files())
    return [
        Route("/", lambda request: RedirectResponse("/review/"), methods=["GET"]),
        Route("/review", lambda request: RedirectResponse("/review/"), methods=["GET"]),
        Route("/review/", page, methods=["GET"]),
        Route("/review/{name:str}", page, methods=["GET"]),
        Route("/api/review/summary", summary, methods=["GET"]),
        Route("/api/review/crops", list_crops, methods=["GET"]),
        Route("/api/review/crops/{id:int}/image", crop_image, methods=["GET"]),
        Route("/api/review/crops/{id:int}", review_crop, methods=["POST"]),
        Route("/api/review/frames", list_frames, methods=["GET"]),
        Route("/api/review/frames/{id:int}/image", frame_image, methods=["GET"]),
    ]
