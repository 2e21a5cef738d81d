"""Training the frame model: the wiring only. Examples from `frame.examples`, batches from
`frame.pipeline`, the model from `frame.model`; the same Reporter events, stop file, NaN guard,
best-weight keeping and tf.distribute strategy as the column model's `train`."""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from soroban_vision.data import write_json_atomic
from soroban_vision.errors import UsageError
from soroban_vision.frame.examples import read_examples, write_examples
from soroban_vision.frame.input import PRESENT
from soroban_vision.train import HumanReporter, Reporter, TrainingError

LOSS_WEIGHTS = {"corners": 20.0, "frame": 1.0, "heatmaps": 0.05}  # corner error is ~0.01 of the width


@dataclass
class FrameTrainConfig:
    scenes: list[str] = field(default_factory=list)  # render-scenes folders (markers off)
    examples: str | None = None  # a prepared examples folder: used if it exists, else written there
    tables: int = 600  # soroban-free tables rendered as negatives
    epochs: int = 12
    batch_size: int = 32
    val_split: float = 0.1  # of the scenes (every example of a scene goes to one side)
    learning_rate: float = 3e-3
    seed: int = 0
    out: str = "runs/frame"
    stop_file: str | None = None
    distribute: str | None = None  # None or "mirrored"
    width: int = 1  # channel multiplier of the architecture
    init_from: str | None = None  # fine-tuning: start from this frame model's weights (.keras or folder)


class FrameHumanReporter(HumanReporter):
    """The column reporter's bars and status lines, with the frame model's epoch and final lines."""

    def event(self, kind: str, **f) -> None:
        if kind == "dataset_loaded":
            print(
                f"data: {f['train']} train / {f['val']} val examples ({f['negatives']} without a frame)",
                file=sys.stderr,
            )
        elif kind == "epoch":
            if self.bar is not None:
                self.bar.close()
            v = f["val"]
            print(
                f"epoch {f['epoch']:>3}/{f['epochs']}  loss {f['loss']:.4f}  val_loss {f['val_loss']:.4f}  "
                f"val corner error median {v['corner_median']:.4f} p95 {v['corner_p95']:.4f} (of the width)  "
                f"frame accuracy {v['frame_accuracy']:.4f}  lr {f['learning_rate']:.2g}",
                file=sys.stderr,
            )
        elif kind == "complete":
            v = f["metrics"]["val"]
            print(
                f"done in {f['duration_s']:.0f} s: val corner error median {v['corner_median']:.4f}, "
                f"frame accuracy {v['frame_accuracy']:.4f}; model in {f['out']}",
                file=sys.stderr,
            )
        else:
            super().event(kind, **f)


