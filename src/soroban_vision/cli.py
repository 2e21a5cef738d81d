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


if __name__ == "__main__":
    main()
