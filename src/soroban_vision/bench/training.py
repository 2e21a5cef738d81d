"""The data both models learn from, their training, and the training figures: time to the target
accuracy, best validation accuracy, wall time."""

from __future__ import annotations

import time
from pathlib import Path

from soroban_vision.bench.config import ARCHS, BenchConfig
from soroban_vision.bench.results import OURS, REFERENCE, Row
from soroban_vision.seeds import CHECK_SEED, TEST_SEED, TRAIN_SEED

TARGET_VAL_ACCURACY = 0.995


def render_sets(cfg: BenchConfig, root: Path, say) -> dict[str, Path]:
    """The training, test and (when asked) export-check sets, each rendered from its own seed."""
    from soroban_vision.data import write_dataset

    sets = {"train": (cfg.per_digit, TRAIN_SEED), "test": (cfg.test_count // 10, TEST_SEED)}
    if cfg.check_count:
        sets["check"] = (cfg.check_count // 10, CHECK_SEED)
    out = {}
    for name, (per_digit, seed) in sets.items():
        say(f"rendering the {name} set: {per_digit * 10} columns, seed {seed}")
        write_dataset(root / name, per_digit, seed, workers=cfg.processes)
        out[name] = root / name
    return out


class EpochClock:
    """A training Reporter that notes the wall time of each epoch's validation result."""

    def __init__(self, arch: str, say):
        self.arch, self.say = arch, say
        self.t0 = time.perf_counter()
        self.epochs: list[dict] = []

    def event(self, kind: str, **f) -> None:
        if kind != "epoch":
            return
        row = {
            "epoch": f["epoch"],
            "seconds": time.perf_counter() - self.t0,
            "val_digit_accuracy": f["val"]["digit_accuracy"],
        }
        self.epochs.append(row)
        self.say(
            f"{self.arch} epoch {row['epoch']}/{f['epochs']}: val digit accuracy "
            f"{row['val_digit_accuracy']:.4f} at {row['seconds']:.0f} s"
        )

    def reached(self, accuracy: float) -> dict | None:
        return next((e for e in self.epochs if e["val_digit_accuracy"] >= accuracy), None)


def train_both(cfg: BenchConfig, data: Path, root: Path, say) -> dict[str, dict]:
    from soroban_vision.train import TrainConfig, train

    out = {}
    for arch in ARCHS:
        say(f"training {arch}: {cfg.per_digit * 10} columns, {cfg.epochs} epoch(s), batch {cfg.batch_size}")
        clock = EpochClock(arch, say)
        metrics = train(
            TrainConfig(
                data=[str(data)],
                arch=arch,
                epochs=cfg.epochs,
                batch_size=cfg.batch_size,
                seed=TRAIN_SEED,
                out=str(root / arch),
            ),
            clock,
        )
        out[arch] = {"model": root / arch / "model.keras", "metrics": metrics, "clock": clock}
    return out


def _to_target(clock: EpochClock) -> tuple[float | str, int | None]:
    """(seconds, epoch) to the target accuracy, or the honest sentence why there is no number."""
    hit = clock.reached(TARGET_VAL_ACCURACY)
    if hit:
        return hit["seconds"], hit["epoch"]
    best = max((e["val_digit_accuracy"] for e in clock.epochs), default=0.0)
    n = len(clock.epochs)
    return f"not reached in {n} epoch{'s' if n != 1 else ''} (best {100 * best:.2f}%)", None


def training_rows(cfg: BenchConfig, trained: dict[str, dict]) -> list[Row]:
    (t_ours, e_ours), (t_ref, e_ref) = (_to_target(trained[a]["clock"]) for a in ARCHS)
    m = {a: trained[a]["metrics"] for a in ARCHS}
    best = {a: 100 * max(e["val_digit_accuracy"] for e in trained[a]["clock"].epochs) for a in ARCHS}
    n_val = m[OURS]["n_val"]
    return [
        Row(
            "training.time_to_target",
            "Training",
            f"wall time to {100 * TARGET_VAL_ACCURACY:.1f}% validation digit accuracy",
            "s",
            t_ours,
            t_ref,
            better="lower",
            note=f"from the start of `train()`; reached at epoch {e_ours or '-'} (ours), "
            f"{e_ref or '-'} (reference); {n_val} validation columns",
        ),
        Row(
            "training.best_val_accuracy",
            "Training",
            "best validation digit accuracy",
            "%",
            best[OURS],
            best[REFERENCE],
            note=f"{n_val} validation columns",
        ),
        Row(
            "training.duration",
            "Training",
            "training wall time, all epochs run",
            "s",
            float(m[OURS]["duration_s"]),
            float(m[REFERENCE]["duration_s"]),
            better="lower",
            note=f"epochs run: {m[OURS]['epochs_run']} (ours), {m[REFERENCE]['epochs_run']} (reference) "
            f"of {cfg.epochs}; early stopping as in `train`",
        ),
    ]