def _split(groups: np.ndarray, val_split: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (train, val): whole scenes to one side, a fixed seed a fixed split."""
    if not 0 < val_split < 1:
        raise UsageError(f"--val-split must be between 0 and 1, got {val_split}")
    unique = sorted(set(groups.tolist()))
    random.Random(seed).shuffle(unique)
    val = set(unique[: max(1, round(len(unique) * val_split))])
    is_val = np.array([g in val for g in groups.tolist()])
    return ~is_val, is_val


def val_metrics(model, ds, corners: np.ndarray, frame: np.ndarray) -> dict:
    """Corner error (Euclidean, of the input's width; positives only) and frame accuracy."""
    from soroban_vision.frame.model import CELLS

    got = {"corners": [], "frame": []}
    for x, _ in ds:
        out = model(x, training=False)
        for k in got:
            got[k].append(np.asarray(out[k]))
    pred_c, pred_f = np.concatenate(got["corners"]), np.concatenate(got["frame"]).ravel()
    aspect = np.array([1.0, CELLS[0] / CELLS[1]])
    pos = frame > 0.5
    err = np.linalg.norm((pred_c[pos] - corners[pos]) * aspect, axis=-1).ravel()
    bce = -np.mean(
        frame * np.log(np.clip(pred_f, 1e-7, 1)) + (1 - frame) * np.log(np.clip(1 - pred_f, 1e-7, 1))
    )
    return {
        "n": len(frame),
        "loss": float(LOSS_WEIGHTS["corners"] * err.mean() * pos.mean() + bce) if len(err) else float(bce),
        "corner_median": float(np.median(err)) if len(err) else float("nan"),
        "corner_p95": float(np.percentile(err, 95)) if len(err) else float("nan"),
        "frame_accuracy": float(((pred_f >= PRESENT) == pos).mean()),
    }


def _losses():
    """Masked corner distance (negatives carry corners of -1), frame BCE, heatmap KL."""
    import keras
    from keras import ops

    from soroban_vision.frame.model import CELLS

    aspect = ops.convert_to_tensor(np.array([1.0, CELLS[0] / CELLS[1]], np.float32))

    def corner_loss(y_true, y_pred):
        mask = ops.cast(y_true[:, 0, 0] >= 0.0, "float32")
        d = ops.sqrt(ops.sum(ops.square((y_pred - y_true) * aspect), axis=-1) + 1e-8)
        return ops.mean(d, axis=-1) * mask

    def heatmap_loss(y_true, y_pred):
        return ops.sum(y_true * (ops.log(y_true + 1e-12) - ops.log(y_pred + 1e-12)), axis=(-2, -1))

    return {"corners": corner_loss, "frame": keras.losses.BinaryCrossentropy(), "heatmaps": heatmap_loss}


def train_frame(cfg: FrameTrainConfig, reporter: Reporter | None = None) -> dict:
    """Train a frame model as `cfg` says; write model.keras and its evidence to cfg.out."""
    reporter = reporter or Reporter()
    out = Path(cfg.out)
    if (out / "model.keras").exists():
        raise UsageError(f"{out} already holds a trained model; choose a fresh --out")
    if cfg.epochs < 1 or cfg.batch_size < 1:
        raise UsageError("--epochs and --batch-size must be at least 1")
    if not cfg.scenes and not (cfg.examples and Path(cfg.examples).is_dir()):
        raise UsageError(
            "no training data: give --scenes DIR (render-scenes --markers off), or --examples DIR"
        )
    if cfg.distribute not in (None, "mirrored"):
        raise UsageError(f"--distribute must be 'mirrored' for the frame model, got {cfg.distribute!r}")
    try:
        return _train(cfg, reporter, out)
    except TrainingError as e:
        reporter.event("error", message=str(e), hint=e.hint)
        raise


def _examples(cfg: FrameTrainConfig, tmp: Path, reporter: Reporter) -> Path:
    where = Path(cfg.examples) if cfg.examples else tmp / "examples"
    if not where.is_dir():
        reporter.event(
            "status", message=f"making frame examples from {len(cfg.scenes)} scene folder(s) in {where}"
        )
        write_examples(cfg.scenes, where, cfg.tables, seed=cfg.seed)
    return where


def _train(cfg: FrameTrainConfig, reporter: Reporter, out: Path) -> dict:
    import keras
    import tensorflow as tf

    from soroban_vision.frame import pipeline
    from soroban_vision.frame.model import build_frame_model, shipping_model
    from soroban_vision.model import init_from, weight_bytes

    started = time.time()
    reporter.event("status", message=f"training the frame model (seed {cfg.seed})", config=asdict(cfg))
    keras.utils.set_random_seed(cfg.seed)
    with tempfile.TemporaryDirectory(prefix="sv-frame-") as tmp:
        paths, corners, frame, groups = read_examples(_examples(cfg, Path(tmp), reporter))
        tr, va = _split(groups, cfg.val_split, cfg.seed)
        pick = lambda m: ([p for p, k in zip(paths, m, strict=True) if k], corners[m], frame[m])  # noqa: E731
        train_set, val_set = pick(tr), pick(va)
        reporter.event(
            "dataset_loaded", train=int(tr.sum()), val=int(va.sum()), negatives=int((frame < 0.5).sum())
        )
        strategy = tf.distribute.MirroredStrategy() if cfg.distribute else tf.distribute.get_strategy()
        batch = cfg.batch_size * strategy.num_replicas_in_sync
        train_ds = pipeline.dataset(*train_set, batch, training=True, seed=cfg.seed)
        val_ds = pipeline.dataset(*val_set, 128, training=False)
        steps = int(np.ceil(len(train_set[0]) / batch))
        with strategy.scope():
            model = build_frame_model(cfg.width, heatmaps=True)
            if cfg.init_from:  # the training graph has the shipped model's layers and no others
                init_from(
                    model, cfg.init_from, f"--init-from {cfg.init_from} is not a frame model of this --width"
                )
            schedule = keras.optimizers.schedules.CosineDecay(
                cfg.learning_rate, steps * cfg.epochs, alpha=0.02
            )
            model.compile(
                optimizer=keras.optimizers.Adam(schedule), loss=_losses(), loss_weights=LOSS_WEIGHTS
            )
        progress = _progress(cfg, reporter, steps, lambda: val_metrics(model, val_ds, *val_set[1:]))
        model.fit(train_ds, epochs=cfg.epochs, callbacks=[progress], verbose=0)
        final = val_metrics(model, val_ds, *val_set[1:])
        shipped = shipping_model(model)
        out.mkdir(parents=True, exist_ok=True)
        shipped.save(out / "model.keras")
    metrics = {
        "n_train": int(tr.sum()),
        "n_val": int(va.sum()),
        "val": final,
        "epochs_run": len(progress.history),
        "stopped_by_file": progress.stopped_by_file,
        "params": int(shipped.count_params()),
        "weight_bytes_float32": weight_bytes(shipped),
        "duration_s": round(time.time() - started, 1),
        "seed": cfg.seed,
        "config": asdict(cfg),
    }
    write_json_atomic(out / "history.json", progress.history)
    write_json_atomic(out / "metrics.json", metrics)
    reporter.event("complete", metrics=metrics, duration_s=metrics["duration_s"], out=str(out))
    return metrics


def _progress(cfg: FrameTrainConfig, reporter: Reporter, steps: int, measure):
    """The callback that reports batches and epochs, stops on the stop file or a NaN loss, and
    keeps the weights of the epoch with the lowest validation loss."""
    import keras

    class Progress(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.history: list[dict] = []
            self.best, self.best_weights, self.stopped_by_file, self.epoch = np.inf, None, False, 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            reporter.event("epoch_start", epoch=epoch + 1, epochs=cfg.epochs, steps=steps)

        def on_train_batch_end(self, batch, logs=None):
            loss = float((logs or {}).get("loss", 0.0))
            if not np.isfinite(loss):
                raise TrainingError(
                    f"the loss became {loss} at epoch {self.epoch + 1}, batch {batch + 1}",
                    f"try --learning-rate {cfg.learning_rate / 10:g}",
                )
            reporter.event("batch", batch=batch + 1, loss=loss)
            if cfg.stop_file and os.path.exists(cfg.stop_file):
                self.stopped_by_file = True
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            val = measure()
            lr = self.model.optimizer.learning_rate
            row = {
                "epoch": epoch + 1,
                "epochs": cfg.epochs,
                "loss": float((logs or {}).get("loss", np.nan)),
                "val_loss": val["loss"],
                "val": val,
                "learning_rate": float(keras.ops.convert_to_numpy(lr)),
            }
            self.history.append(row)
            reporter.event("epoch", **row)
            if val["loss"] < self.best:
                self.best, self.best_weights = val["loss"], self.model.get_weights()

        def on_train_end(self, logs=None):
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return Progress()
