"""Append the fresh test-set figures (test.json from `soroban-vision evaluate --json`) to a model card."""

import json
import sys
from pathlib import Path

folder, seed = Path(sys.argv[1]), sys.argv[2]
t = json.loads((folder / "test.json").read_text())
with (folder / "model-card.md").open("a") as card:
    card.write(
        f"\n## Fresh test set\n\n{t['n']} columns rendered with seed {seed}, which training never used "
        f"(`make model`): digit accuracy **{t['digit_accuracy']:.4f}** ({t['errors']} errors), "
        f"heaven {t['heaven_accuracy']:.4f}, earth {t['earth_accuracy']:.4f}.\n"
    )
