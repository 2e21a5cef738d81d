"""Commands that check and measure: the deployment doctor and the benchmark."""

from __future__ import annotations

from pathlib import Path

import click

from soroban_vision.cli.group import main
from soroban_vision.cli.options import emit_json, json_option, quiet_tensorflow, to_stdout


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
@json_option("the report")
@click.option(
    "--html", "html_out", type=click.Path(path_type=Path), help="Write a self-contained HTML report."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
@click.pass_context
def doctor(ctx, keras, tfjs, onnx, images, input_range, runtimes, json_out, html_out, quiet) -> None:
    """Find why a deployed model answers differently: normalization, quantization, output
    order, preprocessing and runtime parity. Exit 0 pass/warn, 1 fail, 2 usage error."""
    quiet_tensorflow()
    import time

    from soroban_vision import doctor as doc

    t0 = time.perf_counter()
    say = (
        (lambda _: None)
        if quiet
        else (lambda m: click.echo(f"doctor {time.perf_counter() - t0:5.1f}s: {m}", err=True))
    )
    report = doc.diagnose(keras, tfjs, onnx, images, input_range, runtimes, say=say)
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
def bench(quick, json_out, markdown, epochs, per_digit, workdir) -> None:
    """Compact versus MobileNetV2 α=0.35 trained on the same data: accuracy, size, Python and
    browser inference speed, training time and rendering speed, measured on this machine."""
    quiet_tensorflow()
    import time

    from soroban_vision import bench as b

    cfg = (b.BenchConfig.quick_mode() if quick else b.BenchConfig()).with_budget(per_digit, epochs)
    t0 = time.perf_counter()
    results = b.run(
        cfg, workdir, say=lambda m: click.echo(f"bench {time.perf_counter() - t0:5.0f}s: {m}", err=True)
    )
    click.echo(b.console(results), err=to_stdout(json_out))  # stdout stays pure JSON with --json -
    emit_json(results.to_json(), json_out)
    if markdown:
        click.echo(f"markdown: {b.write_markdown(results, markdown)}", err=to_stdout(json_out))


if __name__ == "__main__":
    main()
