"""One doctor run's gathering: check the arguments, gather the inputs, run every runtime once,
then make the measurements the checks need (measure.py). The checks only read what was gathered."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path

from soroban_vision import contract as contract_mod
from soroban_vision.doctor import compare, frame_folder, frame_scenes, inputs
from soroban_vision.doctor.facts import Facts
from soroban_vision.doctor.graph import read_graph
from soroban_vision.doctor.measure import BATCH, measure
from soroban_vision.doctor.runtimes import (
    RUNTIMES,
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

COLUMN_INPUT = (HEIGHT, WIDTH, 1)


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
        raise UsageError("give a model to examine: --keras, --tfjs and/or --onnx, or --frame DIR")
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


def _is_frame(infos: list[TensorInfo]) -> bool:
    from soroban_vision.frame.input import HEIGHT as FRAME_HEIGHT
    from soroban_vision.frame.input import WIDTH as FRAME_WIDTH

    return len(infos) == 1 and tuple(infos[0].shape)[1:] == (FRAME_HEIGHT, FRAME_WIDTH, 1)


def _frame_folder(frame, keras, tfjs, onnx) -> tuple:
    """--frame DIR: its model files (checked, one line per problem) in place of --keras/--tfjs/--onnx."""
    if frame is None:
        return keras, tfjs, onnx
    if keras is not None or tfjs is not None or onnx is not None:
        raise UsageError("--frame DIR names the model files itself: leave out --keras, --tfjs and --onnx")
    found = frame_folder.resolve(frame)
    return found["keras"], found["tfjs"], found["onnx"]


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
    frame=None,
    scenes=None,
) -> Facts:
    """Check the arguments (UsageError, exit 2), run every requested runtime once, then measure
    what the checks need beyond the runtimes' answers."""
    keras, tfjs, onnx = _frame_folder(frame, keras, tfjs, onnx)
    _check_paths(keras, tfjs, onnx, images)
    if scenes is not None and not Path(scenes).is_dir():
        raise UsageError(f"--scenes {scenes} does not exist or is not a folder", code="no_scenes")
    facts = _describe(keras, tfjs, onnx, input_range, runtimes, browser_preprocess)
    facts.workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sv-doctor-")))
    if facts.graph is None and facts.keras_path is not None:
        say(f"loading the Keras reference {facts.keras_path}")
        facts.keras_model = _load_keras(facts.keras_path)
    _inputs(facts, images, scenes, say)
    _run(stack, facts, say)
    measure(facts, say)
    return facts


def _describe(keras, tfjs, onnx, input_range, runtimes, browser_preprocess) -> Facts:
    """The facts the arguments give: paths, runtimes asked for, the graph model, its contract and
    the declared input range."""
    facts = Facts(
        keras_path=Path(keras) if keras is not None else None,
        tfjs_path=Path(tfjs) if tfjs is not None else None,
        onnx_path=Path(onnx) if onnx is not None else None,
        requested=parse_runtimes(runtimes)
        if not isinstance(runtimes, list)
        else parse_runtimes(",".join(runtimes)),
        browser_override=browser_preprocess,
    )
    if facts.tfjs_path is not None:
        facts.graph = read_graph(facts.tfjs_path)
        if not facts.graph.signed:
            facts.notes.append(
                "model.json has no signature (an older converter): inputs from its Placeholder nodes "
                f"({_sig(facts.graph.inputs)}), outputs from the nodes nothing consumes "
                f"({', '.join(o.name for o in facts.graph.outputs) or 'none'})"
            )
        if (facts.tfjs_path / contract_mod.FILENAME).is_file():
            facts.contract = contract_mod.read(facts.tfjs_path)
    facts.frame_contract = frame_folder.contract_near(keras, tfjs, onnx)
    if facts.frame_contract is not None and facts.tfjs_path is not None and facts.contract is not None:
        frame_folder.check_listed_files(facts.contract, facts.tfjs_path, str(facts.tfjs_path))
    if input_range is not None:
        facts.declared, facts.range_source = parse_range(input_range), "--input-range"
    elif facts.contract is not None:
        facts.declared, facts.range_source = tuple(facts.contract["input"].get("range", (0, 1))), "contract"
    facts.declared = (float(facts.declared[0]), float(facts.declared[1]))
    return facts


def _inputs(facts: Facts, images, scenes, say) -> None:
    """What to feed: labelled columns for a column model, photos with their true corners for a
    frame model, seeded random tensors otherwise."""
    infos = (
        facts.graph.inputs
        if facts.graph
        else _keras_inputs(facts.keras_model)
        if facts.keras_model is not None
        else _onnx_inputs(facts.onnx_path)
    )
    facts.input_names = [i.name.split(":")[0] for i in infos]
    facts.kind = "column" if _is_column(infos) else "generic"
    if facts.frame_contract is not None or (
        facts.kind == "generic" and facts.contract is None and _is_frame(infos)
    ):
        facts.kind = "frame"
    if scenes is not None and facts.kind != "frame":
        facts.notes.append(f"--scenes ignored: {_sig(infos)} is not a frame model's input")
    if facts.kind == "frame":
        _frame_inputs(facts, images, scenes, say)
    elif facts.kind == "column":
        if images is not None:
            say(f"reading labelled images from {images}")
            facts.data = inputs.folder_set(Path(images))
        else:
            say(f"rendering {inputs.RENDER_COUNT} labelled columns")
            facts.data = inputs.render_set(facts.workdir / "images")
        facts.feeds = _batched(facts, facts.data.x01)
    else:
        if images is not None:
            facts.notes.append(
                f"--images ignored: the model's inputs ({_sig(infos)}) are not a 64x128 column"
            )
        facts.feeds = inputs.generated_feeds(infos, facts.declared)
        facts.notes.append(
            f"{len(facts.feeds)} generated feeds (seed {inputs.GENERATED_SEED}): unknown dims -> 1, "
            f"float inputs uniform in {compare.fmt_range(facts.declared)}, "
            f"int inputs uniform in [0,{inputs.INT_HIGH})"
        )


