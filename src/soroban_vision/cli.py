"""The `soroban-vision` command. Thin: each command parses its arguments and calls the library."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from soroban_vision.errors import SorobanError


def fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class Cli(click.Group):
    """Every error the user can cause is one line on stderr and a non-zero exit, never a traceback."""

    def main(self, args=None, prog_name=None, **kwargs):
        try:
            rv = super().main(args=args, prog_name=prog_name, standalone_mode=False, **kwargs)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        except click.exceptions.Abort:
            fail("aborted", 130)
        except click.UsageError as e:
            hint = f" (see '{e.ctx.command_path} --help')" if e.ctx else ""
            fail(f"{e.format_message()}{hint}", 2)
        except click.ClickException as e:
            fail(e.format_message(), e.exit_code or 1)
        except SorobanError as e:
            fail(str(e), e.code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except Exception as e:
            if os.environ.get("SOROBAN_DEBUG"):
                raise
            first = (str(e).strip().splitlines() or [""])[0][:200]
            fail(f"internal error: {type(e).__name__}: {first} (set SOROBAN_DEBUG=1 for the traceback)", 1)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="soroban-vision")
def main() -> None:
    """Read the digits on a soroban from camera images, in Python and in the browser."""


def _warn(lines) -> None:
    for line in lines:
        click.echo(f"warning: {line}", err=True)


@main.command()
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="A fresh folder for DIR/{digit}/*.png."
)
@click.option("--per-digit", type=click.IntRange(min=1), required=True, help="Images of each digit 0-9.")
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives identical bytes.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes (default: all cores).")
@click.option("--preview", type=click.Path(path_type=Path), help="Also write a labelled contact sheet PNG.")
def render(out: Path, per_digit: int, seed: int, workers: int | None, preview: Path | None) -> None:
    """Render a labelled synthetic dataset of 64x128 column crops, with a manifest."""
    from tqdm import tqdm

    from soroban_vision import data

    with tqdm(total=per_digit * 10, unit="col", desc="render", file=sys.stderr, disable=None) as bar:
        manifest = data.write_dataset(out, per_digit, seed, workers=workers, progress=bar.update)
    click.echo(f"wrote {len(manifest['items'])} columns to {out}/{{0..9}}/ and {out / data.MANIFEST}")
    if preview:
        data.preview(out, manifest).save(preview)
        click.echo(f"preview: {preview}")


@main.command("render-scenes")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="A fresh folder for scene PNGs.")
@click.option("--count", type=click.IntRange(min=1), required=True, help="How many scenes.")
@click.option(
    "--columns", type=click.IntRange(min=1, max=17), default=13, show_default=True, help="Rods, 1-17."
)
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives identical bytes.")
@click.option(
    "--markers/--no-markers",
    default=False,
    show_default=True,
    help="ArUco DICT_4X4_50 markers, ids 0-3 clockwise from top-left, outside the frame corners.",
)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes (default: all cores).")
def render_scenes(out: Path, count: int, columns: int, seed: int, markers: bool, workers: int | None) -> None:
    """Render whole-soroban photos with ground truth: number, frame corners, column quads."""
    from tqdm import tqdm

    from soroban_vision.render.scene import write_scenes

    with tqdm(total=count, unit="scene", desc="render-scenes", file=sys.stderr, disable=None) as bar:
        manifest = write_scenes(out, count, columns, seed, markers, workers=workers, progress=bar.update)
    click.echo(f"wrote {len(manifest['items'])} scenes to {out}/ with {out / 'manifest.json'}")


@main.command()
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The sheet, a new .png file.")
@click.option(
    "--side-mm",
    type=float,
    default=15.0,
    show_default=True,
    help="Printed width of each marker's black square (about one rod pitch).",
)
@click.option("--dpi", type=int, default=300, show_default=True, help="Printer resolution.")
def markers(out: Path, side_mm: float, dpi: int) -> None:
    """Write a printable A4 sheet of the four frame markers (ArUco 4x4, ids 0-3)."""
    from soroban_vision.render.markers import write_marker_sheet

    path = write_marker_sheet(out, side_mm, dpi)
    click.echo(
        f"wrote {path}: print at 100%, then stick ids 0-3 on the frame's corners, clockwise from the top-left"
    )


@main.command("bench-render")
@click.option(
    "--count", type=click.IntRange(min=10), default=2000, show_default=True, help="Columns per measurement."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes for the parallel run (default: all cores).",
)
def bench_render(count: int, workers: int | None) -> None:
    """Measure rendering speed in columns per second, single process and with all cores."""
    from soroban_vision.render.bench import measure

    workers = workers or os.cpu_count() or 1
    for row in measure(count, workers):
        click.echo(
            f"{row['processes']:>2} process(es): {row['columns_per_s']:8.0f} columns/s "
            f"({row['count']} columns in {row['seconds']:.2f} s)"
        )


def _quiet_tensorflow() -> None:
    """TensorFlow's C++ start-up chatter (no GPU here, plugin registration) is not for users;
    real failures still surface as Python exceptions."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)


