"""Synthetic soroban images: single column crops and whole-abacus scenes."""

from soroban_vision.render.column import render_column

__all__ = ["render_column"]
