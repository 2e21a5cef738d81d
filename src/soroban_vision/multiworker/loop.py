"""Training on one or more machines with TensorFlow's MultiWorkerMirroredStrategy, in a loop of our own.

Keras 3's `model.fit` cannot run under this strategy with more than one worker: before the first
epoch it calls `strategy.reduce("MEAN", batch)` on a whole (images, labels) batch, a nested value the
strategy's cross-worker reduce cannot take (keras-team/keras#20585, tensorflow/tensorflow#72388).
So each step is our own `strategy.run`. The Keras callbacks (progress, learning-rate plateau, early
stopping) run unchanged on every worker and are fed numbers that all workers share, so every worker
takes the same decisions in the same step. The chief writes; the others only train.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import re
import time

import numpy as np

from soroban_vision import pipeline
from soroban_vision.data import Item
from soroban_vision.errors import UsageError
from soroban_vision.multiworker import backup, rendezvous
from soroban_vision.multiworker.cluster import Cluster, ClusterLost
from soroban_vision.multiworker.collective import Collective
from soroban_vision.train import Reporter, TrainConfig, TrainingError, scores, training_callbacks

# the callbacks' state that decides what comes next, kept in the backup
CALLBACK_STATE = (
    "best",
    "wait",
    "cooldown_counter",
    "best_epoch",
    "stopped_epoch",
    "history",
    "stopped_by_file",
)
SCORE_SUMS = ("heaven_loss", "earth_loss", "heaven_ok", "earth_ok", "digit_ok")


def fingerprint(items: list[Item]) -> str:
    """The items' digits and names (folder/file) in order: equal on every worker that sees the same data."""
    lines = "\n".join(f"{it.digit} {it.path.parent.name}/{it.path.name}" for it in items)
    return hashlib.sha256(lines.encode()).hexdigest()[:16]


def run_facts(cfg: TrainConfig, train_items: list[Item], val_items: list[Item]) -> dict:
    """What every worker must share, and what a backup must have been made with."""
    return {
        "--arch": cfg.arch,
        "--epochs": cfg.epochs,
        "--batch-size": cfg.batch_size,
        "--learning-rate": cfg.learning_rate,
        "--val-split": cfg.val_split,
        "--patience": cfg.patience,
        "--seed": cfg.seed,
        "--deterministic": cfg.deterministic,
        "training images": len(train_items),
        "data fingerprint": fingerprint(train_items) + fingerprint(val_items),
    }


def weights_digest(model) -> str:
    """sha256 of the weights as model.keras stores them: equal on two workers only if every bit is."""
    digest = hashlib.sha256()
    for w in model.get_weights():
        digest.update(np.ascontiguousarray(w).tobytes())
    return digest.hexdigest()


def _join(cluster: Cluster | None, facts: dict, cfg: TrainConfig, reporter: Reporter):
    """The strategy over the cluster, once every worker is in (or a one-worker strategy)."""
    import tensorflow as tf

    if cluster is None or cluster.size == 1:
        strategy = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=cluster and cluster.resolver())
        return strategy, Collective(strategy)
    rendezvous.meet(cluster, facts, cfg.cluster_timeout, lambda m: reporter.event("status", message=m))
    message = (
        f"the cluster did not form within {cfg.cluster_timeout:g} s after every worker checked in "
        "(a worker may have stopped); start every worker again"
    )
    with rendezvous.watchdog(cfg.cluster_timeout, message):
        strategy = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=cluster.resolver())
        collective = Collective(strategy)
        collective.sum(np.ones(1))  # the first all-reduce: every worker is in
    return strategy, collective