@main.command()
@click.option(
    "--data",
    "data_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A {digit}/*.png folder; repeat to mix sources (synthetic + real).",
)
@click.option(
    "--manifest", type=click.Path(path_type=Path), help="Train only on the items this manifest lists."
)
@click.option("--synthetic", type=click.IntRange(min=0), default=0, help="Also render N columns to train on.")
@click.option("--arch", default="compact", show_default=True, help="compact | mobilenetv2")
@click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--val-split", type=float, default=0.15, show_default=True)
@click.option("--learning-rate", type=float, default=3e-3, show_default=True)
@click.option(
    "--patience",
    type=click.IntRange(min=1),
    default=6,
    show_default=True,
    help="Epochs without val_loss improvement before stopping.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="Folder for model.keras and its evidence."
)
@click.option(
    "--stop-file",
    type=click.Path(path_type=Path),
    help="When this file appears, stop after the current batch and keep the best weights.",
)
@click.option(
    "--distribute",
    type=click.Choice(["mirrored", "multiworker"]),
    help="Use a tf.distribute strategy (many GPUs, or many machines via TF_CONFIG).",
)
@click.option("--weights", type=click.Path(path_type=Path), help="Local backbone weights for mobilenetv2.")
@click.option(
    "--cache-limit-mb",
    type=click.IntRange(min=0),
    default=512,
    show_default=True,
    help="Cache decoded images in memory only when they fit in this budget.",
)
@click.option(
    "--deterministic",
    is_flag=True,
    help="TensorFlow op determinism: the same seed and data give the same weights (slower).",
)
@click.option(
    "--json-progress", is_flag=True, help="Print newline-delimited JSON events instead of a progress bar."
)
def train(
    data_dirs,
    manifest,
    synthetic,
    arch,
    epochs,
    batch_size,
    val_split,
    learning_rate,
    patience,
    seed,
    out,
    stop_file,
    distribute,
    weights,
    cache_limit_mb,
    deterministic,
    json_progress,
) -> None:
    """Train a two-head column model on one or more labelled folders."""
    _quiet_tensorflow()
    from soroban_vision import train as training

    cfg = training.TrainConfig(
        data=[str(d) for d in data_dirs],
        manifest=str(manifest) if manifest else None,
        synthetic=synthetic,
        arch=arch,
        epochs=epochs,
        batch_size=batch_size,
        val_split=val_split,
        learning_rate=learning_rate,
        patience=patience,
        seed=seed,
        out=str(out),
        stop_file=str(stop_file) if stop_file else None,
        distribute=distribute,
        weights=str(weights) if weights else None,
        cache_limit_mb=cache_limit_mb,
        deterministic=deterministic,
    )
    reporter = training.JsonReporter() if json_progress else training.HumanReporter()
    metrics = training.train(cfg, reporter)
    if not json_progress:
        v = metrics["val"]
        click.echo(
            f"model: {out / 'model.keras'}  val digit accuracy {v['digit_accuracy']:.4f} "
            f"(heaven {v['heaven_accuracy']:.4f}, earth {v['earth_accuracy']:.4f}, n={metrics['n_val']})"
        )


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--data",
    "data_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    required=True,
    help="A labelled {digit}/*.png folder (repeatable).",
)
@click.option(
    "--manifest", type=click.Path(path_type=Path), help="Evaluate only the items this manifest lists."
)
@click.option("--json", "json_out", is_flag=True, help="Print the result as JSON.")
@click.option("--plot", type=click.Path(path_type=Path), help="Write the confusion matrix as a PNG.")
@click.option("--worst", type=click.Path(path_type=Path), help="Write a contact sheet of the worst mistakes.")
def evaluate(model, data_dirs, manifest, json_out, plot, worst) -> None:
    """Accuracy of MODEL (a .keras file or a folder holding one) on labelled images."""
    _quiet_tensorflow()
    import json

    from soroban_vision import evaluate as ev
    from soroban_vision.model import load_model

    result = ev.evaluate(load_model(model), data_dirs, manifest=manifest)
    _warn(result["warnings"])
    if plot:
        from soroban_vision.report import plot_confusion

        plot_confusion(__import__("numpy").array(result["confusion"]), plot, f"{model}")
    if worst:
        sheet = ev.worst_sheet(result)
        if sheet is not None:
            sheet.save(worst)
    if json_out:
        click.echo(json.dumps({k: v for k, v in result.items() if k != "warnings"}, indent=1))
        return
    click.echo(
        f"images {result['n']}   digit accuracy {result['digit_accuracy']:.4f}   "
        f"heaven {result['heaven_accuracy']:.4f}   earth {result['earth_accuracy']:.4f}   "
        f"errors {result['errors']}"
    )
    click.echo(ev.confusion_table(result["confusion"]))


