"""Console tables, drawn by rich for every command (doctor, bench, evaluate, evaluate-scenes): one
look, columns sized to their contents, long cells wrapped within the terminal's width. Tables are
rendered to plain text (no colour codes), so a caller decides where they go: stdout, or stderr
when stdout carries `--json -`."""

from __future__ import annotations

import io
import shutil

from rich.console import Console
from rich.table import Table
from rich.text import Text


class PlainTable(Table):
    """Cells are text as given: `[earth, heaven]` stays, it is not rich markup."""

    wraps = False  # whether a column wraps to fit the width; else the table keeps its natural width

    def add_row(self, *cells, **kwargs) -> None:
        super().add_row(*(Text(c) if isinstance(c, str) else c for c in cells), **kwargs)


def table(*columns: str, right: tuple[str, ...] = (), wrap: tuple[str, ...] = ()) -> PlainTable:
    """A borderless table: a header row, two spaces between columns, cells never cut; the `wrap`
    columns wrap on words to fit the width, the `right` ones are right-aligned (numbers)."""
    t = PlainTable(box=None, pad_edge=False, header_style="", padding=(0, 2, 0, 0))
    for name in columns:
        t.add_column(name, justify="right" if name in right else "left", no_wrap=name not in wrap)
    t.wraps = bool(wrap)
    return t


def render(*items, width: int | None = None) -> str:
    """Tables and lines of text as the terminal would show them (its width, 120 when piped).
    Lines of text are never wrapped, and neither is a table without a wrapping column."""
    width = width or shutil.get_terminal_size((120, 20)).columns
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False, emoji=False)
    for item in items:
        if isinstance(item, str):
            console.print(item, markup=False, soft_wrap=True)
        elif isinstance(item, PlainTable) and not item.wraps:
            console.print(item, width=max(width, console.measure(item).maximum))
        else:
            console.print(item)
    text = console.file.getvalue()
    return "\n".join(line.rstrip() for line in text.splitlines())
