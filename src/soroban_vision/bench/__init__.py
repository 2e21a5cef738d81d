"""`soroban-vision bench`: our compact column model against the reference design (MobileNetV2
α=0.35), both trained on the same data for the same epochs, measured in one run on one machine
(part "columns"); and reading without markers, the learned frame model (models/frame) against the
classical outline search on the same rendered scenes (part "markerless": markerless.py).

`run(config)` measures and returns `Results` (rows of figures and targets); `console` and
`markdown` report them, and the CLI writes `Results.to_json()`. Measuring never formats,
reporting never measures.
"""

from soroban_vision.bench.config import BenchConfig
from soroban_vision.bench.measure import run
from soroban_vision.bench.report import console, markdown, write_markdown
from soroban_vision.bench.results import Results, Row, Target

__all__ = [
    "BenchConfig",
    "Results",
    "Row",
    "Target",
    "console",
    "markdown",
    "run",
    "write_markdown",
]
