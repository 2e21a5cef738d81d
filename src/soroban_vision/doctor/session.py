"""One doctor run: check the arguments, gather the inputs, run every runtime once, then let the
checks read what was gathered. Checks never run a framework themselves except through runners."""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from soroban_vision import contract as contract_mod
from soroban_vision.doctor import compare, inputs
from soroban_vision.doctor.graph import GraphModel, read_graph
from soroban_vision.doctor.runtimes import (
    RUNTIMES,
    BrowserPreprocess,
    ChromiumJob,
    RuntimeResult,
    onnx_info,
    open_keras,
    open_onnx,
    parse_runtimes,
    run_keras,
    run_node,
    run_onnx,
)
from soroban_vision.errors import UsageError
from soroban_vision.preprocess import HEIGHT, WIDTH
from soroban_vision.runners.base import TensorInfo

BATCH = 64
COLUMN_INPUT = (HEIGHT, WIDTH, 1)


@dataclass
class Case:
    """Everything a check may read. Built once by `gather`; checks only add to `cache`."""

    keras_path: Path | None
    tfjs_path: Path | None
    onnx_path: Path | None
    requested: list[str]
    graph: GraphModel | None = None
    contract: dict | None = None
    keras_model: object | None = None  # a keras.Model, or the SavedModel wrapper
    declared: tuple[float, float] = (0.0, 1.0)
    range_source: str = "default"
    kind: str = "column"  # column: the soroban column model (or one shaped like it) | generic
    data: inputs.LabelledSet | None = None
    feeds: list[dict] = field(default_factory=list)
    input_names: list[str] = field(default_factory=list)
    runtimes: dict[str, RuntimeResult] = field(default_factory=dict)
    reference: str | None = None
    roles: dict[str, dict] = field(default_factory=dict)  # runtime id -> match_roles() answer
    browser: BrowserPreprocess = field(default_factory=BrowserPreprocess)
    browser_override: Callable | None = None
    workdir: Path | None = None
    notes: list[str] = field(default_factory=list)
    cache: dict = field(default_factory=dict)  # results one check computes and another reuses

    # ------------------------------------------------------------------ helpers for checks

    def ran(self) -> list[RuntimeResult]:
        return [r for r in self.runtimes.values() if r.ran]

    def runtime(self, rid: str) -> RuntimeResult | None:
        r = self.runtimes.get(rid)
        return r if r is not None and r.ran else None

    def role_map(self, rid: str) -> dict[str, str] | None:
        m = self.roles.get(rid)
        if m and not m["unmatched"]:
            return m["mapping"]
        return None

    def decision_runtime(self) -> RuntimeResult | None:
        """The runtime the doctor asks for extra answers: the float32 reference first (a broken
        quantized deployment is quantization's finding, not noise in every other check)."""
        for rid in ("keras", "onnxruntime", "tfjs-node"):
            r = self.runtime(rid)
            if r is not None and r.runner is not None and self.role_map(rid):
                return r
        return None

    def run_images(self, rid: str, x: np.ndarray) -> dict[str, np.ndarray]:
        """Extra images through a main-thread runtime, in batches, by its own output names."""
        from soroban_vision.doctor.runtimes import adapt

        r = self.runtimes[rid]
        names = [o.name for o in r.outputs] if rid == "tfjs-node" else None
        parts: dict[str, list] = {}
        for i in range(0, len(x), BATCH):
            feed = adapt({self.input_names[0]: x[i : i + BATCH]}, r.inputs)
            out = r.runner.run(feed, names) if names else r.runner.run(feed)
            for k, v in out.items():
                parts.setdefault(k, []).append(np.asarray(v))
        return {k: np.concatenate(v) for k, v in parts.items()}

    def model_json(self) -> dict:
        g = self.graph
        return {
            "keras": str(self.keras_path) if self.keras_path else None,
            "tfjs": str(self.tfjs_path) if self.tfjs_path else None,
            "onnx": str(self.onnx_path) if self.onnx_path else None,
            "contract": self.contract is not None,
            "kind": self.kind,
            "weights_precision": g.precision if g else None,
            "inputs": [_info(i) for i in (g.inputs if g else self._first_infos("inputs"))],
            "outputs": [_info(o) for o in (g.outputs if g else self._first_infos("outputs"))],
            "input_range": {"declared": list(self.declared), "source": self.range_source},
        }

    def _first_infos(self, key: str) -> list[TensorInfo]:
        for r in self.runtimes.values():
            if getattr(r, key):
                return getattr(r, key)
        return []


