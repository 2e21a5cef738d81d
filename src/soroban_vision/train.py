"""Training: data in, a trained column model and its evidence out.

The wiring only: data comes from `data`/`pipeline`, the model from `model`, the decode rule
from `contract`. Events go to a `Reporter` (a progress bar for people, NDJSON for web UIs).
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from soroban_vision import occluded
from soroban_vision.contract import decode
from soroban_vision.data import Dataset, Item, scan, write_dataset, write_json_atomic
from soroban_vision.errors import DatasetError, SorobanError, UsageError

MIN_IMAGES = 50


class TrainingError(SorobanError):
    code = "training_failed"

    def __init__(self, message: str, hint: str = ""):
        super().__init__(f"{message}" + (f" ({hint})" if hint else ""))
        self.message, self.hint = message, hint


@dataclass
class TrainConfig:
    data: list[str] = field(default_factory=list)
    manifest: str | None = None
    synthetic: int = 0
    arch: str = "compact"
    epochs: int = 30
    batch_size: int = 64
    val_split: float = 0.15
    learning_rate: float = 3e-3
    seed: int = 0
    out: str = "runs/column"
    patience: int = 6
    stop_file: str | None = None
    distribute: str | None = None  # None, "mirrored" or "multiworker"
    cache_limit_mb: int = 512
    weights: str | None = None  # a local weights file for the mobilenetv2 backbone
    init_from: str | None = None  # fine-tuning: start from this .keras file's (or folder's) weights
    deterministic: bool = False  # TensorFlow's op determinism: the same seed gives the same weights
    cluster: list[str] | None = None  # multiworker: every worker's host:port, the chief first
    task_index: int | None = None  # multiworker: this worker's place in `cluster`
    cluster_timeout: float = 60.0  # multiworker: seconds to wait for the other workers


# --------------------------------------------------------------------------- reporting


class Reporter:
    """Receives training events. The base class prints nothing."""

    def event(self, kind: str, **fields) -> None:
        pass


class JsonReporter(Reporter):
    """Newline-delimited JSON events on stdout, one per line, for a web UI."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def event(self, kind: str, **fields) -> None:
        self.stream.write(json.dumps({"event": kind, **fields}) + "\n")
        self.stream.flush()


class WorkerReporter(Reporter):
    """What a worker other than the chief reports: its own status lines, never the run's progress,
    which the chief reports once for the whole cluster."""

    OWN = ("status", "shard", "error")

    def __init__(self, inner: Reporter):
        self.inner = inner

    def event(self, kind: str, **fields) -> None:
        if kind in self.OWN:
            self.inner.event(kind, **fields)


class HumanReporter(Reporter):
    """A progress bar per epoch and one summary line per epoch, on stderr/stdout."""

    def __init__(self):
        self.bar = None

    def event(self, kind: str, **f) -> None:
        from tqdm import tqdm

        if kind == "status":
            print(f"{f['message']}", file=sys.stderr)
        elif kind == "shard":
            print(
                f"worker {f['worker']} of {f['workers']} reads {f['files']} of the {f['of']} training images",
                file=sys.stderr,
            )
        elif kind == "dataset_loaded":
            counts = " ".join(f"{d}:{n}" for d, n in f["counts"].items())
            print(f"data: {f['train']} train / {f['val']} val images   per digit {counts}", file=sys.stderr)
        elif kind == "epoch_start":
            self.bar = tqdm(
                total=f["steps"],
                desc=f"epoch {f['epoch']}/{f['epochs']}",
                unit="batch",
                file=sys.stderr,
                leave=False,
                disable=None,
            )
        elif kind == "batch" and self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{f['loss']:.3f}")
        elif kind == "epoch":
            if self.bar is not None:
                self.bar.close()
            v, t = f["val"], f["train"]
            print(
                f"epoch {f['epoch']:>3}/{f['epochs']}  loss {f['loss']:.4f}  val_loss {f['val_loss']:.4f}  "
                f"val digit {v['digit_accuracy']:.4f}  heaven {v['heaven_accuracy']:.4f}  "
                f"earth {v['earth_accuracy']:.4f}  (train digit {t['digit_accuracy']:.4f})  "
                f"lr {f['learning_rate']:.2g}",
                file=sys.stderr,
            )
        elif kind == "complete":
            m = f["metrics"]["val"]
            print(
                f"done in {f['duration_s']:.0f} s: val digit accuracy {m['digit_accuracy']:.4f} "
                f"on {f['metrics']['n_val']} images; model in {f['out']}",
                file=sys.stderr,
            )


# --------------------------------------------------------------------------- data


