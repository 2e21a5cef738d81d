"""Every runtime the doctor knows, behind the Runner interface: which can run here, and running
the same feeds through each. Chromium works in background threads beside Python: one page
switches between backends, a second one is needed for webgl-f16, which must start before
WebGL does."""

from __future__ import annotations

import contextlib
import re
import shutil
import statistics
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from soroban_vision.doctor.jsonable import tensor_json
from soroban_vision.errors import SorobanError, UsageError
from soroban_vision.runners.base import TensorInfo

RUNTIMES = (
    "keras",
    "onnxruntime",
    "tfjs-node",
    "chromium-cpu",
    "chromium-wasm",
    "chromium-webgl",
    "chromium-webgl-f16",
)
PREPROCESS_CHUNK = 50


@dataclass
class RuntimeResult:
    """One runtime's run over the doctor's inputs."""

    id: str
    status: str = "skipped"  # ran | skipped | failed
    reason: str = ""
    weights: str | None = None  # the precision of the weights it runs: float32 | float16 | uint8 | mixed
    compute: str = "float32"  # float16 for WebGL with half-float textures
    inputs: list[TensorInfo] = field(default_factory=list)
    outputs: list[TensorInfo] = field(default_factory=list)  # its own order; shapes as measured
    values: dict[str, np.ndarray] | None = None
    ms: list[float] = field(default_factory=list)
    runner: object | None = None  # main-thread runtimes stay open for follow-up runs

    @property
    def ran(self) -> bool:
        return self.status == "ran"

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "status": self.status,
            "reason": self.reason,
            "weights": self.weights,
            "compute": self.compute,
            "inputs": [tensor_json(i) for i in self.inputs],
            "outputs": [tensor_json(o) for o in self.outputs],
            "median_ms_per_batch": statistics.median(self.ms) if self.ms else None,
            "batches": len(self.ms),
        }


def parse_runtimes(text: str | None) -> list[str]:
    if text is None or text.strip() in ("", "all"):
        return list(RUNTIMES)
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in RUNTIMES]
    if unknown:
        raise UsageError(f"unknown runtime(s) {', '.join(unknown)}; choose from: {', '.join(RUNTIMES)}")
    return [r for r in RUNTIMES if r in names]


# --------------------------------------------------------------------------- feeding


def adapt(feed: dict[str, np.ndarray], inputs: list[TensorInfo]) -> dict[str, np.ndarray]:
    """The feed under this runtime's input names: by name, else by position."""
    names = [i.name.split(":")[0] for i in inputs]
    if not inputs or set(feed) <= set(names):
        return feed
    if len(feed) != len(inputs):
        raise SorobanError(f"the runtime takes inputs {names}, the doctor has {list(feed)}")
    return dict(zip(names, feed.values(), strict=True))


def run_feeds(runner, feeds: list[dict], output_names: list[str] | None, result: RuntimeResult) -> None:
    """Run every feed, join the outputs along the batch axis, record shapes and timing."""
    parts: dict[str, list[np.ndarray]] = {}
    for feed in feeds:
        feed = adapt(feed, result.inputs)
        out = runner.run(feed, output_names) if output_names is not None else runner.run(feed)
        result.ms.append(float(getattr(runner, "last_ms", 0.0)))
        for k, v in out.items():
            parts.setdefault(k, []).append(np.asarray(v))
    result.values = {k: np.concatenate(v) if v[0].ndim else np.stack(v) for k, v in parts.items()}
    measured = {k: (None, *np.shape(parts[k][0])[1:]) if np.ndim(parts[k][0]) else () for k in parts}
    order = [o.name for o in result.outputs] or list(parts)
    order += [k for k in parts if k not in order]
    dtype = {o.name: o.dtype for o in result.outputs}
    result.outputs = [
        TensorInfo(k, measured[k], dtype.get(k) or str(result.values[k].dtype)) for k in order if k in parts
    ]
    result.status = "ran"


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:240]


def runtime_reason(e: BaseException) -> str:
    """The error without the page's name: a page opened on one backend runs the others too, so
    its 'tfjs-chromium-wasm: ' would mislabel a chromium-cpu failure; the result's id labels it."""
    return re.sub(r"^tfjs-chromium-[\w-]+: ", "", _first_line(e))


