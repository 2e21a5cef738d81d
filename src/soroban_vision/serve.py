"""A small static HTTP server on 127.0.0.1 for the browser library, its tests and the demo.

Several folders are served under URL prefixes (`/web/` -> web/, `/model/` -> an export, ...).
Nothing is cached, so a test never sees a stale shard, and `.wasm` goes out as
`application/wasm`, which the browser needs to compile it while it streams in. With
`isolate=True` the COOP/COEP headers make pages cross-origin isolated (wasm threads).
Only files inside the mounted folders are served (symlinks are followed, then judged by where
they land), and only to requests whose Host is 127.0.0.1:PORT or localhost:PORT.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from soroban_vision.errors import UsageError
from soroban_vision.shipped import WEB_DIR

MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".wasm": "application/wasm",
    ".bin": "application/octet-stream",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}


class StaticServer:
    """Serves folders under URL prefixes on 127.0.0.1, in a background thread.

    >>> with StaticServer({"/web/": WEB_DIR, "/model/": "models/column/tfjs"}) as server:
    ...     page = server.url + "/web/demo/index.html"
    """

    def __init__(
        self,
        roots: dict[str, str | Path] | None = None,
        port: int = 0,
        isolate: bool = False,
        index: str | None = None,
    ):
        self._roots: dict[str, Path] = {}
        self._lock = threading.Lock()
        self.isolate = isolate
        self.index = index  # where "/" redirects to, e.g. "/web/demo/index.html"
        self.port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for prefix, directory in (roots or {}).items():
            self.mount(prefix, directory)

    # ------------------------------------------------------------------ folders

    def mount(self, prefix: str, directory: str | Path) -> str:
        """Serve `directory` under `/prefix/`; returns the prefix as a URL path."""
        directory = Path(directory)
        if not directory.is_dir():
            raise UsageError(f"cannot serve {directory}: not a folder")
        prefix = "/" + prefix.strip("/") + "/"
        with self._lock:
            self._roots[prefix] = directory.resolve()
        return prefix

    def locate(self, url_path: str) -> Path | None:
        """The file a URL path names, or None. Never a path outside the mounted folders."""
        path = unquote(urlsplit(url_path).path)
        with self._lock:
            roots = sorted(self._roots.items(), key=lambda kv: -len(kv[0]))
        for prefix, root in roots:
            if not path.startswith(prefix):
                continue
            parts = [p for p in path[len(prefix) :].split("/") if p not in ("", ".")]
            if any(p == ".." or "\\" in p or "\x00" in p for p in parts):
                return None
            target = root.joinpath(*parts)
            if target.is_dir():
                target = target / "index.html"
            target = target.resolve()  # a symlink may point anywhere: judge where it lands
            return target if target.is_file() and target.is_relative_to(root) else None
        return None

    def allows_host(self, host: str | None) -> bool:
        """Only names of this machine's loopback, with our port: a page on another site that
        points its own name at 127.0.0.1 (DNS rebinding) cannot read what we serve."""
        if self._httpd is None or not host:
            return False
        port = self._httpd.server_address[1]
        return host.strip().lower() in {f"127.0.0.1:{port}", f"localhost:{port}"}

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not running; use it as a context manager or call start()")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> StaticServer:
        if self._httpd is not None:
            return self
        handler = type("Handler", (_Handler,), {"site": self})
        try:
            self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        except OSError as e:
            raise UsageError(f"cannot listen on 127.0.0.1:{self.port} ({e.strerror})") from None
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="sv-static", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> StaticServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    site: StaticServer
    server_version = "soroban-vision"
    sys_version = ""

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        if not self.site.allows_host(self.headers.get("Host")):
            self._plain(HTTPStatus.FORBIDDEN, b"forbidden: unknown Host\n", body)
            return
        if self.site.index and urlsplit(self.path).path == "/":
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", self.site.index)
            self._common_headers()
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        target = self.site.locate(self.path)
        if target is None:
            self._plain(HTTPStatus.NOT_FOUND, b"not found\n", body)
            return
        try:
            f = open(target, "rb")  # noqa: SIM115 - closed below, after the headers
        except OSError:
            self.send_error(HTTPStatus.FORBIDDEN)
            return
        with f:
            size = target.stat().st_size
            self.send_response(HTTPStatus.OK)
            self.send_header(
                "Content-Type", MIME_TYPES.get(target.suffix.lower(), "application/octet-stream")
            )
            self.send_header("Content-Length", str(size))
            self._common_headers()
            self.end_headers()
            if body:
                shutil.copyfileobj(f, self.wfile)

    def _plain(self, status: HTTPStatus, data: bytes, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self._common_headers()
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _common_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if self.site.isolate:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cross-Origin-Resource-Policy", "same-origin")

    def handle(self) -> None:
        # the browser closed the connection: normal when a page navigates away
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()

    def log_message(self, format: str, *args) -> None:  # quiet: tests and the demo print their own
        pass


def demo_roots(model_dir: str | Path, frame_dir: str | Path | None = None) -> dict[str, Path]:
    """What the demo page needs: the web folder (library, page, TF.js), the exported column model
    and, to read without markers, the frame model's TF.js export (the shipped one by default)."""
    from soroban_vision.frame.detector import FRAME_MODEL_DIR

    frame = Path(frame_dir) if frame_dir is not None else FRAME_MODEL_DIR / "tfjs"
    roots = {"/web/": WEB_DIR, "/model/": Path(model_dir)}
    return roots | ({"/frame/": frame} if (frame / "contract.json").is_file() else {})


def serve_demo(model_dir: str | Path, port: int = 8000, isolate: bool = False, say=print) -> None:
    """Serve the demo page and a model until Ctrl-C."""
    model_dir = Path(model_dir)
    if not (model_dir / "contract.json").is_file():
        raise UsageError(f"{model_dir} has no contract.json; export the model with `soroban-vision export`")
    with StaticServer(demo_roots(model_dir), port=port, isolate=isolate, index="/web/demo/index.html") as s:
        say(f"demo: {s.url}/web/demo/index.html   (model: {model_dir}; Ctrl-C stops)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
