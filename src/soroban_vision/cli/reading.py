"""Commands that read whole sorobans: read photos, evaluate on rendered scenes, serve the demo."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from soroban_vision.abacus.spec import LOW_CONFIDENCE
from soroban_vision.cli.group import main
from soroban_vision.cli.options import (
    emit_json,
    json_option,
    max_megapixels_option,
    progress_bar,
    progress_to,
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
def read(
    images, columns, markers, model, frame_model, min_confidence, max_megapixels, json_out, annotate
) -> None:
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
                path,
                columns,
                markers,
                classifier=classifier,
                threshold=min_confidence,
                max_megapixels=max_megapixels,
                frame_model=frame_model,
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
            click.echo(_reading_lines(path, reading))
        warn(reading.warnings)
    emit_json(entries, json_out)
    if failures:
        unopened = len(failures) == len(images) and all(isinstance(e, UsageError) for e in failures)
        sys.exit(2 if unopened else 1)


def _reading_lines(path, reading) -> str:
    """`photo.png: 12?45   (2 of 5 columns not read; markers, 5 columns, 120 ms)`, then each column
    as digit:confidence, an unread one as ?:confidence(why)."""
    unread = len(reading.flagged_columns)
    note = f"{unread} of {len(reading.columns)} columns not read; " if unread else ""
    cols = "  ".join(
        f"{c.digit}:{c.confidence:.2f}" if c.digit is not None else f"?:{c.confidence:.2f}({c.status})"
        for c in reading.columns
    )
    return (
        f"{path}: {reading.text}   ({note}{reading.method}, {len(reading.columns)} columns, "
        f"{reading.seconds * 1000:.0f} ms)\n  {cols}"
    )


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
@click.option(
    "--given-frame",
    is_flag=True,
    help="Read each scene with its labels' frame corners and rod count, as a user would give them: "
    "what is left is the column model's (Python only).",
)
@json_option("the result")
@click.option(
    "--plot",
    type=click.Path(path_type=Path),
    help="Write the columns' reliability diagram (confidence against accuracy) as a PNG.",
)
def evaluate_scenes(
    scenes, columns, markers, model, frame_model, min_confidence, browser, tfjs, given_frame, json_out, plot
) -> None:
    """Whole-soroban accuracy on a render-scenes folder: exact numbers, silent wrong numbers,
    flags, frames not found, corners, columns, calibration and time, per condition too."""
    quiet_tensorflow()
    from soroban_vision import abacus, load_column_classifier
    from soroban_vision.abacus.calibration import plot_reliability
    from soroban_vision.reader import DEFAULT_MODEL

    if browser and tfjs is None:
        if model is None:
            tfjs = DEFAULT_MODEL / "tfjs"
        elif (model / "tfjs").is_dir():
            tfjs = model / "tfjs"
        else:
            raise click.UsageError(f"--browser needs the TF.js export of {model}: pass it with --tfjs DIR")
    classifier = load_column_classifier(model)
    with progress_bar(0, "scene", "evaluate-scenes") as bar:
        r = abacus.evaluate_scenes(
            scenes,
            classifier,
            columns,
            markers,
            browser=tfjs if browser else None,
            progress=progress_to(bar),
            frame_model=frame_model,
            given_frame=given_frame,
            threshold=min_confidence,
        )
    if not to_stdout(json_out):
        scenes_summary(r)
    if plot:
        c = r["calibration"]
        plot_reliability({f"columns (ECE {100 * c['ece']:.2f}%)": c["bins"]}, plot, f"{scenes}")
        click.echo(f"plot: {plot}", err=to_stdout(json_out))
    emit_json(r, json_out)


TABLE_CONDITIONS = ("hand", "scale", "style", "light", "camera")  # the rest are in --json's by_condition


def scenes_summary(r: dict) -> None:
    """The figures as one compact table (all scenes, then each condition that varies), and a
    line each for corners, time, calibration and the browser."""
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("scenes", "n", "exact", "silent wrong", "flagged", "no frame", "corner p90%", "ECE%"):
        table.add_column(name, justify="left" if name == "scenes" else "right", no_wrap=True)
    table.add_row("all", *_figure_cells(r))
    for key, groups in r["by_condition"].items():
        if key in TABLE_CONDITIONS and len(groups) > 1:
            for value, g in groups.items():
                table.add_row(f"  {key}={value}", *_figure_cells(g))
    console = Console(highlight=False, soft_wrap=True, width=max(100, shutil.get_terminal_size().columns))
    given = ", frame and rod count given from the labels" if r.get("given_frame") else ""
    floor = r.get("min_confidence", LOW_CONFIDENCE)
    strict = f", columns read below {floor:g} flagged" if floor != LOW_CONFIDENCE else ""
    console.print(f"scenes: {r['n']} (markers: {r['markers_in_scenes']}{given}{strict})")
    console.print(table)
    c, t = r["corner_error_pct_of_width"], r["ms_per_frame"]
    if c["median"] is not None:
        console.print(
            f"corner error (% of frame width): median {c['median']:.2f}  p90 {c['p90']:.2f}  "
            f"p95 {c['p95']:.2f}  max {c['max']:.2f}   time per frame: median {t['median']:.0f} ms  "
            f"p95 {t['p95']:.0f} ms ({r['runtime']})"
        )
    covered = (
        ""
        if r["covered_flagged_rate"] is None
        else f"   covered columns flagged {r['covered_flagged_rate']:.4f}"
    )
    causes = r["silent_wrong_causes"]
    if any(causes.values()):
        console.print(
            f"silent wrong scenes by cause: rod count wrong {causes['rod_count']}   rods offset "
            f"{causes['rods_offset']}   a digit wrong on its rod {causes['digit']}"
        )
    console.print(
        f"columns {r['column_accuracy']:.4f}   wrong columns given as digits {r['wrong_columns']}   "
        f"columns flagged {r['flagged_columns']}{covered}   "
        f"ECE {100 * r['calibration']['ece']:.2f}% over {r['calibration']['columns']} columns"
    )
    if "browser" in r:
        b, t = r["browser"], r["browser"]["ms_per_frame"]
        timing = f"median {t['median']:.0f} ms  p95 {t['p95']:.0f} ms" if t["median"] is not None else "-"
        console.print(
            f"browser ({b['runtime']}, frame from {b['frame_from']}): exact number "
            f"{b['exact_number_accuracy']:.4f}   same number as Python {b['same_number_as_python']:.4f}   "
            f"frame not found {b['frame_not_found']}   time per frame: {timing}"
        )
        d, m = b["corner_diff_px"], b["markers_found"]
        corners = (
            "-"
            if d["max"] is None
            else f"max {d['max']:.2f} px (median {d['median']:.2f}, p95 {d['p95']:.2f})"
        )
        console.print(
            f"parity: Python exact {b['python_exact_number_accuracy']:.4f}   browser exact "
            f"{b['exact_number_accuracy']:.4f}   same number {b['same_number']:.4f}   "
            f"frame corners {corners}, within 1 px {d['within_1px']}/{d['n']}   "
            f"frame from markers: Python {m['python']}, browser {m['browser']}, both {m['both']}"
        )


def _figure_cells(f: dict) -> list[str]:
    p90 = f["corner_error_pct_of_width"]["p90"]
    return [
        str(f["n"]),
        f"{f['exact_number_accuracy']:.4f}",
        f"{f['silent_wrong_rate']:.4f}",
        f"{f['flagged_rate']:.4f}",
        str(f["frame_not_found"]),
        "-" if p90 is None else f"{p90:.2f}",
        f"{100 * f['calibration']['ece']:.2f}",
    ]


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
