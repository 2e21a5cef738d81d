"""The folder the server publishes fine-tuned models into (set by the server's configuration, never
by a request): `PUBLISH/run-N/` holds model.keras, tfjs/ (the browser's graph model with its
contract.json), and the run's evidence (metrics, comparison, the doctor's report, model card);
`PUBLISH/current.json` names the one published last. That one is the *current* model the next run
starts from and is compared with; before the first publish it is the model the server reads with."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from soroban_vision.data import write_json_atomic

CURRENT = "current.json"
EVIDENCE = ("metrics.json", "history.json", "model-card.md", "training.png")


def current(publish_dir: Path | None, fallback: Path) -> tuple[str, Path]:
    """(name, model path) of the current model: the last published, else `fallback`."""
    if publish_dir is not None:
        try:
            name = json.loads((publish_dir / CURRENT).read_text())["name"]
            folder = publish_dir / name
            if isinstance(name, str) and name.startswith("run-") and (folder / "model.keras").is_file():
                return name, folder
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return fallback.stem if fallback.is_file() else fallback.name, fallback


def place(stage: Path, publish_dir: Path, name: str, record: dict) -> Path:
    """Move a finished `stage` folder to PUBLISH/name in one rename, then make it current."""
    publish_dir.mkdir(parents=True, exist_ok=True)
    target = publish_dir / name
    if target.exists():
        shutil.rmtree(target)  # a name is a run's: only an earlier failed publish of this run left it
    os.replace(stage, target)
    write_json_atomic(publish_dir / CURRENT, {"name": name, **record})
    return target


def stage_evidence(model_dir: Path, stage: Path, extra: dict[str, dict]) -> None:
    """The trained model and its evidence copied into the staging folder, plus `extra` JSON files."""
    stage.mkdir(parents=True, exist_ok=True)
    shutil.copy2(model_dir / "model.keras", stage / "model.keras")
    for name in EVIDENCE:
        if (model_dir / name).is_file():
            shutil.copy2(model_dir / name, stage / name)
    for name, doc in extra.items():
        write_json_atomic(stage / name, doc)
