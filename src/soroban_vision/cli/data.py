"""Commands that make data: column datasets, whole-soroban scenes, the marker sheet."""

from __future__ import annotations

import os
from pathlib import Path

import click

from soroban_vision.cli.group import main
from soroban_vision.cli.options import MAX_COLUMNS, markers_option, progress_bar

VARIETIES = ("classic", "wide")  # render/conditions.py's VARIETIES, without importing the renderer


def variety_option(what: str):
    return click.option(
        "--variety",
        type=click.Choice(VARIETIES),
        default="classic",
        show_default=True,
        help=f"Which {what} to draw: classic (the distribution of the published figures, byte for byte) "
        "or wide (hands, more bead and frame looks, small sorobans, glare, low and coloured light, "
        "motion blur, focus falloff, lens distortion; see docs/variety.md).",
    )


@main.command()
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="A fresh folder for DIR/{digit}/*.png."
)
@click.option("--per-digit", type=click.IntRange(min=1), required=True, help="Images of each digit 0-9.")
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives identical bytes.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes (default: all cores).")
@click.option("--preview", type=click.Path(path_type=Path), help="Also write a labelled contact sheet PNG.")
@variety_option("crops")
@click.option(
    "--occluded-share",
    type=click.FloatRange(0.0, 0.5),
    default=0.0,
    show_default=True,
    help="Share of the whole set that shows a hand over the rod, written to DIR/occluded/ "
    "(manifest items with digit null and occluded true).",
)
def render(
    out: Path,
    per_digit: int,
    seed: int,
    workers: int | None,
    preview: Path | None,
    variety: str,
    occluded_share: float,
) -> None:
    """Render a labelled synthetic dataset of 64x128 column crops, with a manifest."""
    from soroban_vision import data
    from soroban_vision.render.column_set import occluded_count, write_columns

    total = per_digit * 10 + occluded_count(per_digit, occluded_share)
    with progress_bar(total, "col", "render") as bar:
        manifest = write_columns(
            out, per_digit, seed, variety, occluded_share, workers=workers, progress=bar.update
        )
    hidden = manifest.get("occluded_count", 0)
    readable = len(manifest["items"]) - hidden
    click.echo(f"wrote {readable} columns to {out}/{{0..9}}/ and {out / data.MANIFEST}")
    if hidden:
        click.echo(f"wrote {hidden} occluded columns to {out}/occluded/")
    if preview:
        data.preview(out, manifest).save(preview)
        click.echo(f"preview: {preview}")


@main.command("render-scenes")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="A fresh folder for scene PNGs.")
@click.option("--count", type=click.IntRange(min=1), required=True, help="How many scenes.")
@click.option(
    "--columns",
    type=click.IntRange(min=1, max=MAX_COLUMNS),
    default=13,
    show_default=True,
    help=f"Rods, 1-{MAX_COLUMNS}.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives identical bytes.")
@markers_option(
    "Draw ArUco DICT_4X4_50 markers, ids 0-3 clockwise from top-left, outside the frame corners (on) "
    "or not (off).",
    default="off",
    modes=("on", "off"),
)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes (default: all cores).")
@variety_option("scenes")
@click.option(
    "--preview",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write a sheet of the first 8 scenes, captioned with their conditions (a small PNG).",
)
def render_scenes(
    out: Path,
    count: int,
    columns: int,
    seed: int,
    markers: str,
    workers: int | None,
    variety: str,
    preview: Path | None,
) -> None:
    """Render whole-soroban photos with ground truth: number, frame corners, column quads, conditions."""
    from soroban_vision.render.scene import write_scenes

    with progress_bar(count, "scene", "render-scenes") as bar:
        manifest = write_scenes(
            out,
            count,
            columns,
            seed,
            markers == "on",
            workers=workers,
            progress=bar.update,
            variety=variety,
        )
    click.echo(f"wrote {len(manifest['items'])} scenes to {out}/ with {out / 'manifest.json'}")
    if preview:
        from soroban_vision.render.preview import save_sheet, scene_sheet

        click.echo(f"preview: {save_sheet(scene_sheet(out, manifest), preview)}")


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
