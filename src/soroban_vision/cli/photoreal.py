"""`render-3d`: whole-soroban photos path-traced by Blender (the photoreal extras), written as a
`render-scenes` folder."""

from __future__ import annotations

import time
from pathlib import Path

import click

from soroban_vision.cli.group import main
from soroban_vision.cli.options import MAX_COLUMNS, markers_option, progress_bar
from soroban_vision.photoreal import SAMPLES


class Size(click.ParamType):
    """WIDTHxHEIGHT in pixels, e.g. 640x480."""

    name = "WxH"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            w, h = (int(v) for v in str(value).lower().split("x"))
        except ValueError:
            self.fail(f"{value!r} is not WIDTHxHEIGHT, e.g. 640x480", param, ctx)
        if w < 64 or h < 64:
            self.fail(f"{value!r}: a scene is at least 64x64 pixels", param, ctx)
        return (w, h)


@main.command("render-3d")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="A fresh folder for scene PNGs.")
@click.option("--count", type=click.IntRange(min=1), required=True, help="How many scenes.")
@click.option(
    "--columns",
    type=click.IntRange(min=1, max=MAX_COLUMNS),
    default=13,
    show_default=True,
    help=f"Rods, 1-{MAX_COLUMNS}.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives the same scenes.")
@markers_option(
    "Stick ArUco DICT_4X4_50 markers, ids 0-3 clockwise from top-left, on the frame's top corners (on) "
    "or not (off).",
    default="off",
    modes=("on", "off"),
)
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=SAMPLES,
    show_default=True,
    help="Cycles samples per pixel (then denoised).",
)
@click.option("--size", type=Size(), default="640x480", show_default=True, help="Image size, WIDTHxHEIGHT.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Blender processes sharing the cores.",
)
@click.option(
    "--preview",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write a sheet of the first 8 scenes, captioned with their conditions (a small PNG).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Complete --out: keep the scenes its manifest holds (a stopped run, or a smaller set of the same "
    "seed and settings) and render the rest.",
)
def render_3d(
    out: Path,
    count: int,
    columns: int,
    seed: int,
    markers: str,
    samples: int,
    size,
    workers: int,
    preview: Path | None,
    resume: bool,
) -> None:
    """Render photoreal whole-soroban scenes in Blender (Cycles): 3D beads, frame, hands, lights, with
    the ground truth of render-scenes (number, frame corners, column quads, covered rods)."""
    from soroban_vision.photoreal.writer import kept_scenes, write_scenes_3d

    kept = kept_scenes(out, count, columns, seed, markers == "on", samples, size) if resume else 0
    start = time.perf_counter()
    with progress_bar(count, "scene", "render-3d") as bar:
        manifest = write_scenes_3d(
            out,
            count,
            columns,
            seed,
            markers == "on",
            samples,
            size,
            workers,
            progress=bar.update,
            resume=resume,
        )
    took = time.perf_counter() - start
    made = count - kept
    kept_note = f", {kept} kept from before" if kept else ""
    click.echo(
        f"wrote {count} scenes to {out}/ with {out / 'manifest.json'}{kept_note}: "
        f"{made} rendered in {took:.0f} s ({took / max(made, 1):.1f} s per scene)"
    )
    if preview:
        from soroban_vision.render.preview import save_sheet, scene_sheet

        click.echo(f"preview: {save_sheet(scene_sheet(out, manifest), preview)}")
