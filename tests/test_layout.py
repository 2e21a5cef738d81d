"""The shape of the code, held as tests: no file over 500 lines (the sources, their tests and the
pages), no Python function over 80 lines without a reason written above it, and no module named for
nothing in particular."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 80


def sources():
    for folder in ("src", "tests", "benchmarks", "scripts"):
        yield from sorted((ROOT / folder).rglob("*.py"))
    for folder in ("src", "demo", "review", "tools"):
        yield from sorted(p for p in (ROOT / "web" / folder).rglob("*") if p.suffix in (".js", ".mjs"))


def test_no_source_file_is_over_500_lines():
    lengths = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in sources()}
    long = {path: n for path, n in lengths.items() if n > MAX_FILE_LINES}
    assert not long, long


def test_long_python_functions_say_why_above_them():
    unexplained = []
    for path in (ROOT / "src").rglob("*.py"):
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if node.end_lineno - node.lineno + 1 <= MAX_FUNCTION_LINES:
                continue
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if not lines[first - 2].strip().startswith("#"):
                unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not unexplained, unexplained


def test_no_module_is_named_for_nothing():
    vague = {"utils", "util", "helpers", "helper", "misc", "common", "manager"}
    named = [str(p.relative_to(ROOT)) for p in sources() if p.stem.lower() in vague]
    assert not named, named