def _frame_inputs(facts: Facts, images, scenes, say) -> None:
    if images is not None:
        facts.notes.append("--images ignored: a frame model takes photos (--scenes DIR)")
    if scenes is not None:
        say(f"reading the scenes in {scenes}")
        facts.scenes = frame_scenes.folder_scene_set(Path(scenes))
    else:
        say(f"rendering {frame_scenes.RENDER_SCENES} scenes and {frame_scenes.RENDER_TABLES} tables")
        facts.scenes = frame_scenes.render_scene_set(facts.workdir / "scenes")
    facts.feeds = _batched(facts, facts.scenes.x01)


def _batched(facts: Facts, x01) -> list[dict]:
    """Images in [0,1] as feeds: scaled to the model's declared input range, BATCH at a time."""
    x = compare.apply_range(x01, facts.declared)
    return [{facts.input_names[0]: x[i : i + BATCH]} for i in range(0, len(x), BATCH)]


def _run(stack: contextlib.ExitStack, facts: Facts, say) -> None:
    """Every requested runtime over the feeds: Chromium in the background, the others here."""
    results = {rid: RuntimeResult(rid) for rid in facts.requested}
    onnx_runner = None
    if "onnxruntime" in results and facts.onnx_path is not None:
        onnx_runner = open_onnx(facts.onnx_path, results["onnxruntime"])  # unreadable -> exit 2, now
        if onnx_runner is not None:
            stack.callback(_close, onnx_runner)
    jobs = _start_chromium(facts, say)
    try:
        if facts.keras_model is None and facts.keras_path is not None:
            say(f"loading the Keras reference {facts.keras_path}")
            facts.keras_model = _load_keras(facts.keras_path)  # unreadable -> exit 2 (the browsers stop)
        if "keras" in results and facts.keras_model is not None:
            say("running keras")
            runner = open_keras(facts.keras_path, model=facts.keras_model)
            results["keras"] = run_keras(runner, facts.feeds, RuntimeResult("keras"))
        if onnx_runner is not None:
            say("running onnxruntime")
            run_onnx(onnx_runner, facts.feeds, results["onnxruntime"])
        if "tfjs-node" in results and facts.graph is not None:
            say("running TF.js in Node (wasm)")
            results["tfjs-node"] = run_node(
                facts.tfjs_path, facts.graph, facts.feeds, RuntimeResult("tfjs-node")
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
            facts.browser = job.preprocess
    _settle(facts, results)


def _settle(facts: Facts, results: dict[str, RuntimeResult]) -> None:
    """Every runtime's result in the report's order, the reference, and each one's roles."""
    for rid, r in results.items():
        if r.status == "skipped" and not r.reason:
            r.reason = _why_not(rid)
    facts.runtimes = {rid: results[rid] for rid in RUNTIMES if rid in results}
    ran = facts.ran()
    facts.reference = "keras" if facts.runtime("keras") else (ran[0].id if ran else None)
    if facts.kind in ("column", "frame"):
        specs = facts.role_specs()
        for r in ran:
            facts.roles[r.id] = compare.match_roles(specs, r.outputs)


def _start_chromium(facts: Facts, say) -> list[ChromiumJob]:
    """Chromium runs beside Python, on two pages in parallel. A page can switch backends, but
    webgl-f16 must start before WebGL does and rules out float32 WebGL afterwards: page one runs
    webgl and wasm and the browser library's preprocessing, page two webgl-f16 and then cpu."""
    chromium = [rid.removeprefix("chromium-") for rid in facts.requested if rid.startswith("chromium-")]
    if not chromium or facts.graph is None:
        return []
    want_preprocess = facts.kind in ("column", "frame") and facts.contract is not None
    want_preprocess = want_preprocess and facts.browser_override is None
    data = facts.scenes if facts.kind == "frame" else facts.data
    files = data.files if want_preprocess and data is not None else None
    first = [b for b in ("webgl", "wasm", "cpu") if b in chromium]
    second = ["webgl-f16"] if "webgl-f16" in chromium else []
    if second and "cpu" in first and (len(first) > 1 or files):
        first.remove("cpu")  # the slow pure-JS backend balances the two pages
        second.append("cpu")
    jobs = []
    if first or files:
        job = ChromiumJob(facts.tfjs_path, facts.graph, first, facts.feeds, files, say)
        job.frame = facts.kind == "frame"
        jobs.append(job)
    if second:
        jobs.append(ChromiumJob(facts.tfjs_path, facts.graph, second, facts.feeds, None, say))
    say(f"starting Chromium ({', '.join(chromium)}) in the background")
    for job in jobs:
        job.start()
    return jobs


def _why_not(rid: str) -> str:
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