def _train_step(strategy, model):
    """One step on every replica: gradients of the loss summed over the whole cluster's batch."""
    import keras
    import tensorflow as tf

    variables = model.trainable_variables

    def on_replica(x, y, stop):
        context = tf.distribute.get_replica_context()
        here = tf.cast(tf.shape(x)[0], tf.float32)
        n = context.all_reduce("SUM", here)

        def forward():
            with tf.GradientTape() as tape:
                out = model(x, training=True)
                per_image = keras.losses.binary_crossentropy(
                    y["heaven"], out["heaven"]
                ) + keras.losses.categorical_crossentropy(y["earth"], out["earth"])
                total = tf.reduce_sum(per_image)
                loss = total / n  # this replica's share of the mean over the cluster's batch
            return [total, *tape.gradient(loss, variables)]

        def idle():  # this replica's shard has run out: it adds nothing, but joins the all-reduce
            return [tf.zeros([]), *[tf.zeros(v.shape, v.dtype) for v in variables]]

        total, *grads = tf.cond(here > 0, forward, idle)
        model.optimizer.apply_gradients(zip(grads, variables, strict=True))
        return context.all_reduce("SUM", tf.stack([total, here, stop]))

    @tf.function
    def step(batches, stop):
        x, y = next(batches)
        return strategy.run(on_replica, args=(x, y, stop))

    return step


def _moving_statistics_sync(strategy, model):
    """Batch normalization's moving statistics are each replica's own (Keras 3 keeps them per
    replica): average them over the cluster at the end of each epoch, so every worker evaluates,
    saves and backs up the same model."""
    import keras
    import tensorflow as tf

    def walk(layer):
        yield layer
        for sub in getattr(layer, "layers", []):
            yield from walk(sub)

    stats = [
        v
        for layer in walk(model)
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
        for v in (layer.moving_mean, layer.moving_variance)
    ]

    def on_replica():
        mean = tf.distribute.get_replica_context().all_reduce("MEAN", [tf.identity(v.value) for v in stats])
        for v, m in zip(stats, mean, strict=True):
            v.assign(m)

    @tf.function
    def sync():
        if stats:
            strategy.run(on_replica)

    return sync


def _random_state_from_chief(collective: Collective, model, chief: bool) -> None:
    """Give every worker the chief's dropout seed state: a replica whose shard ran out skipped the
    last forward pass of the epoch, so its seed lags the chief's, and the backup holds the chief's."""
    states = [v for v in model.non_trainable_variables if not v.dtype.startswith("float")]
    mine = [np.asarray(v.numpy()) for v in states]
    payload = collective.from_chief(b"".join(a.tobytes() for a in mine) if chief else None)
    offset = 0
    for v, a in zip(states, mine, strict=True):
        v.assign(np.frombuffer(payload, a.dtype, a.size, offset).reshape(a.shape))
        offset += a.nbytes


def _measure(collective: Collective, model, items: list[Item]):
    """Loss and accuracies over every worker's share of `items` (the same numbers on all workers)."""
    labels = pipeline.labels(items)
    batches = pipeline.dataset(items, 256, training=False) if items else None

    def measure() -> dict:
        sums = np.zeros(1 + len(SCORE_SUMS))
        if items:
            s = scores(model, batches, *labels)
            sums = np.array([len(items)] + [np.sum(s[k], dtype=np.float64) for k in SCORE_SUMS])
        n, heaven_loss, earth_loss, heaven_ok, earth_ok, digit_ok = collective.sum(sums)
        return {
            "n": int(n),
            "loss": float(heaven_loss / n + earth_loss / n),
            "heaven_accuracy": float(heaven_ok / n),
            "earth_accuracy": float(earth_ok / n),
            "digit_accuracy": float(digit_ok / n),
        }

    return measure


def _state(model, callbacks, progress, run: dict, epochs_done: int) -> bytes:
    arrays = {f"model/{i}": np.asarray(v.numpy()) for i, v in enumerate(model.variables)}
    arrays |= {f"optimizer/{i}": np.asarray(v.numpy()) for i, v in enumerate(model.optimizer.variables)}
    arrays |= {f"best/{i}": w for i, w in enumerate(progress.best_weights or [])}
    kept = [{k: getattr(c, k) for k in CALLBACK_STATE if hasattr(c, k)} for c in callbacks]
    kept = [{k: float(v) if isinstance(v, np.floating) else v for k, v in c.items()} for c in kept]
    return backup.pack(arrays, {"run": run, "epochs_done": epochs_done, "callbacks": kept})