def stratified_split(items: list[Item], val_split: float, seed: int) -> tuple[list[Item], list[Item]]:
    """Per digit, the same fraction goes to validation; a fixed seed gives a fixed split."""
    if not 0 < val_split < 1:
        raise UsageError(f"--val-split must be between 0 and 1, got {val_split}")
    rng = random.Random(seed)
    train, val = [], []
    by_digit: dict[int, list[Item]] = {}
    for it in sorted(items, key=lambda i: str(i.path)):
        by_digit.setdefault(it.digit, []).append(it)
    for _digit, group in sorted(by_digit.items()):
        rng.shuffle(group)
        n_val = max(1, round(len(group) * val_split)) if len(group) > 1 else 0
        val += group[:n_val]
        train += group[n_val:]
    return train, val


def load_training_data(cfg: TrainConfig, workdir: Path, reporter: Reporter) -> Dataset:
    dirs = list(cfg.data)
    if cfg.synthetic:
        per_digit = max(1, cfg.synthetic // 10)
        where = workdir / "synthetic"
        reporter.event("status", message=f"rendering {per_digit * 10} synthetic columns (seed {cfg.seed})")
        write_dataset(where, per_digit, seed=cfg.seed)
        dirs.append(str(where))
    if not dirs and not cfg.manifest:
        raise UsageError("no training data: give --data DIR (repeatable), --manifest FILE or --synthetic N")
    ds = scan(dirs, manifest=cfg.manifest)
    for w in ds.warnings:
        reporter.event("status", message=f"warning: {w}")
    if len(ds.items) < MIN_IMAGES:
        raise DatasetError(f"only {len(ds.items)} usable images; training needs at least {MIN_IMAGES}")
    return ds


# --------------------------------------------------------------------------- callbacks


def _diverged(cfg: TrainConfig, what: str) -> TrainingError:
    return TrainingError(
        what,
        "the learning rate is likely too high for this data; try --learning-rate "
        f"{cfg.learning_rate / 10:g}, and check that the images are not blank or corrupt",
    )


def training_callbacks(
    cfg: TrainConfig,
    measure: Callable[[str], dict],
    reporter: Reporter,
    steps: int,
    stop_requested: Callable[[], bool] | None = None,
):
    """(the Progress callback, every callback in order). `measure("val")` and `measure("train")` give
    the accuracies on the validation set and on a sample of the training set; `stop_requested()`
    says when to stop (default: the stop file exists)."""
    import keras

    stop_requested = stop_requested or (lambda: bool(cfg.stop_file) and os.path.exists(cfg.stop_file))

    class Progress(keras.callbacks.Callback):
        """Exact digit accuracy (both heads right on the same image), the stop file, NaN
        guard and best-weight keeping, in one place so their order is explicit."""

        def __init__(self):
            super().__init__()
            self.best = np.inf
            self.best_weights = None
            self.history: list[dict] = []
            self.stopped_by_file = False
            self.epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            reporter.event("epoch_start", epoch=epoch + 1, epochs=cfg.epochs, steps=steps)

        def on_train_batch_end(self, batch, logs=None):
            loss = float((logs or {}).get("loss", 0.0))
            if not np.isfinite(loss):
                raise _diverged(cfg, f"the loss became {loss} at epoch {self.epoch + 1}, batch {batch + 1}")
            reporter.event("batch", batch=batch + 1, loss=loss)
            if stop_requested():
                self.stopped_by_file = True
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            logs = logs if logs is not None else {}
            val, train = measure("val"), measure("train")
            logs["val_loss"] = val["loss"]
            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            row = {
                "epoch": epoch + 1,
                "epochs": cfg.epochs,
                "loss": float(logs.get("loss", np.nan)),
                "val_loss": val["loss"],
                "train": {k: train[k] for k in ("heaven_accuracy", "earth_accuracy", "digit_accuracy")},
                "val": {k: val[k] for k in ("heaven_accuracy", "earth_accuracy", "digit_accuracy")},
                "learning_rate": lr,
            }
            if "images" in logs:  # multiworker: the cluster's training throughput this epoch
                row.update(images=int(logs["images"]), images_per_s=round(float(logs["images_per_s"]), 1))
            self.history.append(row)
            reporter.event("epoch", **row)
            if not np.isfinite(val["loss"]):
                # The training loss can stay finite (clipped cross-entropy plus a huge weight
                # penalty) while the weights have already overflowed: the validation pass shows it.
                raise _diverged(cfg, f"the validation loss became {val['loss']} at epoch {epoch + 1}")
            if val["loss"] < self.best:
                self.best = val["loss"]
                self.best_weights = self.model.get_weights()

        def on_train_end(self, logs=None):
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    progress = Progress()
    return progress, [
        progress,
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=0.3, patience=max(1, cfg.patience // 3), min_lr=1e-5, verbose=0
        ),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience, verbose=0),
    ]


