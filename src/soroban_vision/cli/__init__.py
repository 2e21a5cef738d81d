"""The `soroban-vision` command. Thin: each command parses its arguments and calls the library.

Commands live by theme: `data` (render, render-scenes, markers, bench-render), `model` (train,
evaluate, classify, export), `reading` (read, evaluate-scenes, serve-demo), `watch` (a camera or a
video), `checks` (doctor, bench). Every command that prints JSON takes `--json FILE`, or `--json -`
for stdout.
"""

from soroban_vision.cli import checks, collect, data, frame, model, photoreal, reading, watch  # noqa: F401  (registers the commands)
from soroban_vision.cli.group import main

__all__ = ["main"]
