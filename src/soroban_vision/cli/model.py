"""Commands about the column model: train it, evaluate it, classify crops with it, export it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from soroban_vision.cli.group import main
from soroban_vision.cli.options import (
    emit_json,
    json_option,
    max_megapixels_option,
    progress_bar,
    progress_to,
    quiet_tensorflow,
    to_stdout,
    warn,
)
from soroban_vision.multiworker.cluster import ClusterLost
from soroban_vision.precision import PRECISIONS


@main.command()
@click.option(
    "--data",
    "data_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A {digit}/*.png folder; repeat to mix sources (synthetic + real).",
)
@click.option(
    "--manifest", type=click.Path(path_type=Path), help="Train only on the items this manifest lists."
)
@click.option("--synthetic", type=click.IntRange(min=0), default=0, help="Also render N columns to train on.")
@click.option("--arch", default="compact", show_default=True, help="compact | mobilenetv2")
@click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--val-split", type=float, default=0.15, show_default=True)
@click.option("--learning-rate", type=float, default=3e-3, show_default=True)
@click.option(
    "--patience",
    type=click.IntRange(min=1),
    default=6,
    show_default=True,
    help="Epochs without val_loss improvement before stopping.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="Folder for model.keras and its evidence."
)
@click.option(
    "--stop-file",
    type=click.Path(path_type=Path),
    help="When this file appears, stop after the current batch and keep the best weights.",
)
@click.option(
    "--distribute",
    type=click.Choice(["mirrored", "multiworker"]),
    help="Use a tf.distribute strategy: mirrored (many GPUs) or multiworker (many machines).",
)
@click.option(
    "--cluster",
    metavar="HOST:PORT,...",
    help="multiworker: every worker's address, the chief first (instead of TF_CONFIG).",
)
@click.option(
    "--task-index",
    type=int,
    help="multiworker: this worker's place in --cluster, 0 for the chief (which writes --out).",
)
@click.option(
    "--cluster-timeout",
    type=float,
    default=60.0,
    show_default=True,
    help="multiworker: seconds to wait for the other workers before giving up.",
)
@click.option("--weights", type=click.Path(path_type=Path), help="Local backbone weights for mobilenetv2.")
@click.option(
    "--init-from",
    type=click.Path(path_type=Path),
    help="Fine-tune: start from this model's weights (a .keras file or a folder such as models/column).",
)
@click.option(
    "--cache-limit-mb",
    type=click.IntRange(min=0),
    default=512,
    show_default=True,
    help="Cache decoded images in memory only when they fit in this budget.",
)
@click.option(
    "--deterministic",
    is_flag=True,
    help="TensorFlow op determinism: the same seed and data give the same weights (slower).",
)
@click.option(
    "--json-progress", is_flag=True, help="Print newline-delimited JSON events instead of a progress bar."
)
def train(
    data_dirs,
    manifest,
    synthetic,
    arch,
    epochs,
    batch_size,
    val_split,
    learning_rate,
    patience,
    seed,
    out,
    stop_file,
    distribute,
    cluster,
    task_index,
    cluster_timeout,
    weights,
    init_from,
    cache_limit_mb,
    deterministic,
    json_progress,
) -> None:
    """Train a two-head column model on one or more labelled folders. With --distribute multiworker,
    run the same command on every machine: a worker that loses another restarts itself to rejoin,
    and the cluster resumes from the chief's last completed epoch."""
    quiet_tensorflow()
    from soroban_vision import train as training

    cfg = training.TrainConfig(
        data=[str(d) for d in data_dirs],
        manifest=str(manifest) if manifest else None,
        synthetic=synthetic,
        arch=arch,
        epochs=epochs,
        batch_size=batch_size,
        val_split=val_split,
        learning_rate=learning_rate,
        patience=patience,
        seed=seed,
        out=str(out),
        stop_file=str(stop_file) if stop_file else None,
        distribute=distribute,
        weights=str(weights) if weights else None,
        init_from=str(init_from) if init_from else None,
        cache_limit_mb=cache_limit_mb,
        deterministic=deterministic,
        cluster=cluster.split(",") if cluster is not None else None,
        task_index=task_index,
        cluster_timeout=cluster_timeout,
    )
    if cluster is not None and distribute is None:
        cfg.distribute = "multiworker"  # --cluster says it
    reporter = training.JsonReporter() if json_progress else training.HumanReporter()
    try:
        metrics = training.train(cfg, reporter)
    except ClusterLost:
        # TensorFlow cannot reuse a cluster that lost a member: start afresh with the same command
        # line; the new process waits (--cluster-timeout) for the others and resumes from the backup
        reporter.event("status", message="restarting this worker to rejoin the cluster")
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
    if metrics.get("chief") is False:  # a worker other than the chief: it wrote nothing, said it was done
        return
    if not json_progress:
        v = metrics["val"]
        click.echo(
            f"model: {out / 'model.keras'}  val digit accuracy {v['digit_accuracy']:.4f} "
            f"(heaven {v['heaven_accuracy']:.4f}, earth {v['earth_accuracy']:.4f}, n={metrics['n_val']})"
        )


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--data",
    "data_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    required=True,
    help="A labelled {digit}/*.png folder (repeatable).",
)
@click.option(
    "--manifest", type=click.Path(path_type=Path), help="Evaluate only the items this manifest lists."
)
@json_option("the result")
@click.option(
    "--plot",
    type=click.Path(path_type=Path),
    help="Write the confusion matrix as a PNG, and the reliability diagram beside it (NAME-reliability.png).",
)
@click.option("--worst", type=click.Path(path_type=Path), help="Write a contact sheet of the worst mistakes.")
def evaluate(model, data_dirs, manifest, json_out, plot, worst) -> None:
    """Accuracy of MODEL (a .keras file or a folder holding one) on labelled images."""
    quiet_tensorflow()
    from soroban_vision import evaluate as ev
    from soroban_vision.model import load_model

    with progress_bar(0, "img", "evaluate") as bar:
        result = ev.evaluate(load_model(model), data_dirs, manifest=manifest, progress=progress_to(bar))
    warn(result["warnings"])
    if plot:
        from soroban_vision.report import plot_confusion

        plot_confusion(__import__("numpy").array(result["confusion"]), plot, f"{model}")
        from soroban_vision.abacus.calibration import plot_reliability

        beside = plot.with_name(f"{plot.stem}-reliability.png")  # the evaluation's second plot
        plot_reliability({str(model): result["calibration"]["bins"]}, beside, "columns")
        click.echo(f"plots: {plot} {beside}", err=True)
    if worst:
        sheet = ev.worst_sheet(result)
        if sheet is not None:
            sheet.save(worst)
    doc = {k: v for k, v in result.items() if k != "warnings"}
    if not to_stdout(json_out):
        click.echo(
            f"images {result['n']}   digit accuracy {result['digit_accuracy']:.4f}   "
            f"heaven {result['heaven_accuracy']:.4f}   earth {result['earth_accuracy']:.4f}   "
            f"errors {result['errors']}   ECE {100 * result['calibration']['ece']:.2f}%"
        )
        click.echo(ev.confusion_table(result["confusion"]))
    emit_json(doc, json_out)


