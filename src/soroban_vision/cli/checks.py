"""Commands that check and measure: the deployment doctor and the benchmark."""

from __future__ import annotations

from pathlib import Path

import click

from soroban_vision.cli.group import main
from soroban_vision.cli.options import StepLog, emit_json, json_option, quiet_tensorflow, to_stdout


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
    "--frame",
    type=click.Path(path_type=Path),
    help="A frame model folder (e.g. models/frame: model.keras, model.onnx, tfjs/) instead of "
    "--keras/--tfjs/--onnx; corners are compared in photo pixels.",
)
@click.option(
    "--scenes",
    type=click.Path(path_type=Path),
    help="For a frame model: a render-scenes folder to feed (default: 24 scenes and 8 tables rendered "
    "on the spot).",
)
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
@json_option("the report")
@click.option(
    "--html", "html_out", type=click.Path(path_type=Path), help="Write a self-contained HTML report."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
@click.pass_context
def doctor(
    ctx, keras, tfjs, onnx, frame, scenes, images, input_range, runtimes, json_out, html_out, quiet
) -> None:
    """Find why a deployed model answers differently: normalization, quantization, output
    order, preprocessing and runtime parity. Exit 0 pass/warn, 1 fail, 2 usage error."""
    quiet_tensorflow()
    from soroban_vision import doctor as doc

    with StepLog("doctor", quiet) as say:
        report = doc.diagnose(
            keras, tfjs, onnx, images, input_range, runtimes, say=say, frame=frame, scenes=scenes
        )
    click.echo(doc.console(report), err=to_stdout(json_out))  # stdout stays pure JSON with --json -
    emit_json(report.to_json(), json_out)
    if html_out:
        click.echo(f"html: {doc.write_html(report, html_out)}", err=to_stdout(json_out))
    ctx.exit(report.exit_code)


@main.command()
@click.option("--quick", is_flag=True, help="The CI run: tiny data, 1 epoch, fewer runs, wasm only.")
@json_option("the results")
@click.option("--markdown", type=click.Path(path_type=Path), help="Write the README's table as markdown.")
@click.option("--epochs", type=click.IntRange(min=1), help="Training epochs of both models (full: 15).")
@click.option("--per-digit", type=click.IntRange(min=5), help="Training columns per digit (full: 1000).")
@click.option("--workdir", type=click.Path(path_type=Path), help="Keep data, models and exports here.")
@click.option(
    "--only",
    type=click.Choice(["columns", "markerless"]),
    help="Measure one part: the column models (columns) or the frame model against the outline "
    "search (markerless). Default: both.",
)
def bench(quick, json_out, markdown, epochs, per_digit, workdir, only) -> None:
    """Compact versus MobileNetV2 α=0.35 trained on the same data: accuracy, size, Python and
    browser inference speed, training time and rendering speed; and markerless reading, the
    learned frame model versus the outline search: time, accuracy and corner error. Measured
    on this machine."""
    quiet_tensorflow()
    from soroban_vision import bench as b

    base = b.BenchConfig.quick_mode() if quick else b.BenchConfig()
    cfg = base.with_budget(per_digit, epochs, (only,) if only else ())
    with StepLog("bench") as say:
        results = b.run(cfg, workdir, say=say)
    click.echo(b.console(results), err=to_stdout(json_out))  # stdout stays pure JSON with --json -
    emit_json(results.to_json(), json_out)
    if markdown:
        click.echo(f"markdown: {b.write_markdown(results, markdown)}", err=to_stdout(json_out))


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--data",
    "data_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A labelled {digit}/*.png folder (repeatable): half fits, half measures.",
)
@click.option(
    "--scenes",
    type=click.Path(path_type=Path),
    help="Or a render-scenes folder: the columns the reader cuts, half the scenes fit, half measure.",
)
@click.option(
    "--write",
    is_flag=True,
    help="Write the fitted temperatures into MODEL's contract.json and its exports' (tfjs*/).",
)
@json_option("the result")
@click.option("--plot", type=click.Path(path_type=Path), help="Write the reliability diagram as a PNG.")
def calibrate(model, data_dirs, scenes, write, json_out, plot) -> None:
    """Measure how well MODEL's column confidence is calibrated (ECE over 10 fixed bins) and fit
    a temperature per head on one half of the columns, measured on the other half."""
    quiet_tensorflow()
    from soroban_vision.abacus import calibration as cal
    from soroban_vision.cli.options import progress_bar, progress_to

    if bool(data_dirs) == bool(scenes):
        raise click.UsageError("give either --data (column folders) or --scenes (a render-scenes folder)")
    with progress_bar(0, "scene" if scenes else "img", "calibrate") as bar:
        if scenes:
            from soroban_vision.reader import ColumnReader

            r = cal.calibrate_scenes(scenes, ColumnReader.open(model), progress_to(bar))
        else:
            from soroban_vision.model import load_model

            r = cal.calibrate(load_model(model), data_dirs, progress=progress_to(bar))
    err = to_stdout(json_out)
    before, after, t = r["before"], r["after"], r["calibration"]
    click.echo(f"columns measured {before['n']} (fitted on {r['n_fit']}, {r['errors_fit']} wrong)", err=err)
    click.echo(f"ECE before {100 * before['ece']:.3f}%", err=err)
    if t is None:
        click.echo(f"no temperature fitted: fewer than {r['min_errors']} wrong columns to fit on", err=err)
    else:
        click.echo(
            f"ECE after  {100 * after['ece']:.3f}%  (temperature heaven {t['heaven']}, earth {t['earth']})",
            err=err,
        )
    if plot:
        curves = {f"before (ECE {100 * before['ece']:.2f}%)": before["bins"]}
        if t is not None:
            curves[f"after (ECE {100 * after['ece']:.2f}%)"] = after["bins"]
        cal.plot_reliability(curves, plot, f"{model}")
        click.echo(f"plot: {plot}", err=err)
    if write and t is not None:
        for path in cal.write(model if model.is_dir() else model.parent, t):
            click.echo(f"wrote: {path}", err=err)
    emit_json(r, json_out)


if __name__ == "__main__":
    main()
