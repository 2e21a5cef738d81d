"""Publish a model card: the run's own card, then the fresh test-set figures (test.json from
`soroban-vision evaluate --json`) and the standing sections (intended use, training data, known
failure modes, measured figures, how to retrain), from `soroban_vision.report.published_card`.

    python scripts/model_card_test.py models/column 9999
"""

import json
import sys
from pathlib import Path

from soroban_vision.report import published_card

folder, seed = Path(sys.argv[1]), sys.argv[2]
test = json.loads((folder / "test.json").read_text())
card = folder / "model-card.md"
card.write_text(published_card(card.read_text(), test, seed))