def scores(model, images_ds, heaven_true: np.ndarray, earth_true: np.ndarray) -> dict[str, np.ndarray]:
    """Per image: the two heads' cross-entropies, and whether heaven, earth and the digit are right."""
    from soroban_vision.pipeline import predict

    heaven, earth = predict(model, images_ds)
    eps = 1e-7
    p = np.clip(heaven.reshape(-1), eps, 1 - eps)
    h = heaven_true.reshape(-1)
    digits, _ = decode(heaven, earth)
    return {
        "heaven_loss": -(h * np.log(p) + (1 - h) * np.log(1 - p)),
        "earth_loss": occluded.earth_loss(earth, earth_true),
        "heaven_ok": (p >= 0.5) == (h >= 0.5),
        "earth_ok": earth.argmax(axis=1) == earth_true,
        "digit_ok": digits == 5 * h.astype(np.int64) + earth_true,
    }


def evaluate_arrays(model, images_ds, heaven_true: np.ndarray, earth_true: np.ndarray) -> dict:
    """Loss and accuracies of a model on a batched image dataset with known labels."""
    s = scores(model, images_ds, heaven_true, earth_true)
    return {
        "n": len(s["heaven_ok"]),
        "loss": float(s["heaven_loss"].mean() + s["earth_loss"].mean()),
        "heaven_accuracy": float(s["heaven_ok"].mean()),
        "earth_accuracy": float(s["earth_ok"].mean()),
        "digit_accuracy": float(s["digit_ok"].mean()),
    }


# --------------------------------------------------------------------------- training


def _strategy(name: str | None):
    import tensorflow as tf

    if name is None:
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    raise UsageError(f"--distribute must be 'mirrored' or 'multiworker', got {name!r}")


def train(cfg: TrainConfig, reporter: Reporter | None = None) -> dict:
    """Train a column model as `cfg` says; write model.keras and its evidence to cfg.out."""
    reporter = reporter or Reporter()
    try:
        return _train(cfg, reporter)
    except SorobanError as e:
        if e.code == "cluster_lost":  # not the end: the run resumes once every worker is back
            reporter.event("status", message=f"warning: {e}")
        else:
            reporter.event("error", message=str(e), hint=getattr(e, "hint", ""))
        raise


def _cluster(cfg: TrainConfig):
    """The multiworker cluster from cfg.cluster/cfg.task_index or TF_CONFIG; None for one worker."""
    if cfg.distribute != "multiworker":
        if cfg.cluster or cfg.task_index is not None:
            raise UsageError("--cluster and --task-index are for --distribute multiworker")
        return None
    from soroban_vision.multiworker.cluster import resolve

    if cfg.cluster_timeout <= 0:
        raise UsageError(f"--cluster-timeout must be more than 0 seconds, got {cfg.cluster_timeout:g}")
    return resolve(cfg.cluster, cfg.task_index, os.environ.get("TF_CONFIG"))


def _train(cfg: TrainConfig, reporter: Reporter) -> dict:
    out = Path(cfg.out)
    cluster = _cluster(cfg)  # before any work: a bad --cluster is a usage error at once
    chief = cluster is None or cluster.is_chief
    if not chief:
        reporter = WorkerReporter(reporter)
    if out.exists() and (out / "model.keras").exists():
        raise UsageError(f"{out} already holds a trained model; choose a fresh --out")
    if cfg.epochs < 1 or cfg.batch_size < 1:
        raise UsageError("--epochs and --batch-size must be at least 1")
    if cfg.init_from and cfg.distribute == "multiworker":
        raise UsageError("--init-from is for one machine; it cannot be used with --distribute multiworker")
    import keras  # only now: a usage error above costs no TensorFlow start-up
    import tensorflow as tf

    from soroban_vision.model import weight_bytes

    started = time.time()
    reporter.event("status", message=f"training {cfg.arch} (seed {cfg.seed})", config=asdict(cfg))
    keras.utils.set_random_seed(cfg.seed)
    if cfg.deterministic:
        # process-wide and for good: every later op in this process is deterministic too
        tf.config.experimental.enable_op_determinism()
    with tempfile.TemporaryDirectory(prefix="sv-train-") as tmp:
        ds = load_training_data(cfg, Path(tmp), reporter)
        train_items, val_items = stratified_split(ds.items, cfg.val_split, cfg.seed)
        counts = _report_dataset(ds, train_items, val_items, reporter)
        covered, covered_val = stratified_split(ds.occluded, cfg.val_split, cfg.seed)
        train_items += covered  # trained toward no information; validation keeps to digits
        if cfg.distribute == "multiworker":
            from soroban_vision.multiworker.loop import fit_multiworker

            model, progress, final_val, facts = fit_multiworker(
                cfg, cluster, train_items, val_items, reporter
            )
        else:
            strategy = _strategy(cfg.distribute)
            if cfg.distribute:
                reporter.event(
                    "status",
                    message=f"{cfg.distribute} strategy over {strategy.num_replicas_in_sync} replica(s)",
                )
            model, progress, final_val = _fit(cfg, strategy, train_items, val_items, reporter)
            facts = {"replicas": int(strategy.num_replicas_in_sync)}
        if covered_val:
            facts["occluded"] = occluded.flagged(model, covered_val, len(covered))
    if not chief:
        return {"val": final_val, "n_val": len(val_items), "epochs_run": len(progress.history), **facts}

    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    duration = time.time() - started
    metrics = {
        "arch": cfg.arch,
        "n_train": len(train_items),
        "n_val": len(val_items),
        "val": final_val,
        "best_epoch": int(np.argmin([h["val_loss"] for h in progress.history]) + 1)
        if progress.history
        else 0,
        "epochs_run": len(progress.history),
        "stopped_by_file": progress.stopped_by_file,
        "params": int(model.count_params()),
        "replicas": facts.pop("replicas"),
        "weight_bytes_float32": weight_bytes(model),
        "duration_s": round(duration, 1),
        "seed": cfg.seed,
        "digit_counts": {str(k): v for k, v in counts.items()},
        **facts,  # multiworker: the workers, the weights' digest, the epoch it resumed from
    }
    _write_evidence(out, cfg, progress.history, metrics)
    if cfg.distribute == "multiworker":
        from soroban_vision.multiworker import backup

        backup.remove(out)  # the model is saved: the backup has done its job
    reporter.event("complete", metrics=metrics, duration_s=round(duration, 1), out=str(out))
    return metrics


