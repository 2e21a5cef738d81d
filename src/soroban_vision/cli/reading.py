"""Commands that read whole sorobans: read photos, evaluate on rendered scenes, serve the demo."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from soroban_vision.cli.group import main
from soroban_vision.cli.options import (
    emit_json,
    json_option,
    max_megapixels_option,
    quiet_tensorflow,
    reading_options,
    to_stdout,
    warn,
)


@main.command()
@click.argument("images", nargs=-1, type=click.Path(path_type=Path), required=True)
@reading_options
@max_megapixels_option
@json_option("the readings (always one list, an entry per photo)")
@click.option(
    "--annotate",
    type=click.Path(path_type=Path),
    help="Draw frame, columns and digits over the photo into this PNG (one image only).",
)
def read(images, columns, markers, model, max_megapixels, json_out, annotate) -> None:
    """Read the number shown on a whole soroban in each photo.

    A photo that cannot be read gets an entry with its error and the others are still read.
    Photos are read upright by their EXIF orientation, as a browser shows them; corners are in
    the upright photo's pixels. Exit 0 when every photo was read, 1 when any was not, 2 when
    none could even be opened."""
    quiet_tensorflow()
    from soroban_vision import abacus, load_column_classifier, read_abacus
    from soroban_vision.errors import SorobanError, UsageError

    if annotate and len(images) > 1:
        raise click.UsageError("--annotate takes a single image")
    quiet = to_stdout(json_out)
    classifier = load_column_classifier(model)
    entries, failures = [], []
    for path in images:
        try:
            reading = read_abacus(
                path, columns, markers, classifier=classifier, max_megapixels=max_megapixels
            )
        except SorobanError as e:
            failures.append(e)
            entries.append({"file": str(path), "error": str(e), "code": e.code})
            click.echo(f"error: {path}: {e}" if len(images) > 1 else f"error: {e}", err=True)
            continue
        entries.append({"file": str(path), **reading.to_json()})
        if annotate:
            abacus.annotate(path, reading, annotate)
        if not quiet:
            cols = "  ".join(
                f"{c.digit}{'?' if c.low_confidence else ''}:{c.confidence:.2f}" for c in reading.columns
            )
            click.echo(
                f"{path}: {reading.number}   ({reading.method}, {len(reading.columns)} columns, "
                f"{reading.seconds * 1000:.0f} ms)\n  {cols}"
            )
        warn(reading.warnings)
    emit_json(entries, json_out)
    if failures:
        unopened = len(failures) == len(images) and all(isinstance(e, UsageError) for e in failures)
        sys.exit(2 if unopened else 1)


@main.command("evaluate-scenes")
@click.argument("scenes", type=click.Path(path_type=Path))
@reading_options
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
@json_option("the result")
def evaluate_scenes(scenes, columns, markers, model, browser, tfjs, json_out) -> None:
    """Whole-soroban accuracy on a render-scenes folder: exact numbers, columns, corners, time."""
    quiet_tensorflow()
    from soroban_vision import abacus, load_column_classifier
    from soroban_vision.reader import DEFAULT_MODEL

    if browser and tfjs is None:
        if model is None:
            tfjs = DEFAULT_MODEL / "tfjs"
        elif (model / "tfjs").is_dir():
            tfjs = model / "tfjs"
        else:
            raise click.UsageError(f"--browser needs the TF.js export of {model}: pass it with --tfjs DIR")
    r = abacus.evaluate_scenes(
        scenes, load_column_classifier(model), columns, markers, browser=tfjs if browser else None
    )
    if not to_stdout(json_out):
        click.echo(_scenes_summary(r))
    emit_json(r, json_out)


def _scenes_summary(r: dict) -> str:
    c, t = r["corner_error_pct_of_width"], r["ms_per_frame"]
    lines = [
        f"scenes {r['n']} (markers: {r['markers_in_scenes']})   "
        f"exact number {r['exact_number_accuracy']:.4f}   "
        f"columns {r['column_accuracy']:.4f}   frame not found {r['frame_not_found']}"
    ]
    if c["median"] is not None:
        lines.append(
            f"corner error (% of frame width): median {c['median']:.2f}  p95 {c['p95']:.2f}  "
            f"max {c['max']:.2f}   time per frame: median {t['median']:.0f} ms  p95 {t['p95']:.0f} ms "
            f"({r['runtime']})"
        )
    if "browser" in r:
        b, t = r["browser"], r["browser"]["ms_per_frame"]
        timing = f"median {t['median']:.0f} ms  p95 {t['p95']:.0f} ms" if t["median"] is not None else "-"
        lines.append(
            f"browser ({b['runtime']}, frame from {b['frame_from']}): exact number "
            f"{b['exact_number_accuracy']:.4f}   same number as Python {b['same_number_as_python']:.4f}   "
            f"frame not found {b['frame_not_found']}   time per frame: {timing}"
        )
    return "\n".join(lines)


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
