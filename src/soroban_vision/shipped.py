"""Where the shipped model and the browser library live: inside the package when it was
installed from a wheel (`soroban_vision/_data`, filled by setup.py at build time), else in the
repository's checkout. Git holds one copy of each file: the checkout's."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DATA = Path(__file__).resolve().parent / "_data"
CHECKOUT = Path(__file__).resolve().parents[2]

ROOT = PACKAGE_DATA if PACKAGE_DATA.is_dir() else CHECKOUT
MODEL_DIR = ROOT / "models" / "column"
WEB_DIR = ROOT / "web"