@main.command()
@click.argument("images", nargs=-1, type=click.Path(path_type=Path), required=True)
@click.option(
    "--model",
    type=click.Path(path_type=Path),
    default=None,
    help="A .keras file or a model folder (default: the shipped models/column).",
)
@click.option("--json", "json_out", is_flag=True, help="Print the result as JSON.")
def classify(images, model, json_out) -> None:
    """Read the digit on single column images (any size, any colour mode)."""
    _quiet_tensorflow()
    import json

    from soroban_vision.reader import ColumnReader

    results = ColumnReader.open(model).read_files(images)
    if json_out:
        click.echo(json.dumps(results, indent=1))
        return
    for r in results:
        h, e = r["heaven"], r["earth"]
        click.echo(
            f"{r['file']}: {r['digit']}  confidence {r['confidence']:.3f}  "
            f"heaven {'down' if h['active'] else 'up'} (p={h['p']:.3f})  earth {e['count']} "
            f"(p={max(e['probs']):.3f})"
        )


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="A fresh folder for the export.")
@click.option(
    "--precision",
    type=click.Choice(["float32", "float16", "uint8"]),
    default="float32",
    show_default=True,
    help="Weight precision; float16/uint8 are checked against float32 first.",
)
@click.option("--format", "fmt", type=click.Choice(["tfjs", "onnx"]), default="tfjs", show_default=True)
@click.option(
    "--check-data",
    type=click.Path(path_type=Path),
    help="Labelled folder for the precision check (default: 1,000 freshly rendered columns).",
)
@click.option("--force", is_flag=True, help="Write a quantized export even if it changes answers (recorded).")
def export(model, out, precision, fmt, check_data, force) -> None:
    """Export MODEL for the browser (TF.js graph model) or ONNX Runtime, with contract.json."""
    _quiet_tensorflow()
    from soroban_vision.export import export as run

    run(model, out, precision=precision, fmt=fmt, force=force, check_data=check_data, say=click.echo)


