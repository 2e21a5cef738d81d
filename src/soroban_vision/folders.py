"""Output folders: a command writes only into a folder that is new or empty, never over a user's files."""

from __future__ import annotations

from pathlib import Path

from soroban_vision.errors import UsageError


def check_fresh(path: str | Path, flag: str = "--out", error: type[UsageError] = UsageError) -> Path:
    """`path` as a Path if it is missing or an empty folder; otherwise `error`, naming `flag`."""
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise error(f"{path} exists and is not an empty folder; choose a fresh {flag}")
    return path


def fresh_folder(path: str | Path, flag: str = "--out", error: type[UsageError] = UsageError) -> Path:
    """`check_fresh`, then make the folder."""
    path = check_fresh(path, flag, error)
    path.mkdir(parents=True, exist_ok=True)
    return path
