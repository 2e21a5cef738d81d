"""TF.js in a real browser: Debian's Chromium, headless, driven through Playwright.

The runner serves web/ and the model folder on 127.0.0.1 (serve.py), opens
web/test/harness.html and calls its functions. With a contract.json next to the model it
loads the model the way a web page does (web/src/index.js: checksums, golden self-check,
preprocessing in the page); without one it loads the bare graph model, which is
how the doctor looks at a third-party model.

Backends: wasm (the fast one on CPU-only machines), cpu, webgl (SwiftShader, software) and
webgl-f16 (WebGL with half-float textures, as on many phones).

With `camera` (a .y4m file, render/video.py), the browser has a camera that plays that file,
looping, with no permission prompt: the page's getUserMedia gets it, as a user's camera.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from pathlib import Path
from urllib.parse import quote

import numpy as np

from soroban_vision.errors import SorobanError, UsageError
from soroban_vision.runners.base import BaseRunner, TensorInfo
from soroban_vision.runners.node import decode_tensor, encode_tensor
from soroban_vision.serve import WEB_DIR, StaticServer

BACKENDS = ("wasm", "cpu", "webgl", "webgl-f16")
HARNESS = "/web/test/harness.html"
# toolchain.md: what runs headless here. --use-angle=swiftshader gives WebGL in software;
# --use-gl=swiftshader would break it.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WEBGL_FLAGS = ["--use-angle=swiftshader"]
# a camera that plays a .y4m file (render/video.py), looping, and needs no permission prompt
FAKE_CAMERA_FLAGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


class _SharedPlaywright(threading.local):
    """Playwright's sync API allows one instance per thread; runners in a thread share it."""

    instance = None
    users = 0

    def acquire(self):
        if self.instance is None:
            from playwright.sync_api import sync_playwright

            self.instance = sync_playwright().start()
        self.users += 1
        return self.instance

    def release(self) -> None:
        self.users -= 1
        if self.users == 0 and self.instance is not None:
            instance, self.instance = self.instance, None
            instance.stop()


_PLAYWRIGHT = _SharedPlaywright()


class BrowserError(SorobanError):
    """The page refused or failed: a model that does not check out, or a TF.js error. When the
    library threw it, `js_name` is its class (e.g. FrameNotFound) and `code` its stable code
    (e.g. no_markers, hash_mismatch; web/README.md lists them)."""

    code = "browser"
    js_name = "Error"  # the JavaScript error's name, when the page threw one