def _info(t: TensorInfo) -> dict:
    return {"name": t.name, "shape": [None if d is None else int(d) for d in t.shape], "dtype": t.dtype}


# --------------------------------------------------------------------------- arguments


def parse_range(text) -> tuple[float, float]:
    if isinstance(text, list | tuple):
        parts = list(text)
    else:
        parts = [p for p in str(text).replace("[", "").replace("]", "").split(",")]
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise UsageError(f"--input-range {text!r} is not LO,HI (for example 0,1 or -1,1)") from None
    if not lo < hi:
        raise UsageError(f"--input-range {text!r}: LO must be below HI")
    return lo, hi


def _check_paths(keras, tfjs, onnx, images) -> None:
    if keras is None and tfjs is None and onnx is None:
        raise UsageError("give a model to examine: --keras, --tfjs and/or --onnx")
    if keras is not None and not Path(keras).exists():
        raise UsageError(f"--keras {keras} does not exist (a .keras file or a SavedModel folder)")
    if onnx is not None and not Path(onnx).is_file():
        raise UsageError(f"--onnx {onnx} does not exist or is not a file")
    if tfjs is not None and not Path(tfjs).exists():
        raise UsageError(f"--tfjs {tfjs} does not exist (a TF.js graph model folder)")
    if images is not None and not Path(images).is_dir():
        raise UsageError(f"--images {images} does not exist or is not a folder")


def _is_column(infos: list[TensorInfo]) -> bool:
    if len(infos) != 1:
        return False
    shape = tuple(infos[0].shape)
    return (
        len(shape) == 4
        and tuple(shape[1:]) == COLUMN_INPUT
        and inputs.dtype_name(infos[0].dtype) in ("float32", "float")
    )


def _keras_inputs(model) -> list[TensorInfo]:
    from soroban_vision.runners.keras import KerasRunner

    return KerasRunner(model=model).inputs()


# --------------------------------------------------------------------------- gathering


