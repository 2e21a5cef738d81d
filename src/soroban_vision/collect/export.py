"""`soroban-vision dataset export`: the accepted crops as datasets in the `{digit}/*.png` + manifest
format, one for training and one held out, with every player's crops on one side only, so the
held-out score is the score on players the model has never seen."""

from __future__ import annotations

import hashlib
import math

from soroban_vision.beads import to_beads
from soroban_vision.data import MANIFEST, column_manifest, write_json_atomic
from soroban_vision.errors import DatasetError
from soroban_vision.folders import check_fresh, staged_folder
from soroban_vision.preprocess import HEIGHT, WIDTH

SPLITS = ("train", "heldout")


def held_out_players(players: list[str], fraction: float) -> set[str]:
    """A fixed share of the players (at least one when there are two or more), chosen by the hash of
    their (already hashed) ids: the same database gives the same split."""
    unique = sorted(set(players), key=lambda p: hashlib.sha256(p.encode()).hexdigest())
    if len(unique) < 2 or fraction <= 0:
        return set()
    n = min(len(unique) - 1, max(1, math.floor(len(unique) * fraction + 0.5)))
    return set(unique[:n])


def export_dataset(db: str, out, heldout: float = 0.2, say=print) -> dict:
    """Write OUT/train and OUT/heldout (each `{digit}/*.png` + manifest.json); returns the counts."""
    from soroban_vision.collect.storage import Store

    if not 0 <= heldout < 1:
        raise DatasetError(f"--heldout must be at least 0 and below 1, got {heldout}")
    out = check_fresh(out, beside=True)
    store = Store(db)
    try:
        rows = store.accepted()
    finally:
        store.close()
    if not rows:
        raise DatasetError(f"{db} has no accepted crops yet: review them first (the review page)")
    players = [r["player"] or "anonymous" for r in rows]
    held = held_out_players(players, heldout)
    items = {split: [] for split in SPLITS}
    with staged_folder(out) as stage:
        for row, player in zip(rows, players, strict=True):
            split = "heldout" if player in held else "train"
            rel = f"{row['label']}/{row['sha256'][:24]}.png"
            path = stage / split / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(row["png"])
            beads = to_beads(row["label"])
            items[split].append(
                {
                    "file": rel,
                    "digit": row["label"],
                    "heaven": beads.heaven,
                    "earth": beads.earth,
                    "sha256": row["sha256"],
                    "player": player,
                    "submitted_label": row["submitted_label"],
                    "model": {
                        "name": row["model_name"],
                        "digit": row["model_digit"],
                        "confidence": row["model_confidence"],
                    },
                    "created_at": row["created_at"],
                }
            )
        for split in SPLITS:
            (stage / split).mkdir(exist_ok=True)
            n_players = len({i["player"] for i in items[split]})
            manifest = column_manifest(
                "collected", items[split], split=split, size=[WIDTH, HEIGHT], players=n_players
            )
            write_json_atomic(stage / split / MANIFEST, manifest)
    counts = {split: len(items[split]) for split in SPLITS}
    say(
        f"wrote {counts['train']} crops to {out / 'train'} and {counts['heldout']} to {out / 'heldout'} "
        f"({len(set(players)) - len(held)} and {len(held)} players)"
    )
    return counts