def find_chromium() -> str:
    """$CHROMIUM, else `chromium` on PATH."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not path:
        raise UsageError(
            "Chromium not found: install Debian's chromium package or set CHROMIUM=/path/to/chromium"
        )
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        raise UsageError(f"CHROMIUM={path} is not an executable file")
    return path


class ChromiumRunner(BaseRunner):
    """A model folder in headless Chromium. Use as a context manager; one browser per runner."""

    def __init__(
        self,
        model_dir: str | Path,
        backend: str = "wasm",
        *,
        contract: bool | None = None,
        isolate: bool = False,
        tolerance: float | None = None,
        timeout_s: float = 120.0,
        camera: str | Path | None = None,
    ):
        if backend not in BACKENDS:
            raise UsageError(f"unknown browser backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
        self.model_dir = Path(model_dir)
        if not (self.model_dir / "model.json").is_file():
            raise UsageError(f"{self.model_dir} has no model.json (a TF.js graph model folder)")
        self.backend = backend
        self.name = f"tfjs-chromium-{backend}"
        self.contract = (self.model_dir / "contract.json").is_file() if contract is None else contract
        self.isolate = isolate
        self.tolerance = tolerance
        self.timeout_ms = timeout_s * 1000
        self.camera = None if camera is None else Path(camera).resolve()  # a .y4m the fake camera plays
        if self.camera is not None and not self.camera.is_file():
            raise UsageError(f"{camera}: no such .y4m file for the camera")
        self.info: dict = {}  # what the page reported when it loaded the model
        self.num_tensors = 0
        self.console: list[str] = []  # console errors and uncaught page errors, newest last
        self.requests: list[str] = []  # every URL the page asked for (all should be ours)
        self._server: StaticServer | None = None
        self._playwright = None
        self._context = None
        self._page = None
        self._profile: str | None = None
        self._mounts: dict[Path, str] = {}
        self._signature: dict = {}

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> ChromiumRunner:
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def open(self) -> None:
        chromium = find_chromium()
        if not (WEB_DIR / "node_modules" / "@tensorflow" / "tfjs" / "dist" / "tf.min.js").is_file():
            raise UsageError("web/node_modules has no TF.js; run `make setup`")
        self._server = StaticServer(
            {"/web/": WEB_DIR, "/model/": self.model_dir}, isolate=self.isolate
        ).start()
        self._profile = tempfile.mkdtemp(prefix="sv-chromium-")
        self._playwright = _PLAYWRIGHT.acquire()
        args = FLAGS + (WEBGL_FLAGS if self.backend.startswith("webgl") else [])
        if self.camera is not None:
            args += [*FAKE_CAMERA_FLAGS, f"--use-file-for-fake-video-capture={self.camera}"]
        try:
            self._context = self._playwright.chromium.launch_persistent_context(
                self._profile, executable_path=chromium, headless=True, args=args
            )
        except Exception as e:
            raise BrowserError(f"cannot start Chromium ({chromium}): {str(e).splitlines()[0]}") from None
        self._page = self._context.pages[0] if self._context.pages else self._context.new_page()
        self._page.on("console", self._on_console)
        self._page.on("request", lambda r: self.requests.append(r.url))
        self._page.on("pageerror", lambda e: self.console.append(f"page error: {e}"))
        try:
            self._page.goto(self._server.url + HARNESS, timeout=60_000)
            self._page.wait_for_function("window.harness !== undefined", timeout=30_000)
        except Exception:
            raise BrowserError(self._message("the test harness page did not start", 0)) from None
        if self.contract:
            options = {} if self.tolerance is None else {"tolerance": self.tolerance}
            self.info = self.call("load", "/model/", self.backend, options)
            self._signature = self.call("signature")
        else:
            self._signature = self.info = self.call("loadGraph", "/model/model.json", self.backend)

    def close(self) -> None:
        for step in (
            lambda: self._context and self._context.close(),
            lambda: self._playwright and _PLAYWRIGHT.release(),
            lambda: self._server and self._server.stop(),
        ):
            with contextlib.suppress(Exception):  # best effort: the browser may already be gone
                step()
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
        self._context = self._playwright = self._server = self._page = self._profile = None

    def _on_console(self, msg) -> None:
        if msg.type == "error":
            self.console.append(msg.text)

    # ------------------------------------------------------------------ the page

    def call(self, function: str, *args):
        """Call window.harness[function](*args) in the page; a failure raises BrowserError."""
        if self._page is None:
            raise RuntimeError("the runner is not open; use it as a context manager")
        seen = len(self.console)
        try:
            answer = self._page.evaluate(
                "([f, a, t]) => window.harness.call(f, a, t)", [function, list(args), self.timeout_ms]
            )
        except Exception as e:  # the page crashed or the call timed out
            raise BrowserError(self._message(str(e).splitlines()[0], seen)) from None
        if not answer["ok"]:
            error = BrowserError(self._message(answer["error"], seen))
            error.js_name = answer.get("name", "Error")  # e.g. FrameNotFound: no soroban to read
            error.code = answer.get("code") or BrowserError.code  # e.g. no_markers
            raise error
        return answer["value"]

    def _message(self, error: str, seen: int) -> str:
        new = [c.splitlines()[0] for c in self.console[seen:] if c.splitlines()]
        extra = f" (console: {' | '.join(new[-3:])})" if new else ""
        return f"{self.name}: {error}{extra}"

    def url_for(self, path: str | Path) -> str:
        """A URL the page can load `path` from (its folder is served on demand)."""
        path = Path(path).resolve()
        return self.serve_dir(path.parent) + quote(path.name)

    def serve_dir(self, directory: str | Path) -> str:
        """Serve another folder (e.g. a second model) and return its URL path, ending in '/'."""
        directory = Path(directory).resolve()
        if directory not in self._mounts:
            self._mounts[directory] = self._server.mount(f"/files/{len(self._mounts)}/", directory)
        return self._mounts[directory]

    # ------------------------------------------------------------------ the Runner interface

    def _infos(self, key: str) -> list[TensorInfo]:
        return [TensorInfo(t["name"], tuple(t["shape"]), t["dtype"]) for t in self._signature[key]]

    def inputs(self) -> list[TensorInfo]:
        return self._infos("inputs")

    def outputs(self) -> list[TensorInfo]:
        """In the order the model itself returns them (model.json's signature order)."""
        return self._infos("outputs")

    def run(self, feed: dict[str, np.ndarray], outputs: list[str] | None = None) -> dict[str, np.ndarray]:
        answer = self.call("run", {k: encode_tensor(np.asarray(v)) for k, v in feed.items()}, outputs or [])
        self.last_ms = answer["ms"]
        self.num_tensors = answer["numTensors"]
        return {k: decode_tensor(v) for k, v in answer["outputs"].items()}

    # ------------------------------------------------------------------ what a web page does

    def classify(self, paths: list[str | Path], kind: str = "image") -> list[dict]:
        """Image files, read by the browser itself, through the library: one reading each.
        `kind`: image, canvas, imagedata, offscreen, bitmap or video."""
        return self.call("classify", [self.url_for(p) for p in paths], kind)

    def preprocess(self, paths: list[str | Path], kind: str = "image") -> np.ndarray:
        """The library's model input for image files: float32 [N, 128, 64, 1]."""
        return decode_tensor(self.call("preprocess", [self.url_for(p) for p in paths], kind))

    def time(self, batch: int = 1, runs: int = 20, warmup: int = 3) -> dict:
        """Median/min/max ms of one inference (upload, model, download) at `batch`."""
        return self.call("time", batch, runs, warmup)

    def tensors(self) -> int:
        """tf.memory().numTensors in the page."""
        return self.call("numTensors")

    # ------------------------------------------------------------------ the whole-soroban reader

    def read_abacus(
        self, paths: list[str | Path], kind: str = "image", frame_model: str | Path | None = None, **options
    ) -> list[dict]:
        """Photos read by the page's whole-soroban reader (web/src/abacus/), one reading each, as
        `read` returns it: number (a string), text, digits, columns, corners (the frame, in the
        photo's pixels), method (how the frame was found: "markers", "markers-3", "model",
        "contour" or "corners"), rods, ms. `frame_model`: a frame model's TF.js folder, for a reader that
        reads without markers. Options as `read(source, options)`: columns, corners, markers,
        threshold, debug (adds the layouts and the chosen layout's crops, as float32 arrays)."""
        if frame_model is not None:
            options["frameModel"] = self.serve_dir(frame_model)
        readings = [self.call("readAbacus", self.url_for(p), options, kind) for p in paths]
        for r in readings:
            if "debug" in r:
                r["debug"]["crops"] = decode_tensor(r["debug"]["crops"])
        return readings

    def time_abacus(
        self,
        path: str | Path,
        runs: int = 30,
        warmup: int = 5,
        frame_model: str | Path | None = None,
        **options,
    ) -> dict:
        """Median/min/max/p90 ms of the whole browser pipeline on one photo, and each stage's median;
        `frame_model` (a frame model's TF.js folder) for a reader that reads without markers."""
        if frame_model is not None:
            options["frameModel"] = self.serve_dir(frame_model)
        return self.call("timeAbacus", self.url_for(path), runs, warmup, options)

    def new_video(self, frame_model: str | Path | None = None) -> int:
        """Start another video on the page's reader (of `frame_model`, a frame model's TF.js
        folder, or the markers' one): what `track` remembers is forgotten. Returns how many
        frames the video before read with a kept frame (reader.newVideo)."""
        return self.call("newVideo", None if frame_model is None else self.serve_dir(frame_model))

    def time_markers(self, path: str | Path, runs: int = 10) -> dict:
        """The page's marker detector alone on one photo: its load time (OpenCV.js, once per page),
        the frame of a full search and of a tracked one ({corners, method, warnings}), and the
        median ms of each (harness timeMarkers)."""
        return self.call("timeMarkers", self.url_for(path), runs)

    def watch_camera(self, seconds: float, frame_model: str | Path | None = None, **options) -> dict:
        """The page's reader on the camera (the runner's `camera` file) for `seconds`: per video
        frame read, its stamp, text, rod count and the Stabilizer's answer (harness watchCamera).
        Options: columns, frames (the Stabilizer's), track. `frame_model` (a frame model's TF.js
        folder): read without markers, the frame from that model."""
        if self.camera is None:
            raise UsageError("this runner has no camera: give ChromiumRunner(camera=FILE.y4m)")
        if frame_model is not None:
            options["frameModel"] = self.serve_dir(frame_model)
        return self.call("watchCamera", seconds, options)

    def new_page(self, path: str):
        """Another tab in this browser, opened at `path` on the runner's server (e.g. the demo)."""
        if self._context is None:
            raise RuntimeError("the runner is not open; use it as a context manager")
        page = self._context.new_page()
        page.goto(self._server.url + path, timeout=60_000)
        return page
