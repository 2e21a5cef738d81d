"""The Keras reference converted to a float32 graph model by the same converter as the deployment,
so the quantization check can hold the deployed weights against float32 ones of the same names:
folded as `export` converts it, or, for a model converted elsewhere, as the converter alone does.
Cached by the reference's SHA-256: the conversion takes a while and the model rarely changes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from soroban_vision import contract as contract_mod


def cache_dir() -> Path:
    root = os.environ.get("SOROBAN_VISION_CACHE") or Path.home() / ".cache" / "soroban-vision"
    return Path(root) / "doctor"


def _digest(path: Path) -> str:
    """SHA-256 of the reference itself: the .keras file (also inside a run folder), or a
    SavedModel's graph and variables; not everything else a training folder may hold."""
    if path.is_dir() and (path / "saved_model.pb").is_file():
        files = [path / "saved_model.pb", *sorted((path / "variables").glob("*"))]
    elif path.is_dir():
        files = [next(c for c in [path / "model.keras", *sorted(path.glob("*.keras"))] if c.is_file())]
    else:
        files = [path]
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(contract_mod.sha256_file(f).encode())
    return h.hexdigest()[:20]


def float32_graph(
    keras_path: Path, keras_model, say: Callable[[str], None] = lambda _: None, folded: bool = True
) -> Path:
    """The float32 graph model folder of the Keras reference (`keras_model`, loaded from
    `keras_path`), converted now or found in the cache: `folded` as `export` converts it
    (`export.saved_model`), else as the converter alone does, for models converted elsewhere."""
    from soroban_vision.export import convert, saved_model
    from soroban_vision.fold import VERSION as FOLD_VERSION

    saved_model_folder = hasattr(keras_model, "fn")  # a SavedModel folder: nothing to fold
    form = f"folded{FOLD_VERSION}-" if folded and not saved_model_folder else ""
    target = cache_dir() / f"float32-{form}{_digest(keras_path)}"
    if (target / "model.json").is_file():
        return target
    say("converting the Keras reference to float32 TF.js weights (cached for next time)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sv-doctor-f32-", dir=target.parent) as tmp:
        tmp = Path(tmp)
        if saved_model_folder:
            saved = keras_path
        else:
            saved = saved_model(keras_model, tmp / "saved", folded=folded)
        convert(saved, tmp / "float32", "float32")
        with contextlib.suppress(OSError):  # another doctor may have finished first
            (tmp / "float32").rename(target)
    return target