def _restore(payload: bytes, model, callbacks, progress) -> int:
    """Put the backup's state back on this worker; the number of epochs already done."""
    arrays, doc = backup.unpack(payload)
    for prefix, variables in (("model", model.variables), ("optimizer", model.optimizer.variables)):
        for i, v in enumerate(variables):
            v.assign(arrays[f"{prefix}/{i}"])
    best = [arrays[k] for k in sorted((k for k in arrays if k.startswith("best/")), key=lambda k: int(k[5:]))]
    progress.best_weights = best or None
    for callback, kept in zip(callbacks, doc["callbacks"], strict=True):
        for k, v in kept.items():
            setattr(callback, k, v)
    return int(doc["epochs_done"])


def _lost(error, cluster: Cluster | None, epoch: int) -> ClusterLost:
    """A TensorFlow error from a peer that went away, in words: which worker, and where to resume."""
    tasks = sorted({int(t) for t in re.findall(r"/job:worker/replica:0/task:(\d+)", str(error))})
    who = ", ".join(f"worker {t} ({cluster.workers[t]})" for t in tasks if cluster and t < cluster.size)
    return ClusterLost(
        f"lost {who or 'a worker'} during epoch {epoch + 1} ({type(error).__name__}); start it again with "
        f"the same command and the cluster resumes after epoch {epoch}"
    )