def _report_dataset(ds: Dataset, train_items: list[Item], val_items: list[Item], reporter: Reporter) -> dict:
    """Tell the reporter what was loaded and how it was split; return the images per digit."""
    counts = ds.counts()
    reporter.event(
        "dataset_loaded",
        counts={str(k): v for k, v in counts.items()},
        train=len(train_items),
        val=len(val_items),
        skipped=len(ds.skipped),
        resized=len(ds.resized),
    )
    missing = [d for d, n in counts.items() if n == 0]
    if missing:
        reporter.event(
            "status", message=f"warning: no images of digit(s) {missing}; the model cannot learn them"
        )
    return counts


def _fit(cfg: TrainConfig, strategy, train_items: list[Item], val_items: list[Item], reporter: Reporter):
    """Build and fit the model under `strategy`: (model, the Progress callback, final validation)."""
    import keras
    import tensorflow as tf

    from soroban_vision import pipeline
    from soroban_vision.model import build_model, init_from

    global_batch = cfg.batch_size * strategy.num_replicas_in_sync
    train_ds = pipeline.dataset(
        train_items, global_batch, training=True, seed=cfg.seed, cache_limit_mb=cfg.cache_limit_mb
    )
    val_ds = pipeline.dataset(val_items, 256, training=False, cache_limit_mb=cfg.cache_limit_mb)
    readable = [it for it in train_items if it.digit is not None]
    probe_items = random.Random(cfg.seed).sample(readable, min(len(readable), 2000))
    probe = (
        pipeline.dataset(probe_items, 256, training=False, cache_limit_mb=cfg.cache_limit_mb),
        pipeline.labels(probe_items),
    )
    steps = int(np.ceil(len(train_items) / global_batch))
    with strategy.scope():
        kwargs = {"weights": cfg.weights} if cfg.arch == "mobilenetv2" else {}
        model = build_model(cfg.arch, **kwargs)
        if cfg.init_from:
            init_from(
                model, cfg.init_from, f"--init-from {cfg.init_from} is not a {cfg.arch} model (see --arch)"
            )
        model.compile(
            optimizer=keras.optimizers.Adam(cfg.learning_rate),
            loss={"heaven": "binary_crossentropy", "earth": "categorical_crossentropy"},
        )
    val_labels = pipeline.labels(val_items)

    def measure(which: str) -> dict:
        return (
            evaluate_arrays(model, val_ds, *val_labels)
            if which == "val"
            else evaluate_arrays(model, probe[0], *probe[1])
        )

    progress, callbacks = training_callbacks(cfg, measure, reporter, steps)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    model.fit(train_ds.with_options(options), epochs=cfg.epochs, callbacks=callbacks, verbose=0)
    return model, progress, evaluate_arrays(model, val_ds, *val_labels)


def _write_evidence(out: Path, cfg: TrainConfig, history: list[dict], metrics: dict) -> None:
    """The run's history, metrics, training curves and model card, next to model.keras."""
    from soroban_vision.report import model_card, plot_history

    write_json_atomic(out / "history.json", history)
    write_json_atomic(out / "metrics.json", metrics)
    plot_history(history, out / "training.png")
    (out / "model-card.md").write_text(model_card(cfg, metrics))
