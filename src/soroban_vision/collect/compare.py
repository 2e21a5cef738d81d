"""A run's comparison, in its own subprocess (one TensorFlow start for both models): the new model
and the current one, scored by `evaluate` on the same held-out collected crops and on the same
freshly rendered columns. Progress goes to stdout as NDJSON events; the result to --out.

    python -m soroban_vision.collect.compare --new M --current M --heldout DIR \
        --rendered-dir DIR --rendered N --seed S --out FILE
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

KEEP = ("n", "digit_accuracy", "heaven_accuracy", "earth_accuracy", "errors", "confusion")
RENDER_SEED_OFFSET = 1_000_003  # never the columns the run rendered to train on (its own seed)


def _say(kind: str, **fields) -> None:
    sys.stdout.write(json.dumps({"event": kind, **fields}) + "\n")
    sys.stdout.flush()


def compare(new: Path, current: Path, heldout: Path, rendered_dir: Path, rendered: int, seed: int) -> dict:
    from soroban_vision.cli.quiet import quiet_tensorflow
    from soroban_vision.data import write_dataset
    from soroban_vision.evaluate import evaluate
    from soroban_vision.model import load_model

    quiet_tensorflow()
    _say("status", message=f"rendering {rendered} columns to compare on")
    per_digit = max(1, rendered // 10)
    # a pool of renderers pays off only past a few hundred columns
    write_dataset(
        rendered_dir, per_digit, seed=seed + RENDER_SEED_OFFSET, workers=1 if rendered <= 200 else None
    )
    sets = {"heldout": heldout, "rendered": rendered_dir}
    doc: dict = {name: {} for name in sets}
    for which, path in (("current", current), ("new", new)):
        _say("status", message=f"evaluating the {which} model")
        model = load_model(path)
        for name, folder in sets.items():
            result = evaluate(model, [folder])
            doc[name][which] = {k: result[k] for k in KEEP}
            _say("evaluated", model=which, set=name, n=result["n"], digit_accuracy=result["digit_accuracy"])
    manifest = json.loads((heldout / "manifest.json").read_text())
    doc["heldout"]["players"] = manifest.get("players", 0)
    return doc


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="compare")
    for name in ("--new", "--current", "--heldout", "--rendered-dir", "--out"):
        parser.add_argument(name, type=Path, required=True)
    parser.add_argument("--rendered", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    a = parser.parse_args(argv)
    doc = compare(a.new, a.current, a.heldout, a.rendered_dir, a.rendered, a.seed)
    from soroban_vision.data import write_json_atomic

    write_json_atomic(a.out, doc)
    sys.stdout.flush()
    os._exit(0)  # the result is written: skip TensorFlow's teardown, seconds the server would wait


if __name__ == "__main__":
    main()
