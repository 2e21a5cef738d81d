"""The options several commands share, so that one word means one thing in every command."""

from __future__ import annotations

import importlib.abc
import importlib.util
import json
import os
import sys
from pathlib import Path

import click

from soroban_vision.abacus.spec import MARKER_MODES, MAX_COLUMNS
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
    """--columns, --markers and --model, shared by `read` and `evaluate-scenes`."""
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


def quiet_tensorflow() -> None:
    """TensorFlow's C++ start-up chatter (no GPU here, plugin registration) is not for users;
    real failures still surface as Python exceptions. Harmless where TensorFlow is not installed.
    The group calls it before any command runs; SOROBAN_DEBUG=1 keeps every line."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    quiet = "tensorflow" in sys.modules or any(isinstance(f, _QuietStart) for f in sys.meta_path)
    if not quiet and not os.environ.get("SOROBAN_DEBUG"):
        sys.meta_path.insert(0, _QuietStart())
    try:
        import absl.logging  # comes with TensorFlow: the base install has neither
    except ImportError:
        return
    absl.logging.set_verbosity(absl.logging.ERROR)


class _QuietStart(importlib.abc.MetaPathFinder):
    """Imports TensorFlow with stderr (file descriptor 2) pointed at /dev/null: XLA logs its plugin
    registrations (cuDNN, cuBLAS, computation placer) before absl's logging starts, where
    TF_CPP_MIN_LOG_LEVEL does not reach (TensorFlow 2.19). Python errors still raise as usual."""

    def find_spec(self, name, path, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once: the real finders take it from here
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 2)
            self.loader.exec_module(module)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            module.__loader__ = module.__spec__.loader = self.loader  # nothing else sees us

    def __getattr__(self, name):
        return getattr(self.loader, name)


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
