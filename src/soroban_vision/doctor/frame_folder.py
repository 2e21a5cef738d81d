"""`doctor --frame DIR`: a frame model folder as `export` writes it (models/frame/: model.keras,
model.onnx with its contract.json, tfjs/ with its own), checked before anything runs. Each way it
can be unusable is one line with a stable code: no_frame_model (no such folder, or no model in
it), not_frame (another kind of model), missing_file (a file its contract lists is gone)."""

from __future__ import annotations

import json
from pathlib import Path

from soroban_vision.contract import FILENAME, FRAME_OUTPUTS
from soroban_vision.errors import UsageError


def roles_of(doc: dict | None) -> set[str]:
    return {o.get("role") for o in (doc or {}).get("outputs", {}).values() if isinstance(o, dict)}


def is_frame_contract(doc: dict | None) -> bool:
    return roles_of(doc) == set(FRAME_OUTPUTS)


def read_contract(folder: Path) -> dict | None:
    """folder/contract.json as a dict, or None when there is none or it is not JSON."""
    path = Path(folder) / FILENAME
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def check_listed_files(doc: dict, folder: Path, shown: str) -> None:
    """Every file the contract lists is there (a missing shard would stop every runtime)."""
    for name in (doc.get("weights") or {}).get("files") or {}:
        if not (Path(folder) / name).is_file():
            raise UsageError(
                f"{shown}: {name} is missing (its contract.json lists it); copy the whole export again",
                code="missing_file",
            )


def resolve(folder: str | Path) -> dict[str, Path | None]:
    """{keras, tfjs, onnx}: the frame model's files in `folder`, each None when absent."""
    folder = Path(folder)
    if not folder.exists():
        raise UsageError(f"--frame {folder} does not exist (a frame model folder, e.g. models/frame)",
                         code="no_frame_model")  # fmt: skip
    if not folder.is_dir():
        raise UsageError(f"--frame {folder} is not a folder (a frame model folder, e.g. models/frame)",
                         code="no_frame_model")  # fmt: skip
    tfjs = folder / "tfjs" if (folder / "tfjs" / "model.json").is_file() else None
    if tfjs is None and (folder / "model.json").is_file():
        tfjs = folder  # the folder is a TF.js export itself
    onnx = folder / "model.onnx" if (folder / "model.onnx").is_file() else None
    keras = folder / "model.keras" if (folder / "model.keras").is_file() else None
    contracts = {where: read_contract(where) for where in {folder, *([tfjs] if tfjs else [])}}
    found = {where: doc for where, doc in contracts.items() if doc is not None}
    if not found and keras is None and onnx is None and tfjs is None:
        raise UsageError(f"--frame {folder} holds no model (model.keras, model.onnx or tfjs/model.json)",
                         code="no_frame_model")  # fmt: skip
    if not found or not all(is_frame_contract(doc) for doc in found.values()):
        roles = sorted(r for doc in found.values() for r in roles_of(doc) if r) or ["none"]
        raise UsageError(
            f"--frame {folder} is not a frame model: its contract roles are {', '.join(roles)}, a frame "
            f"model's are {', '.join(FRAME_OUTPUTS)} (for a column model use --keras/--tfjs/--onnx)",
            code="not_frame",
        )
    for where, doc in found.items():
        shown = str(folder) if where == folder else str(where)
        check_listed_files(doc, where, shown)
    return {"keras": keras, "tfjs": tfjs, "onnx": onnx}


def contract_near(keras, tfjs, onnx) -> dict | None:
    """The first frame contract beside any of the model files given (tfjs first), or None."""
    places = [Path(tfjs)] if tfjs is not None else []
    places += [Path(p).parent for p in (onnx, keras) if p is not None and Path(p).is_file()]
    places += [Path(keras)] if keras is not None and Path(keras).is_dir() else []
    for where in places:
        doc = read_contract(where)
        if is_frame_contract(doc):
            return doc
    return None