# --------------------------------------------------------------------------- main-thread runtimes


def open_keras(path: Path, model=None):
    from soroban_vision.runners.keras import KerasRunner

    return KerasRunner(path, model=model)


def run_float32(runner, feeds, result: RuntimeResult, info=lambda t: t) -> RuntimeResult:
    """A float32 runtime (Keras, ONNX Runtime) over every feed; `info` maps its tensor infos."""
    result.weights = "float32"
    result.inputs = [info(i) for i in runner.inputs()]
    result.outputs = [info(o) for o in runner.outputs()]
    try:
        run_feeds(runner, feeds, None, result)
        result.runner = runner
    except Exception as e:
        result.status, result.reason = "failed", _first_line(e)
    return result


def run_keras(runner, feeds, result: RuntimeResult) -> RuntimeResult:
    return run_float32(runner, feeds, result)


def open_onnx(path: Path, result: RuntimeResult):
    """An ONNX Runtime session, or None (with the reason) when onnxruntime is not installed.
    A bad path or an unreadable file is the user's error: UsageError, exit 2."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        result.reason = "onnxruntime is not installed"
        return None
    from soroban_vision.runners.onnx import OnnxRunner

    return OnnxRunner(path)


def run_onnx(runner, feeds, result: RuntimeResult) -> RuntimeResult:
    return run_float32(runner, feeds, result, onnx_info)


def onnx_info(t: TensorInfo) -> TensorInfo:
    """ONNX spells unknown dims as names ('unk__12') and dtypes as 'tensor(float)'."""
    from soroban_vision.doctor.inputs import dtype_name

    return TensorInfo(t.name, tuple(d if isinstance(d, int) else None for d in t.shape), dtype_name(t.dtype))


def node_available() -> str | None:
    """Why TF.js in Node cannot run here, or None."""
    from soroban_vision.runners.node import WEB

    if shutil.which("node") is None:
        return "node is not on PATH"
    if not (WEB / "node_modules" / "@tensorflow" / "tfjs").is_dir():
        return "web/node_modules has no @tensorflow/tfjs (in a checkout, run `make setup`)"
    return None


def run_node(model_dir: Path, graph, feeds, result: RuntimeResult) -> RuntimeResult:
    from soroban_vision.runners.node import NodeRunner

    why = node_available()
    if why:
        result.reason = why
        return result
    result.weights = graph.precision
    result.inputs, result.outputs = list(graph.inputs), list(graph.outputs)
    try:
        runner = NodeRunner(model_dir, backend="wasm")
    except Exception as e:
        result.status, result.reason = "failed", f"TF.js cannot load the model: {_first_line(e)}"
        return result
    try:
        run_feeds(runner, feeds, [o.name for o in graph.outputs], result)
        result.runner = runner
    except Exception as e:
        result.status, result.reason = "failed", _first_line(e)
        runner.close()
    return result


# --------------------------------------------------------------------------- Chromium


@dataclass
class BrowserPreprocess:
    status: str = "skipped"  # ran | skipped | refused
    reason: str = ""
    x01: np.ndarray | None = None
    outputs: dict[str, np.ndarray] | None = None  # a frame model's: the library's own answers, by role


class ChromiumJob(threading.Thread):
    """One Chromium page in a background thread, switching between backends, while Python runs
    the other runtimes. Playwright's sync API is bound to the thread that started it, so all of
    this page's work happens here."""

    def __init__(
        self,
        model_dir: Path,
        graph,
        backends: list[str],
        feeds: list[dict],
        preprocess_files: list[Path] | None,
        say=lambda _: None,
    ):
        super().__init__(name="doctor-chromium", daemon=True)
        self.say = say
        self.model_dir, self.graph, self.feeds = model_dir, graph, feeds
        self.backends = list(backends)  # in the order one page runs them: the first one opens it
        self.preprocess_files = preprocess_files
        self.results = {
            f"chromium-{b}": RuntimeResult(
                f"chromium-{b}",
                weights=graph.precision,
                compute="float16" if b == "webgl-f16" else "float32",
                inputs=list(graph.inputs),
                outputs=list(graph.outputs),
            )
            for b in self.backends
        }
        self.preprocess = BrowserPreprocess()
        self.error: BaseException | None = None
        self.cancel = threading.Event()  # set by the main thread when the run is abandoned
        self.frame = False  # a frame model: the page runs the frame detector on the photos

    def run(self) -> None:
        try:
            self._run()
        except BaseException as e:  # reported by the main thread
            self.error = e
            if self.preprocess_files and self.preprocess.status == "skipped":
                self.preprocess.reason = self.preprocess.reason or f"Chromium failed: {_first_line(e)}"
            for r in self.results.values():
                if r.status == "skipped" and not r.reason:
                    r.status, r.reason = "failed", runtime_reason(e)

    def _run(self) -> None:
        import importlib.util

        from soroban_vision.runners.chromium import find_chromium

        try:
            if importlib.util.find_spec("playwright") is None:  # a base install: skipped, not failed
                raise UsageError("Playwright is not installed: pip install 'soroban-vision[browser]'")
            find_chromium()
        except UsageError as e:
            for r in self.results.values():
                r.reason = str(e)
            self.preprocess.reason = str(e)
            return
        if self.backends or self.preprocess_files:
            self._page(self.backends)

    def _page(self, backends: list[str]) -> None:
        from soroban_vision.runners.chromium import ChromiumRunner

        names = [o.name for o in self.graph.outputs]
        todo = list(backends) or ["wasm"]
        runner = None
        with contextlib.ExitStack() as stack:
            while todo and runner is None:  # a backend that cannot load the model must not stop the others
                first = todo[0]
                self.say(f"chromium: opening a page on {first}")
                try:
                    runner = stack.enter_context(ChromiumRunner(self.model_dir, first, contract=False))
                except SorobanError as e:
                    if first in backends:
                        self._fail(first, runtime_reason(e), "TF.js cannot load the model: ")
                    todo.pop(0)
                    if not backends and self.preprocess_files:
                        self.preprocess.status, self.preprocess.reason = "refused", runtime_reason(e)
                        return
            if runner is None:
                return
            for i, b in enumerate(todo if backends else []):
                result = self.results[f"chromium-{b}"]
                if self.cancel.is_set():
                    return
                self.say(f"chromium: running {b}")
                try:
                    if i > 0:
                        runner.call("loadGraph", "/model/model.json", b)
                    run_feeds(runner, self.feeds, names, result)
                except Exception as e:
                    self._fail(b, runtime_reason(e))
            if self.preprocess_files and not self.cancel.is_set():
                self._preprocess(runner)

    def _fail(self, backend: str, reason: str, prefix: str = "") -> None:
        r = self.results[f"chromium-{backend}"]
        # a backend this browser does not offer (no WebGL here) cannot run: skipped, not failed
        if re.search(r"backend .*(not available|failed to start|not registered)", reason):
            r.status, r.reason = "skipped", reason
        else:
            r.status, r.reason = "failed", prefix + reason

    def _preprocess(self, runner) -> None:
        """The browser library's own preprocessing of the image files, as a web page runs it."""
        if self.frame:
            self._frame(runner)
            return
        self.say("chromium: preprocessing the image files with the browser library")
        try:
            runner.call("load", "/model/", "wasm", {})
        except SorobanError as e:
            self.preprocess.status, self.preprocess.reason = "refused", runtime_reason(e)
            return
        files = self.preprocess_files
        parts = [
            runner.preprocess(files[i : i + PREPROCESS_CHUNK]) for i in range(0, len(files), PREPROCESS_CHUNK)
        ]
        self.preprocess.status, self.preprocess.x01 = "ran", np.concatenate(parts)

    def _frame(self, runner) -> None:
        from soroban_vision.doctor.frame_browser import detect

        self.say("chromium: the browser library's frame detector on the photos")
        answer = detect(runner, self.preprocess_files)
        if "refused" in answer:
            self.preprocess.status, self.preprocess.reason = "refused", answer["refused"]
            return
        self.preprocess.status, self.preprocess.x01 = "ran", answer["x01"]
        self.preprocess.outputs = {"corners": answer["corners"], "frame": answer["frame"]}
