"""The options several commands share, so that one word means one thing in every command."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from soroban_vision.abacus.spec import LOW_CONFIDENCE, MARKER_MODES, MAX_COLUMNS
from soroban_vision.cli.quiet import quiet_tensorflow as quiet_tensorflow  # where commands import it
from soroban_vision.preprocess import MAX_MEGAPIXELS


def json_option(what: str):
    """`--json FILE` writes JSON to FILE; `--json -` writes it to stdout instead of the table."""
    return click.option(
        "--json",
        "json_out",
        type=click.Path(path_type=Path, allow_dash=True, dir_okay=False),
        metavar="FILE|-",
        help=f"Write {what} as JSON to FILE, or to stdout with '-'.",
    )


def to_stdout(json_out: Path | None) -> bool:
    return json_out is not None and str(json_out) == "-"


def emit_json(doc, json_out: Path | None) -> None:
    """Write `doc` where --json said: stdout, or a file (named on stdout)."""
    if json_out is None:
        return
    text = json.dumps(doc, indent=1, default=str)
    if to_stdout(json_out):
        click.echo(text)
        return
    try:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(text + "\n")
    except OSError as e:
        raise click.UsageError(f"cannot write {json_out}: {e.strerror or e}") from None
    click.echo(f"json: {json_out}")


def markers_option(help: str, default: str = "auto", modes=MARKER_MODES):
    return click.option("--markers", type=click.Choice(modes), default=default, show_default=True, help=help)


def reading_options(command):
    """--columns, --markers, --model, --frame-model and --min-confidence, shared by `read`,
    `evaluate-scenes` and `watch`."""
    options = [
        click.option(
            "--columns",
            type=click.IntRange(min=1, max=MAX_COLUMNS),
            default=None,
            help="Rods on the soroban (default: detected from the rod spacing).",
        ),
        markers_option(
            "Find the frame from ArUco markers only (on), never from them (off), or either (auto)."
        ),
        click.option(
            "--model",
            type=click.Path(path_type=Path),
            default=None,
            help="Column model: a .keras file or a model folder (default: the shipped models/column).",
        ),
        click.option(
            "--frame-model/--no-frame-model",
            default=True,
            show_default=True,
            help="Without markers, ask the learned frame detector (models/frame) first, as the browser "
            "does; the outline search looks only when it sees no frame (--no-frame-model: only it).",
        ),
        click.option(
            "--min-confidence",
            type=click.FloatRange(min=0, max=1, min_open=True),
            default=LOW_CONFIDENCE,
            show_default=True,
            metavar="P",
            help="Flag a column read less sure than this (calibrated) instead of giving its digit. "
            "Higher: fewer wrong digits given, more columns flagged (docs/accuracy.md measures both).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def max_megapixels_option(command):
    """--max-megapixels, shared by every command that decodes images the user gives."""
    return click.option(
        "--max-megapixels",
        type=click.FloatRange(min=0, min_open=True),
        default=MAX_MEGAPIXELS,
        show_default=True,
        metavar="MP",
        help="Refuse an image with more pixels than this (read from its header, before decoding it).",
    )(command)


def warn(lines) -> None:
    for line in lines:
        click.echo(f"warning: {line}", err=True)


def progress_bar(total: int, unit: str, desc: str):
    """A tqdm bar on stderr, drawn only on a terminal: stdout stays clean for `--json -`."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, disable=None)


def progress_to(bar):
    """A `progress(n, total)` callback that advances `bar` by n, its total the caller's."""

    def advance(n: int, total: int) -> None:
        bar.total = total
        bar.update(n)

    return advance


class StepLog:
    """What a long command (doctor, bench) is doing, on stderr. On a terminal: a spinner with the
    current step and the time so far, each finished step kept as a line above it; piped: the
    same lines, plain ("doctor   12.3s: rendering 200 labelled columns"). Use as `say`."""

    def __init__(self, command: str, quiet: bool = False):
        self.command, self.quiet, self.t0 = command, quiet, time.perf_counter()
        self.live = self.task = None

    def __enter__(self) -> StepLog:
        if not self.quiet and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.live = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}", markup=False),
                TimeElapsedColumn(),
                console=Console(file=sys.stderr, highlight=False),
                transient=True,
            )
            self.task = self.live.add_task(f"{self.command}: starting", total=None)
            self.live.start()
        return self

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        line = f"{self.command} {time.perf_counter() - self.t0:6.1f}s: {message}"
        if self.live is None:
            click.echo(line, err=True)
            return
        self.live.console.print(line, markup=False)
        self.live.update(self.task, description=f"{self.command}: {message}")

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.stop()
