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


# What the card of a published model says beyond its training run (`make publish-model` adds it):
# what the model is for, what it learned from, where it fails, the figures measured on it with
# their commands, and how to make it again. Written once here so that republishing keeps it.
PUBLISHED_SECTIONS = """
## Intended use

Reading the number set on a soroban (1 to 31 rods) from a camera or a photo, one rod at a time,
inside soroban-vision's whole-soroban reader: in Python (`read_abacus`, `soroban-vision read` and
`watch`, through ONNX Runtime) and in the browser (the npm package `soroban-vision`, TF.js, the same
crops). It is meant for teaching and practice tools where a person sees the answer and can retake
the picture. It is not meant for any decision that must be right without a person checking it:
every reading carries per-column confidences, and a column below 0.8 is reported as hidden, not
as a digit (the number is then not given).

## Training data

Renders only, until real data arrives (`collect-server`), in three stages (`make model`):
60,000 classic columns from our flat renderer (`soroban_vision.render`: drawn frames, rods and
bicone beads through a simulated camera: tilt up to 25°, light, shadow, exposure, blur, sensor
noise, JPEG); then a fine-tune on 15,000 classic columns mixed with 30,000 of the wide variety
(`--variety wide`: six bead colours, bicone and rounded beads, wood and plastic frames, glare, low
and coloured light, motion blur, focus falloff) and 3,333 columns that rendered hands cover
(`occluded/`), trained toward no information so that they come out hidden; then a second fine-tune
that adds crops cut from whole scenes the way the reader cuts them (`dataset scenes`): 1,000 wide
scenes (seeds 3201/3202) and 400 Blender scenes (`render-3d`, seed 3101), beside 10,000 classic and
16,667 wide columns.
No photograph of a real soroban was used to train or to measure this model. The 3D sets below are
held out by seed (888001/888002): training saw the 3D renderer, never those scenes.

## Known failure modes

From the evaluation's per-condition breakdown (`evaluate-scenes`) and from photos in styles the
renderer does not make (issue 12: 34 of 40 such photos read exactly with the markers, 29 of 40
without). Each is a case to expect wrong or missing readings:

- **Hands or fingers over the beads.** Trained on covered columns, the model flags most of them
  (99% of held-out covered crops; in whole scenes fewer, see below), but a finger that hides part
  of a rod can still leave a confident wrong digit; when any column is hidden, the reader reads
  the others only when they are 0.99 sure, and calls the rod count unsure when a hand hides any
  column, since the digits read may then sit on the wrong rods. The Stabilizer keeps a covered column's last
  confident digit, and the count an earlier sure frame read, while the soroban holds still.
- **The 3D renderer's rod count.** On Blender renders (`render-3d`: real bead geometry, rods below
  the frame's top face) the rods span less of the rectified frame than on a flat soroban, and the
  rod count fitted from the frame's brightness profile is wrong on about one scene in six; see the
  3D rows below.
- **Small or dark sorobans.** At about 19 px per rod, or dark beads on a dark frame, the
  confidences drop or the digits are wrong.
- **Small markers.** Markers under about 10 px wide, or smeared by motion blur, are
  often not found, and the reader falls back to the search without markers (or, with
  `--markers on`, finds no frame). Print them larger
  (`soroban-vision markers --side-mm 15` or more) or move closer.
- **Busy backgrounds without markers.** The frame search can take another rectangle for the frame,
  or find none (`FrameNotFound`); use the markers, or give the corners. A frame found cut short
  (a hand or a wrong edge at its end) makes the rod count unsure when the rod past its end reads as
  a rod, but not when a hand covers that rod too.
- **3-rod frames with wide side rails.** With only three rods, the rod count fitted from the rod
  spacing can take a wide rail for a rod or a rod for a rail; give `--columns`.
- One model for every rod: it does not know which rod it reads, and a column cut from a side rail
  can look confident. The reader guards the rod count by comparing layouts, not the model.
- Tilt beyond 25° is not covered by the flat renders; the 3D scenes tilt up to 30°.

## Measured figures and the commands that produced them

{figures}

The first row is written from `test.json` each time the model is published; the others were
measured on this model with `evaluate-scenes --browser` (rod count detected, 2 cores). "Exact"
counts a number given and right; a scene with a hidden column gives no number, so a scene with a
hand over its rods is at best flagged. "Silent wrong": a digit given wrong, unflagged.

## How to retrain

`make model` renders 60,000 classic training columns (seed 1001) and trains up to 30 epochs (about
40 minutes on 2 cores), then renders the fine-tune mix (classic seed 1001, wide seed 1002 with a
tenth covered) and fine-tunes 12 epochs from it (`train --init-from`, about 30 minutes), then
cuts the scene crops (`make photoreal-train` renders the Blender scenes, about 20 minutes) and
fine-tunes 20 epochs more (about 25 minutes), evaluates
on a fresh classic test set of 5,000 (seed 9999), then runs `make publish-model`: it copies the run
into `models/column/`, writes this card, and exports TF.js float32 and float16 and ONNX, each
checked against Keras.
`make publish-model RUN=out/my-run` publishes another run (its `test.json` from `soroban-vision
evaluate --json`).

## Files

`model.onnx` (ONNX Runtime, what `read` and `classify` run) and `contract.json`; `tfjs/` (TF.js
float32 graph model with its contract, what the browser loads); `tfjs-float16/`; `model.keras` (the
Keras original, for training and export); `metrics.json`, `test.json`, `training.png`. The Python
wheel ships `model.onnx`, `contract.json`, `tfjs/` and this card; the npm package ships `tfjs/`.
"""


