"""The chief's backup of a multi-worker run: everything training needs to go on (weights, optimizer,
callbacks, history), written after every completed epoch to `--out/.backup/state.npz` and removed
once the model is saved. Only the chief writes it; it sends it to the other workers on resume."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import numpy as np

from soroban_vision.errors import UsageError

FOLDER = ".backup"
FILE = "state.npz"


def folder(out: str | Path) -> Path:
    return Path(out) / FOLDER


def pack(arrays: dict[str, np.ndarray], doc: dict) -> bytes:
    """Arrays and a JSON document in one .npz, as bytes."""
    buffer = io.BytesIO()
    np.savez(buffer, __doc__=np.frombuffer(json.dumps(doc).encode(), np.uint8), **arrays)
    return buffer.getvalue()


def unpack(payload: bytes) -> tuple[dict[str, np.ndarray], dict]:
    with np.load(io.BytesIO(payload)) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "__doc__"}
        return arrays, json.loads(npz["__doc__"].tobytes())


def save(out: str | Path, payload: bytes) -> None:
    """Write atomically: a worker killed mid-write leaves the previous epoch's backup whole."""
    where = folder(out)
    where.mkdir(parents=True, exist_ok=True)
    partial = where / f".{FILE}.partial"
    with open(partial, "wb") as f:
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, where / FILE)


def load(out: str | Path, run: dict) -> bytes | None:
    """The backup's bytes, if there is one and the same run (`run`: options and data) made it."""
    path = folder(out) / FILE
    if not path.is_file():
        return None
    payload = path.read_bytes()
    try:
        _, doc = unpack(payload)
    except (OSError, ValueError, KeyError) as e:
        raise UsageError(
            f"{path} is not a readable backup ({e}); delete {folder(out)} to start afresh"
        ) from None
    if doc.get("run") != run:
        theirs = doc.get("run") or {}
        keys = sorted(k for k in run if theirs.get(k) != run[k])
        raise UsageError(
            f"{path} is the backup of another run (different {', '.join(keys) or 'format'}); "
            f"delete {folder(out)} or choose a fresh --out"
        )
    return payload


def remove(out: str | Path) -> None:
    shutil.rmtree(folder(out), ignore_errors=True)