@main.command()
@click.argument("images", nargs=-1, type=click.Path(path_type=Path), required=True)
@click.option(
    "--model",
    type=click.Path(path_type=Path),
    default=None,
    help="A .keras file or a model folder (default: the shipped models/column).",
)
@max_megapixels_option
@json_option("the readings")
def classify(images, model, max_megapixels, json_out) -> None:
    """Read the digit on single column images (any size, any colour mode, upright by their EXIF
    orientation)."""
    quiet_tensorflow()
    from soroban_vision import load_column_classifier

    results = load_column_classifier(model).classify(images, max_megapixels=max_megapixels)
    for r in [] if to_stdout(json_out) else results:
        h, e = r["heaven"], r["earth"]
        click.echo(
            f"{r['file']}: {r['digit']}  confidence {r['confidence']:.3f}  "
            f"heaven {'down' if h['active'] else 'up'} (p={h['p']:.3f})  earth {e['count']} "
            f"(p={max(e['probs']):.3f})"
        )
    emit_json(results, json_out)


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="A fresh folder for the export.")
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    default="float32",
    show_default=True,
    help="Weight precision; float16/uint8 are checked against float32 first.",
)
@click.option("--format", "fmt", type=click.Choice(["tfjs", "onnx"]), default="tfjs", show_default=True)
@click.option(
    "--check-data",
    type=click.Path(path_type=Path),
    help="Labelled folder for the precision check (default: 1,000 freshly rendered columns).",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    help="float32 only: the largest |diff| allowed between the export's probabilities and Keras's "
    "(default: the contract's float32 tolerance for the runtime that checks it).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Write the export even if it fails its check (recorded in contract.json as failed-forced).",
)
def export(model, out, precision, fmt, check_data, tolerance, force) -> None:
    """Export MODEL for the browser (TF.js graph model) or ONNX Runtime, with contract.json.
    Exit 3, writing nothing, when the export's answers differ from Keras's (see --tolerance)."""
    quiet_tensorflow()
    from soroban_vision.export import export as run

    run(
        model,
        out,
        precision=precision,
        fmt=fmt,
        force=force,
        check_data=check_data,
        say=click.echo,
        tolerance=tolerance,
    )
