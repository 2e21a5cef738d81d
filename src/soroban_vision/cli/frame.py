"""Commands about the frame (corner) model: train it."""

from __future__ import annotations

from pathlib import Path

import click

from soroban_vision.cli.group import main
from soroban_vision.cli.options import quiet_tensorflow


@main.command("train-frame")
@click.option(
    "--scenes",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="A render-scenes folder drawn with --markers off; repeat to mix (wide and classic, rod counts).",
)
@click.option(
    "--examples",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the model inputs made from --scenes go (reused when it exists); default: a temporary folder.",
)
@click.option(
    "--tables",
    type=click.IntRange(min=0),
    default=600,
    show_default=True,
    help="Soroban-free tables rendered as negatives.",
)
@click.option("--epochs", type=click.IntRange(min=1), default=12, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--val-split", type=float, default=0.1, show_default=True, help="Share of the scenes held out.")
@click.option("--learning-rate", type=float, default=3e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--width", type=click.IntRange(1, 4), default=1, show_default=True, help="Channel multiplier.")
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="Folder for model.keras and its evidence."
)
@click.option(
    "--stop-file",
    type=click.Path(path_type=Path),
    help="When this file appears, stop after the current batch and keep the best weights.",
)
@click.option("--distribute", type=click.Choice(["mirrored"]), help="tf.distribute strategy.")
@click.option(
    "--init-from",
    type=click.Path(path_type=Path, exists=True),
    help="Fine-tune: start from this frame model's weights (a .keras file or a folder such as models/frame).",
)
@click.option(
    "--json-progress", is_flag=True, help="Print newline-delimited JSON events instead of a progress bar."
)
def train_frame(
    scenes, examples, tables, epochs, batch_size, val_split, learning_rate, seed, width, out, stop_file,
    distribute, init_from, json_progress,
) -> None:  # fmt: skip
    """Train the frame model (four corners and frame-present) on rendered scenes without markers."""
    quiet_tensorflow()
    from soroban_vision.frame.train import FrameHumanReporter, FrameTrainConfig, train_frame
    from soroban_vision.train import JsonReporter

    cfg = FrameTrainConfig(
        scenes=[str(s) for s in scenes],
        examples=str(examples) if examples else None,
        tables=tables,
        epochs=epochs,
        batch_size=batch_size,
        val_split=val_split,
        learning_rate=learning_rate,
        seed=seed,
        width=width,
        out=str(out),
        stop_file=str(stop_file) if stop_file else None,
        distribute=distribute,
        init_from=str(init_from) if init_from else None,
    )
    metrics = train_frame(cfg, JsonReporter() if json_progress else FrameHumanReporter())
    if not json_progress:
        v = metrics["val"]
        click.echo(
            f"model: {out / 'model.keras'}  val corner error median {v['corner_median']:.4f} "
            f"p95 {v['corner_p95']:.4f} of the width, frame accuracy {v['frame_accuracy']:.4f} "
            f"(n={metrics['n_val']})"
        )
