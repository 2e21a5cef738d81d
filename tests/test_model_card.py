"""The shipped model card is what `make publish-model` writes (scripts/model_card_test.py): the
run's own card, the fresh test set, and the sections a user needs before trusting the model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from soroban_vision.report import published_card
from soroban_vision.seeds import TEST_SEED
from tests.conftest import ROOT

MODEL = ROOT / "models" / "column"
SECTIONS = (
    "## Fresh test set",
    "## Intended use",
    "## Training data",
    "## Known failure modes",
    "## Measured figures and the commands that produced them",
    "## How to retrain",
)


def test_the_shipped_card_is_what_publishing_writes_and_keeps_every_section(tmp_path):
    shipped = (MODEL / "model-card.md").read_text()
    for section in SECTIONS:
        assert shipped.count(section) == 1, section
    for words in ("Renders only", "hands", "dark", "Small markers", "without markers", "3-rod", "make model"):
        assert words in shipped, words
    test = json.loads((MODEL / "test.json").read_text())
    assert published_card(shipped, test, TEST_SEED) == shipped  # publishing again changes nothing

    # as publish-model does it: the run's own card (train's model_card), then the script
    run_card = shipped.split("\n## Fresh test set")[0] + "\n"
    (tmp_path / "model-card.md").write_text(run_card)
    shutil.copy2(MODEL / "test.json", tmp_path / "test.json")
    script = ROOT / "scripts" / "model_card_test.py"
    subprocess.run([sys.executable, script, tmp_path, str(TEST_SEED)], check=True, timeout=60)
    assert (tmp_path / "model-card.md").read_text() == shipped