def gather(
    stack: contextlib.ExitStack,
    keras=None,
    tfjs=None,
    onnx=None,
    images=None,
    input_range=None,
    runtimes=None,
    browser_preprocess=None,
    say: Callable[[str], None] = lambda _: None,
) -> Case:
    """Check the arguments (UsageError, exit 2), then run every requested runtime once."""
    _check_paths(keras, tfjs, onnx, images)
    case = Case(
        keras_path=Path(keras) if keras is not None else None,
        tfjs_path=Path(tfjs) if tfjs is not None else None,
        onnx_path=Path(onnx) if onnx is not None else None,
        requested=parse_runtimes(runtimes)
        if not isinstance(runtimes, list)
        else parse_runtimes(",".join(runtimes)),
        browser_override=browser_preprocess,
    )
    if case.tfjs_path is not None:
        case.graph = read_graph(case.tfjs_path)
        if (case.tfjs_path / contract_mod.FILENAME).is_file():
            case.contract = contract_mod.read(case.tfjs_path)
    if input_range is not None:
        case.declared, case.range_source = parse_range(input_range), "--input-range"
    elif case.contract is not None:
        case.declared, case.range_source = tuple(case.contract["input"].get("range", (0, 1))), "contract"
    case.declared = (float(case.declared[0]), float(case.declared[1]))
    case.workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sv-doctor-")))

    if case.graph is None and case.keras_path is not None:
        say(f"loading the Keras reference {case.keras_path}")
        case.keras_model = _load_keras(case.keras_path)
    infos = (
        case.graph.inputs
        if case.graph
        else _keras_inputs(case.keras_model)
        if case.keras_model is not None
        else _onnx_inputs(case.onnx_path)
    )
    case.input_names = [i.name.split(":")[0] for i in infos]
    case.kind = "column" if _is_column(infos) else "generic"
    if case.kind == "column":
        if images is not None:
            say(f"reading labelled images from {images}")
            case.data = inputs.folder_set(Path(images))
        else:
            say(f"rendering {inputs.RENDER_COUNT} labelled columns")
            case.data = inputs.render_set(case.workdir / "images")
        x = compare.apply_range(case.data.x01, case.declared)
        case.feeds = [{case.input_names[0]: x[i : i + BATCH]} for i in range(0, len(x), BATCH)]
    else:
        if images is not None:
            case.notes.append(f"--images ignored: the model's inputs ({_sig(infos)}) are not a 64x128 column")
        case.feeds = inputs.generated_feeds(infos, case.declared)
        case.notes.append(
            f"{len(case.feeds)} generated feeds (seed {inputs.GENERATED_SEED}): unknown dims -> 1, "
            f"float inputs uniform in {compare.fmt_range(case.declared)}, "
            f"int inputs uniform in [0,{inputs.INT_HIGH})"
        )

    results = {rid: RuntimeResult(rid) for rid in case.requested}
    onnx_runner = None
    if "onnxruntime" in results and case.onnx_path is not None:
        onnx_runner = open_onnx(case.onnx_path, results["onnxruntime"])  # unreadable -> exit 2, now
        if onnx_runner is not None:
            stack.callback(_close, onnx_runner)
    jobs = _start_chromium(case, browser_preprocess, say)
    try:
        if case.keras_model is None and case.keras_path is not None:
            say(f"loading the Keras reference {case.keras_path}")
            case.keras_model = _load_keras(case.keras_path)  # unreadable -> exit 2 (the browsers stop)
        if "keras" in results and case.keras_model is not None:
            say("running keras")
            runner = open_keras(case.keras_path, model=case.keras_model)
            results["keras"] = run_keras(runner, case.feeds, RuntimeResult("keras"))
        if onnx_runner is not None:
            say("running onnxruntime")
            run_onnx(onnx_runner, case.feeds, results["onnxruntime"])
        if "tfjs-node" in results and case.graph is not None:
            say("running TF.js in Node (wasm)")
            results["tfjs-node"] = run_node(
                case.tfjs_path, case.graph, case.feeds, RuntimeResult("tfjs-node")
            )
        for r in results.values():
            if r.runner is not None and r.runner is not onnx_runner:
                stack.callback(_close, r.runner)
    except BaseException:
        for job in jobs:
            job.cancel.set()
        for job in jobs:
            job.join()
        raise
    if jobs:
        say("waiting for Chromium")
    for job in jobs:
        job.join()
        results.update(job.results)
        if job.preprocess_files:
            case.browser = job.preprocess
    for rid, r in results.items():
        if r.status == "skipped" and not r.reason:
            r.reason = _why_not(rid, case)
    case.runtimes = {rid: results[rid] for rid in RUNTIMES if rid in results}
    ran = case.ran()
    case.reference = "keras" if case.runtime("keras") else (ran[0].id if ran else None)
    if case.kind == "column":
        specs = compare.role_specs(case.contract)
        for r in ran:
            case.roles[r.id] = compare.match_roles(specs, r.outputs)
    return case