class _Run:
    """One worker's part of a run: its shard, the model, the callbacks and the epoch loop."""

    def __init__(self, cfg: TrainConfig, cluster: Cluster | None, train_items, val_items, reporter: Reporter):
        import keras

        from soroban_vision.model import build_model

        self.cfg, self.cluster, self.reporter = cfg, cluster, reporter
        self.workers, self.index = (cluster.size, cluster.index) if cluster else (1, 0)
        self.chief = self.index == 0
        self.run = run_facts(cfg, train_items, val_items)
        self.saved = backup.load(cfg.out, self.run) if self.chief else None  # checked before the chief waits
        self.strategy, self.collective = _join(cluster, self.run, cfg, reporter)
        replicas = self.strategy.num_replicas_in_sync
        reporter.event("status", message=f"multiworker strategy over {replicas} replica(s)")
        local = replicas // self.workers
        shards = [pipeline.shard(train_items, w, self.workers) for w in range(self.workers)]
        if not all(shards):
            raise UsageError(f"{self.workers} workers for {len(train_items)} training images: some get none")
        self.steps = max(math.ceil(len(s) / (cfg.batch_size * local)) for s in shards)
        mine = shards[self.index]
        reporter.event(
            "shard",
            worker=self.index,
            workers=self.workers,
            files=len(mine),
            of=len(train_items),
            sha256=fingerprint(mine),
        )
        self.source = pipeline.EpochBatches(
            mine, cfg.batch_size, seed=cfg.seed, batches=self.steps * local, cache_limit_mb=cfg.cache_limit_mb
        )
        with self.strategy.scope():
            model = build_model(cfg.arch, **({"weights": cfg.weights} if cfg.arch == "mobilenetv2" else {}))
            model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate))
            model.optimizer.build(model.trainable_variables)
        self.model = model
        readable = [it for it in train_items if it.digit is not None]
        probe_items = random.Random(cfg.seed).sample(readable, min(len(readable), 2000))
        self.measures = {
            "val": _measure(self.collective, model, pipeline.shard(val_items, self.index, self.workers)),
            "train": _measure(self.collective, model, pipeline.shard(probe_items, self.index, self.workers)),
        }
        self.stop_agreed = False
        self.progress, self.callbacks = training_callbacks(
            cfg, lambda which: self.measures[which](), reporter, self.steps, lambda: self.stop_agreed
        )
        self.listed = keras.callbacks.CallbackList(self.callbacks, model=model)
        self.step, self.sync = (
            _train_step(self.strategy, model),
            _moving_statistics_sync(self.strategy, model),
        )
        self.epoch = self.start = 0

    def epochs(self) -> None:
        """Resume from the chief's backup if there is one, then train epoch after epoch."""
        self.model.stop_training = False
        self.listed.on_train_begin()
        payload = self.collective.from_chief(self.saved)
        if payload:
            self.start = self.epoch = _restore(payload, self.model, self.callbacks, self.progress)
            self.reporter.event("status", message=f"resuming from the backup after epoch {self.start}")
        for epoch in range(self.start, self.cfg.epochs):
            self.epoch = epoch
            self._one_epoch(epoch)
            if self.chief:
                backup.save(
                    self.cfg.out, _state(self.model, self.callbacks, self.progress, self.run, epoch + 1)
                )
            if self.model.stop_training:
                break
        self.listed.on_train_end()

    def _one_epoch(self, epoch: int) -> None:
        import tensorflow as tf

        cfg, local_results = self.cfg, self.strategy.experimental_local_results
        self.listed.on_epoch_begin(epoch)
        batches = iter(self.strategy.distribute_datasets_from_function(lambda _: self.source.epoch(epoch)))
        total = count = 0.0
        began = time.perf_counter()
        for batch in range(self.steps):
            stop_here = float(bool(cfg.stop_file) and os.path.exists(cfg.stop_file))  # this worker's own file
            loss_sum, n, stops = local_results(self.step(batches, tf.constant(stop_here)))[0]
            total, count, self.stop_agreed = total + float(loss_sum), count + float(n), float(stops) > 0
            self.listed.on_train_batch_end(batch, {"loss": total / count})
            if self.model.stop_training:
                break
        seconds = time.perf_counter() - began
        self.sync()
        _random_state_from_chief(self.collective, self.model, self.chief)
        self.listed.on_epoch_end(
            epoch, {"loss": total / count, "images": count, "images_per_s": count / seconds}
        )

    def finish(self) -> tuple[dict, dict]:
        """(final validation, facts for metrics.json); each worker checks it ends with the chief's weights."""
        final = self.measures["val"]()
        digest = weights_digest(self.model)
        chiefs = self.collective.from_chief(digest.encode() if self.chief else None).decode()
        in_step = int(self.collective.sum(np.array([chiefs == digest], np.int64))[0]) == self.workers
        if not self.chief:
            how = "in step with the chief" if in_step else "but its weights differ from the chief's"
            epochs = len(self.progress.history)
            self.reporter.event(
                "status",
                message=f"worker {self.index} of {self.workers} done: {epochs} epoch(s), {how}",
                weights_sha256=digest,
            )
        return final, {
            "replicas": int(self.strategy.num_replicas_in_sync),
            "chief": self.chief,
            "workers": self.workers,
            "workers_in_step": in_step,
            "weights_sha256": digest,
            "resumed_after_epoch": self.start,
        }


def fit_multiworker(cfg: TrainConfig, cluster: Cluster | None, train_items, val_items, reporter: Reporter):
    """(model, Progress callback, final validation, facts for metrics.json), trained across the cluster."""
    import tensorflow as tf

    gone = (
        tf.errors.UnavailableError,
        tf.errors.DeadlineExceededError,
        tf.errors.AbortedError,
        tf.errors.CancelledError,
    )
    run = None
    try:
        run = _Run(cfg, cluster, train_items, val_items, reporter)
        run.epochs()
        final, facts = run.finish()
    except gone as e:  # a peer went away: TensorFlow cannot go on with this cluster
        raise _lost(e, cluster, run.epoch if run else 0) from None
    except TrainingError:
        if cluster is None or cluster.is_chief:
            backup.remove(cfg.out)  # diverged: resuming would diverge again
        raise
    return run.model, run.progress, final, facts