def _reading_options(command):
    """--columns, --markers and --model, shared by `read` and `evaluate-scenes`."""
    options = [
        click.option(
            "--columns",
            type=click.IntRange(min=1, max=17),
            default=None,
            help="Rods on the soroban (default: detected from the rod spacing).",
        ),
        click.option(
            "--markers",
            type=click.Choice(["auto", "on", "off"]),
            default="auto",
            show_default=True,
            help="Find the frame from ArUco markers (on), from its outline (off), or either (auto).",
        ),
        click.option(
            "--model",
            type=click.Path(path_type=Path),
            default=None,
            help="Column model: a .keras file or a model folder (default: the shipped models/column).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@main.command()
@click.argument("images", nargs=-1, type=click.Path(path_type=Path), required=True)
@_reading_options
@click.option("--json", "json_out", is_flag=True, help="Print the readings as JSON.")
@click.option(
    "--annotate",
    type=click.Path(path_type=Path),
    help="Draw frame, columns and digits over the photo into this PNG (one image only).",
)
def read(images, columns, markers, model, json_out, annotate) -> None:
    """Read the number shown on a whole soroban in each photo."""
    _quiet_tensorflow()
    import json

    from soroban_vision import abacus
    from soroban_vision.reader import ColumnReader

    if annotate and len(images) > 1:
        raise click.UsageError("--annotate takes a single image")
    reader = ColumnReader.open(model)
    results, failed = [], 0
    for path in images:
        try:
            reading = abacus.read_abacus(abacus.load_photo(path), reader, columns, markers)
        except abacus.FrameNotFound as e:
            failed += 1
            results.append({"file": str(path), "error": str(e)})
            if not json_out:
                click.echo(f"error: {path}: {e}", err=True)
            continue
        results.append({"file": str(path), **reading.to_json()})
        if annotate:
            abacus.annotate(path, reading, annotate)
        if not json_out:
            cols = "  ".join(
                f"{c.digit}{'?' if c.low_confidence else ''}:{c.confidence:.2f}" for c in reading.columns
            )
            click.echo(
                f"{path}: {reading.number}   ({reading.method}, {len(reading.columns)} columns, "
                f"{reading.seconds * 1000:.0f} ms)\n  {cols}"
            )
            _warn(reading.warnings)
    if json_out:
        click.echo(json.dumps(results if len(results) > 1 else results[0], indent=1))
    if failed:
        sys.exit(1)


@main.command("evaluate-scenes")
@click.argument("scenes", type=click.Path(path_type=Path))
@_reading_options
@click.option(
    "--browser",
    is_flag=True,
    help="Also read every scene in headless Chromium (wasm) and compare with Python.",
)
@click.option(
    "--tfjs",
    type=click.Path(path_type=Path),
    default=None,
    help="TF.js model folder for --browser (default: MODEL/tfjs, else the shipped one).",
)
@click.option("--json", "json_out", is_flag=True, help="Print the result as JSON.")
def evaluate_scenes(scenes, columns, markers, model, browser, tfjs, json_out) -> None:
    """Whole-soroban accuracy on a render-scenes folder: exact numbers, columns, corners, time."""
    _quiet_tensorflow()
    import contextlib
    import json

    from soroban_vision import abacus
    from soroban_vision.reader import DEFAULT_MODEL, ColumnReader

    if browser and tfjs is None:
        if model is None:
            tfjs = DEFAULT_MODEL / "tfjs"
        elif (model / "tfjs").is_dir():
            tfjs = model / "tfjs"
        else:
            raise click.UsageError(f"--browser needs the TF.js export of {model}: pass it with --tfjs DIR")
    reader = ColumnReader.open(model)
    with contextlib.ExitStack() as stack:
        runner = None
        if browser:
            from soroban_vision.runners.chromium import ChromiumRunner

            runner = stack.enter_context(ChromiumRunner(tfjs, "wasm"))
        r = abacus.evaluate_scenes(scenes, reader, columns, markers, browser=runner)
    if json_out:
        click.echo(json.dumps(r, indent=1))
        return
    c, t = r["corner_error_pct_of_width"], r["ms_per_frame"]
    click.echo(
        f"scenes {r['n']} (markers: {r['markers_in_scenes']})   "
        f"exact number {r['exact_number_accuracy']:.4f}   "
        f"columns {r['column_accuracy']:.4f}   frame not found {r['frame_not_found']}"
    )
    if c["median"] is not None:
        click.echo(
            f"corner error (% of frame width): median {c['median']:.2f}  p95 {c['p95']:.2f}  "
            f"max {c['max']:.2f}   time per frame: median {t['median']:.0f} ms  p95 {t['p95']:.0f} ms "
            f"({r['runtime']})"
        )
    if "browser" in r:
        b, t = r["browser"], r["browser"]["ms_per_frame"]
        timing = f"median {t['median']:.0f} ms  p95 {t['p95']:.0f} ms" if t["median"] is not None else "-"
        click.echo(
            f"browser ({b['runtime']}, frame from {b['frame_from']}): exact number "
            f"{b['exact_number_accuracy']:.4f}   same number as Python {b['same_number_as_python']:.4f}   "
            f"frame not found {b['frame_not_found']}   time per frame: {timing}"
        )


@main.command("serve-demo")
@click.option(
    "--model",
    type=click.Path(path_type=Path),
    default=None,
    help="An exported TF.js model folder (default: the shipped models/column/tfjs).",
)
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8000, show_default=True)
def serve_demo(model, port) -> None:
    """Serve the browser demo on 127.0.0.1 until Ctrl-C."""
    from soroban_vision.reader import DEFAULT_MODEL
    from soroban_vision.serve import serve_demo as serve

    serve(model or DEFAULT_MODEL / "tfjs", port=port, say=click.echo)


@main.command()
@click.option(
    "--keras",
    type=click.Path(path_type=Path),
    help="The float32 reference: a .keras file or a SavedModel folder.",
)
@click.option(
    "--tfjs",
    type=click.Path(path_type=Path),
    help="The deployed TF.js graph model folder (its contract.json is used when present).",
)
@click.option("--onnx", type=click.Path(path_type=Path), help="An ONNX model to run with ONNX Runtime too.")
@click.option(
    "--images",
    type=click.Path(path_type=Path),
    help="A labelled {digit}/*.png folder (default: 200 columns rendered on the spot).",
)
@click.option(
    "--input-range",
    metavar="LO,HI",
    help="The range the deploying code feeds the model (default: the contract's, else 0,1).",
)
@click.option(
    "--runtimes",
    metavar="LIST",
    help="Comma-separated, from: keras, onnxruntime, tfjs-node, chromium-cpu, chromium-wasm, "
    "chromium-webgl, chromium-webgl-f16 (default: all that can run here).",
)
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Write the report as JSON.")
@click.option(
    "--html", "html_out", type=click.Path(path_type=Path), help="Write a self-contained HTML report."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
@click.pass_context
def doctor(ctx, keras, tfjs, onnx, images, input_range, runtimes, json_out, html_out, quiet) -> None:
    """Find why a deployed model answers differently: normalization, quantization, output
    order, preprocessing and runtime parity. Exit 0 pass/warn, 1 fail, 2 usage error."""
    _quiet_tensorflow()
    import time

    from soroban_vision import doctor as doc

    t0 = time.perf_counter()
    say = (
        (lambda _: None)
        if quiet
        else (lambda m: click.echo(f"doctor {time.perf_counter() - t0:5.1f}s: {m}", err=True))
    )
    report = doc.diagnose(keras, tfjs, onnx, images, input_range, runtimes, say=say)
    click.echo(doc.console(report))
    if json_out:
        click.echo(f"json: {doc.write_json(report, json_out)}")
    if html_out:
        click.echo(f"html: {doc.write_html(report, html_out)}")
    ctx.exit(report.exit_code)


@main.command()
@click.option("--quick", is_flag=True, help="The CI run: tiny data, 1 epoch, fewer runs, wasm only.")
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Write the results as JSON.")
@click.option("--markdown", type=click.Path(path_type=Path), help="Write the README's table as markdown.")
@click.option("--epochs", type=click.IntRange(min=1), help="Training epochs of both models (full: 15).")
@click.option("--per-digit", type=click.IntRange(min=5), help="Training columns per digit (full: 1000).")
@click.option("--workdir", type=click.Path(path_type=Path), help="Keep data, models and exports here.")
def bench(quick, json_out, markdown, epochs, per_digit, workdir) -> None:
    """Compact versus MobileNetV2 α=0.35 trained on the same data: accuracy, size, Python and
    browser inference speed, training time and rendering speed, measured on this machine."""
    _quiet_tensorflow()
    import time

    from soroban_vision import bench as b

    cfg = (b.BenchConfig.quick_mode() if quick else b.BenchConfig()).with_budget(per_digit, epochs)
    t0 = time.perf_counter()
    results = b.run(
        cfg, workdir, say=lambda m: click.echo(f"bench {time.perf_counter() - t0:5.0f}s: {m}", err=True)
    )
    click.echo(b.console(results))
    if json_out:
        click.echo(f"json: {b.write_json(results, json_out)}")
    if markdown:
        click.echo(f"markdown: {b.write_markdown(results, markdown)}")


if __name__ == "__main__":
    main()