def _start_chromium(case: Case, browser_preprocess, say) -> list[ChromiumJob]:
    """Chromium runs beside Python, on two pages in parallel. A page can switch backends, but
    webgl-f16 must start before WebGL does and rules out float32 WebGL afterwards: page one runs
    webgl and wasm and the browser library's preprocessing, page two webgl-f16 and then cpu."""
    chromium = [rid.removeprefix("chromium-") for rid in case.requested if rid.startswith("chromium-")]
    if not chromium or case.graph is None:
        return []
    want_preprocess = case.kind == "column" and case.contract is not None and browser_preprocess is None
    files = case.data.files if want_preprocess and case.data is not None else None
    first = [b for b in ("webgl", "wasm", "cpu") if b in chromium]
    second = ["webgl-f16"] if "webgl-f16" in chromium else []
    if second and "cpu" in first and (len(first) > 1 or files):
        first.remove("cpu")  # the slow pure-JS backend balances the two pages
        second.append("cpu")
    jobs = []
    if first or files:
        jobs.append(ChromiumJob(case.tfjs_path, case.graph, first, case.feeds, files, say))
    if second:
        jobs.append(ChromiumJob(case.tfjs_path, case.graph, second, case.feeds, None, say))
    say(f"starting Chromium ({', '.join(chromium)}) in the background")
    for job in jobs:
        job.start()
    return jobs


def _why_not(rid: str, case: Case) -> str:
    if rid == "keras":
        return "no --keras model given"
    if rid == "onnxruntime":
        return "no --onnx file given"
    return "no --tfjs model given"


def _sig(infos: list[TensorInfo]) -> str:
    return ", ".join(f"{i.name} {compare.shape_str(i.shape)} {i.dtype}" for i in infos)


def _close(runner) -> None:
    with contextlib.suppress(Exception):
        runner.close()


def _onnx_inputs(path: Path) -> list[TensorInfo]:
    from soroban_vision.runners.onnx import OnnxRunner

    r = OnnxRunner(path)
    try:
        return [onnx_info(i) for i in r.inputs()]
    finally:
        r.close()


def _load_keras(path: Path):
    """A keras.Model for a .keras file (or a folder holding one); the signature wrapper for a
    SavedModel folder. Unreadable -> UsageError."""
    from soroban_vision.runners.keras import KerasRunner

    return KerasRunner(path).model


# --------------------------------------------------------------------------- float32 reference weights


def cache_dir() -> Path:
    import os

    root = os.environ.get("SOROBAN_VISION_CACHE") or Path.home() / ".cache" / "soroban-vision"
    return Path(root) / "doctor"


def _digest(path: Path) -> str:
    """SHA-256 of the reference itself: the .keras file (also inside a run folder), or a
    SavedModel's graph and variables; not everything else a training folder may hold."""
    if path.is_dir() and (path / "saved_model.pb").is_file():
        files = [path / "saved_model.pb", *sorted((path / "variables").glob("*"))]
    elif path.is_dir():
        files = [next(c for c in [path / "model.keras", *sorted(path.glob("*.keras"))] if c.is_file())]
    else:
        files = [path]
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(contract_mod.sha256_file(f).encode())
    return h.hexdigest()[:20]


def float32_graph(case: Case, say: Callable[[str], None] = lambda _: None) -> Path:
    """The Keras reference converted to a float32 graph model by the same converter, so its
    tensors carry the deployed model's names. Cached by the reference's SHA-256."""
    from soroban_vision.export import convert, saved_model

    target = cache_dir() / f"float32-{_digest(case.keras_path)}"
    if (target / "model.json").is_file():
        return target
    say("converting the Keras reference to float32 TF.js weights (cached for next time)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sv-doctor-f32-", dir=target.parent) as tmp:
        tmp = Path(tmp)
        if hasattr(case.keras_model, "fn"):  # already a SavedModel folder
            saved = case.keras_path
        else:
            saved = saved_model(case.keras_model, tmp / "saved")
        convert(saved, tmp / "float32", "float32")
        with contextlib.suppress(OSError):  # another doctor may have finished first
            (tmp / "float32").rename(target)
    return target
