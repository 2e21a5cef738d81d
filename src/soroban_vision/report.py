"""Human-readable evidence: training curves, confusion plots and model cards."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_history(history: list[dict], path: Path) -> None:
    """Loss and validation accuracies per epoch, as one PNG."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    a.plot(epochs, [h["loss"] for h in history], label="train loss")
    a.plot(epochs, [h["val_loss"] for h in history], label="val loss")
    a.set_yscale("log")
    a.set_xlabel("epoch")
    a.legend()
    for key, label in (
        ("digit_accuracy", "digit"),
        ("heaven_accuracy", "heaven"),
        ("earth_accuracy", "earth"),
    ):
        b.plot(epochs, [h["val"][key] for h in history], label=f"val {label}")
    b.plot(epochs, [h["train"]["digit_accuracy"] for h in history], "--", label="train digit")
    b.set_xlabel("epoch")
    b.set_ylabel("accuracy")
    b.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(matrix: np.ndarray, path: Path, title: str = "") -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    im = ax.imshow(np.log1p(matrix), cmap="Blues")
    for (i, j), v in np.ndenumerate(matrix):
        if v:
            ax.text(
                j,
                i,
                str(v),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if v > matrix.max() / 2 else "black",
            )
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="log(1 + count)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def model_card(cfg, metrics: dict) -> str:
    v = metrics["val"]
    data = ", ".join(cfg.data) or "-"
    synthetic = f"{cfg.synthetic} rendered columns (seed {cfg.seed})" if cfg.synthetic else "none"
    epochs = f"{metrics['epochs_run']} run of {cfg.epochs}, best at {metrics['best_epoch']}"
    epochs += f"; batch {cfg.batch_size}"
    return f"""# Column model: {metrics["arch"]}

Reads one soroban rod from a 64x128 gray crop. Input `image` float32 [batch,128,64,1] in [0,1]
(normalization to [-1,1] is a layer inside the model). Outputs by name: `heaven` [batch,1] sigmoid,
`earth` [batch,5] softmax; digit = 5 * (heaven >= 0.5) + argmax(earth).

| | |
|---|---|
| architecture | {metrics["arch"]} |
| parameters | {metrics["params"]:,} |
| float32 weights | {metrics["weight_bytes_float32"] / 1024:.1f} KiB |
| training data | folders: {data}; manifest: {cfg.manifest or "-"}; synthetic: {synthetic} |
| images | {metrics["n_train"]} train, {metrics["n_val"]} validation (stratified by digit) |
| epochs | {epochs} |
| seed | {cfg.seed} |
| training time | {metrics["duration_s"]:.0f} s |
| validation digit accuracy | {v["digit_accuracy"]:.4f} (both heads right on the same image) |
| validation heaven / earth accuracy | {v["heaven_accuracy"]:.4f} / {v["earth_accuracy"]:.4f} |

Validation accuracy is measured on held-out images of the same source as training. The accuracy on a
fresh test set comes from `soroban-vision evaluate`.
"""
