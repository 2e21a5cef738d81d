"""`soroban-vision collect-server`: the service wired together and run on uvicorn. Listens on
127.0.0.1 unless told otherwise; prints one line with its URL once it accepts connections."""

from __future__ import annotations

import logging
import os
import socket
import sys
from dataclasses import replace
from pathlib import Path

from soroban_vision.collect.auth import Keys
from soroban_vision.collect.limits import Limits
from soroban_vision.errors import UsageError


def build(
    db: str,
    write_key: str | None = None,
    admin_key: str | None = None,
    model: str | Path | None = None,
    limits: Limits | None = None,
    allow_origins: list[str] | None = None,
    runs_dir: str | Path | None = None,
    publish_dir: str | Path | None = None,
):
    """The Starlette app over `db` (a path, sqlite:///... or postgresql://...); the training page's
    runs when a runs folder is given, here or in the environment (trainer_settings.py)."""
    from soroban_vision.collect.app import Service, create_app
    from soroban_vision.collect.judge import Judge
    from soroban_vision.collect.rate import RateLimit
    from soroban_vision.collect.storage import Store
    from soroban_vision.collect.trainer import Trainer
    from soroban_vision.collect.trainer_settings import PUBLISH_ENV, RUNS_ENV, TrainerSettings
    from soroban_vision.reader import DEFAULT_MODEL

    keys = Keys.resolve(write_key, admin_key)
    given = {RUNS_ENV: runs_dir, PUBLISH_ENV: publish_dir}
    settings = TrainerSettings.from_env({**os.environ, **{k: str(v) for k, v in given.items() if v}})
    limits = limits or Limits()
    judge = Judge(model)
    store = Store(db)
    service = Service(store, judge, keys, limits, RateLimit(limits.rate_per_s, limits.burst))
    if settings is not None:
        fallback = Path(model).absolute() if model is not None else DEFAULT_MODEL
        service.trainer = Trainer(settings, db, fallback)
    return create_app(service, allow_origins)


def serve(
    db: str,
    host: str = "127.0.0.1",
    port: int = 8100,
    say=print,
    access_log: bool = False,
    rate_per_s: float | None = None,
    burst: int | None = None,
    **options,
) -> None:
    """Run until Ctrl-C or SIGTERM."""
    import uvicorn

    limits = Limits()
    if rate_per_s is not None:
        limits = replace(limits, rate_per_s=rate_per_s)
    if burst is not None:
        limits = replace(limits, burst=burst)
    app = build(db, limits=limits, **options)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    sock = _listen(host, port)
    bound = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=access_log,
        server_header=False,
        timeout_keep_alive=5,
        limit_concurrency=256,  # past this, 503 at once instead of a queue that grows without end
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    name = f"[{host}]" if ":" in host else host
    training = f"training: http://{name}:{bound}/review/training.html; " if app.state.service.trainer else ""
    say(
        f"collect-server: http://{name}:{bound}  (database: {app.state.service.store.kind}; "
        f"review: http://{name}:{bound}/review/; {training}Ctrl-C stops)"
    )
    sys.stdout.flush()
    try:
        server.run(sockets=[sock])
    finally:
        app.state.service.store.close()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port} ({e.strerror})") from None
    sock.listen(512)
    sock.set_inheritable(True)
    return sock
