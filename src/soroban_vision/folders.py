"""Output folders: a command writes only into a folder that is new or empty, never over a user's files,
finds out that it cannot write there before it does any work, and can publish a finished folder in one
step, so that a refused or crashed run leaves nothing half-written."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from soroban_vision.errors import UsageError


def check_fresh(
    path: str | Path,
    flag: str = "--out",
    error: type[UsageError] = UsageError,
    *,
    beside: bool = False,
) -> Path:
    """`path` as a Path if it is missing or an empty folder that this process can write; otherwise
    `error`, naming `flag`. `beside=True`: the folder will be staged beside itself and renamed into
    place (`staged_folder`), so its parent must be writable too."""
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise error(f"{path} exists and is not an empty folder; choose a fresh {flag}")
    where = _nearest_existing(path.absolute().parent if beside else path.absolute())
    if not where.is_dir():
        raise error(f"cannot write {flag} {path}: {where} is a file, not a folder")
    # os.access is not enough: root passes it on read-only folders, and it knows no read-only mounts
    probe = where / f".soroban-vision-probe-{secrets.token_hex(4)}"
    try:
        probe.mkdir()
    except OSError as e:
        raise error(f"cannot write {flag} {path}: {e.strerror or e} in {where}") from None
    probe.rmdir()
    return path


def fresh_folder(path: str | Path, flag: str = "--out", error: type[UsageError] = UsageError) -> Path:
    """`check_fresh`, then make the folder."""
    path = check_fresh(path, flag, error)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def staged_folder(out: str | Path) -> Iterator[Path]:
    """A new folder beside `out` to write into; when the block ends without an error it becomes `out`
    (one rename: `out` must be missing or an empty folder), otherwise it is removed. Check `out`
    with `check_fresh(out, beside=True)` before the work that fills it."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"
    staging.mkdir()  # not tempfile.mkdtemp: its 0700 mode would become the export's
    try:
        yield staging
        os.replace(staging, out)  # POSIX rename replaces an empty folder
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _nearest_existing(path: Path) -> Path:
    """`path` or its nearest ancestor that exists."""
    for p in (path, *path.parents):
        if p.exists():
            return p
    return Path(path.anchor)