def published_card(card: str, test: dict, seed: int | str) -> str:
    """A trained run's card (`model_card`) as published: the fresh test set's figures (test.json
    from `soroban-vision evaluate --json`) and the sections above appended. A card that already
    has them is cut back to the run's own part first, so publishing twice gives the same card."""
    own = card.split("\n## Fresh test set", 1)[0].rstrip("\n") + "\n"
    errors = f"{test['errors']} error{'' if test['errors'] == 1 else 's'}"
    fresh = (
        f"\n## Fresh test set\n\n{test['n']} columns rendered with seed {seed}, which training never "
        f"used (`make model`): digit accuracy **{test['digit_accuracy']:.4f}** ({errors}), heaven "
        f"{test['heaven_accuracy']:.4f}, earth {test['earth_accuracy']:.4f}.\n"
    )
    return own + fresh + PUBLISHED_SECTIONS.format(figures=_figures(test, seed, errors))


def _figures(test: dict, seed, errors: str) -> str:
    rows = [
        ("what", "result", "command"),
        ("---", "---", "---"),
        (
            f"single columns, {test['n']:,} fresh renders (seed {seed})",
            f"digit accuracy {test['digit_accuracy']:.4f} ({errors}), heaven {test['heaven_accuracy']:.4f}, "
            f"earth {test['earth_accuracy']:.4f}",
            f"`soroban-vision render --out test-data --per-digit {test['n'] // 10} --seed {seed}`, then "
            "`soroban-vision evaluate models/column --data test-data --json test.json` "
            "(part of `make model`)",
        ),
        (
            "whole sorobans with markers, 200 classic renders of 13 rods (seed 4343)",
            "exact number 99.0%, silent wrong 0.5%, flagged 1.0%, columns 99.46%, corner error p90 0.36% "
            "of the frame width; the browser reads the same number as Python on 100%",
            "`soroban-vision render-scenes --out scenes --count 200 --columns 13 --markers on --seed 4343`, "
            "then `soroban-vision evaluate-scenes scenes --browser`",
        ),
        (
            "whole sorobans without markers, 200 classic renders (seed 4242)",
            "exact number 98.5%, silent wrong 0.0%, flagged 1.5%, every frame found",
            "the same with `--markers off --seed 4242`",
        ),
        (
            "wide renders, held out (seeds 777001 with markers / 777002 without, 200 each)",
            "exact 38.5% / 34.0% (76.2% / 70.8% of the scenes without a hand), silent wrong 1.5% / 0.5%, "
            "covered columns flagged 69% / 54%",
            "`render-scenes ... --variety wide`, then `evaluate-scenes --browser` (docs/accuracy.md)",
        ),
        (
            "3D renders, held out (seeds 888001 / 888002, 200 each; training saw other Blender scenes)",
            "exact 36.5% / 26.0% (68.3% / 52.0% without a hand), silent wrong 0.5% / 1.5%, "
            "covered columns flagged 75% / 42%",
            "`soroban-vision render-3d ...` (make photoreal), then `evaluate-scenes --browser`",
        ),
        (
            "the exports against Keras (ONNX, TF.js float32 in Node and Chromium)",
            "max probability difference about 1e-7, 200 of 200 decisions agree",
            "`soroban-vision doctor --keras models/column/model.keras --tfjs models/column/tfjs "
            "--onnx models/column/model.onnx`",
        ),
    ]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)
