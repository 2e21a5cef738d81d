"""Reporting: `Results` -> the README's markdown table, JSON, or console text. No measuring."""

from __future__ import annotations

from pathlib import Path

from soroban_vision.bench.results import Results, Row, Target, is_number

OURS_LABEL = "compact (ours)"
REFERENCE_LABEL = "MobileNetV2 α=0.35 (reference)"


# --------------------------------------------------------------------------- figures


def figure(v, unit: str) -> str:
    if not is_number(v):
        return str(v) if v is not None else "not applicable"
    if unit == "%":
        return f"{v:.2f}%"
    if unit == "bytes":
        return f"{int(v):,} B"
    if unit == "columns/s":
        return f"{v:,.0f}/s"
    if unit == "ms":
        return f"{v:.2f} ms" if v < 10 else f"{v:.1f} ms"
    if unit == "s":
        return f"{v:,.0f} s"
    if unit == "×":
        return f"{v:.2f}×"
    return f"{v:g} {unit}"


def ratio(r: float | None) -> str:
    if r is None:
        return "–"
    return f"{r:.3f}×" if r < 0.1 else f"{r:.2f}×"


def cell(row: Row, side: str) -> str:
    text = figure(getattr(row, side), row.unit)
    check = row.checks.get("compact" if side == "ours" else "mobilenetv2")
    return f"{text}, check {check}" if check else text


def verdict(t: Target) -> str:
    if t.status == "not measured":
        return "not measured"
    if t.status == "pass":
        return "pass"
    if t.condition is not None and not t.condition[1] and t.margin is not None and t.margin >= 0:
        return f"**miss**: {t.condition[0]} does not hold"
    amount = abs(t.margin or 0.0)
    unit = {"%": " percentage points", "bytes": " bytes", "×": "×", "ms": " ms", "columns/s": " columns/s"}
    number = f"{amount:,.0f}" if t.unit in ("bytes", "columns/s") else f"{amount:.2f}"
    extra = f"; and {t.condition[0]} does not hold" if t.condition is not None and not t.condition[1] else ""
    return f"**miss** by {number}{unit.get(t.unit, ' ' + t.unit)}{extra}"


# --------------------------------------------------------------------------- the header


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def header_lines(results: Results) -> list[str]:
    m = results.meta
    mach, v, b = m["machine"], m["machine"]["versions"], m["budget"]
    load = m["load_average"]
    software = " · ".join(
        f"{name} {v[key]}"
        for name, key in (
            ("Python", "python"),
            ("TensorFlow", "tensorflow"),
            ("Keras", "keras"),
            ("tensorflowjs (converter)", "tensorflowjs"),
            ("@tensorflow/tfjs", "@tensorflow/tfjs"),
            ("tfjs-backend-wasm", "@tensorflow/tfjs-backend-wasm"),
            ("ONNX Runtime", "onnxruntime"),
        )
        if key in v
    )
    if "chromium" in v:
        software += f" · {v['chromium']} (headless)"
    return [
        f"Measured by `soroban-vision bench{' --quick' if m['mode'] == 'quick' else ''}` on {m['date']} "
        f"({m['mode']} mode) in {m['wall_s'] / 60:.1f} min ({m['cpu_s'] / 60:.1f} min of CPU in Python, the "
        "converters and Node, Chromium not counted).",
        "",
        f"- **Machine**: {mach['cpu']}, {mach['cores']} cores, {_gib(mach['ram_bytes'])} RAM, {mach['os']}. "
        f"Load average {load['start'][0]:.1f} at the start and {load['end'][0]:.1f} at the end "
        "(1-minute; a value above the core count means other jobs shared the CPU, so timings are noisy).",
        f"- **Software**: {software}.",
        f"- **Training budget, both models**: {b['train_columns']:,} rendered columns ({b['per_digit']:,} "
        f"per digit, seed {b['train_seed']}; {100 * b['val_split']:.0f}% held out for validation), "
        f"{b['epochs']} epoch{'s' if b['epochs'] != 1 else ''}, batch {b['batch_size']}, as `soroban-vision "
        "train` does it (Adam 3e-3, augmentation, early stopping, best weights kept).",
        f"- **Test set**: {m['test']['columns']:,} rendered columns, seed {m['test']['seed']} "
        f"(training never sees it). **Export check**: {m['export_check']['columns']:,} rendered columns, "
        f"seed {m['export_check']['seed']}.",
    ]


# --------------------------------------------------------------------------- markdown


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def markdown(results: Results) -> str:
    m = results.meta
    out = ["# Benchmarks: compact versus MobileNetV2 α=0.35", ""]
    if m["mode"] == "quick":
        out += [
            "> Quick mode: tiny data and one epoch. Accuracy and training figures say nothing about the "
            "models; this run only proves that every figure can be measured.",
            "",
        ]
    out += [*header_lines(results), "", "## Targets (figures for this 2-core machine)", ""]
    out += [_md_row(["target", "measured", "result"]), _md_row(["---"] * 3)]
    for t in results.targets:
        measured = figure(t.measured, t.unit)
        if t.condition is not None:
            measured += f"; {t.condition[0]}: {'yes' if t.condition[1] else 'no'}"
        out.append(_md_row([t.text, measured, verdict(t)]))
    out += [
        "",
        f"## {OURS_LABEL} versus {REFERENCE_LABEL}",
        "",
        "Ratios are compact ÷ reference: above 1 is better for accuracy and columns/s, below 1 is better "
        "for bytes, milliseconds and seconds.",
        "",
        _md_row(["", "figure", OURS_LABEL, REFERENCE_LABEL, "compact ÷ reference", "how"]),
        _md_row(["---"] * 6),
    ]
    last = None
    for r in results.rows:
        if r.single:
            continue
        section = r.section if r.section != last else ""
        last = r.section
        out.append(
            _md_row([section, r.metric, cell(r, "ours"), cell(r, "reference"), ratio(r.ratio), r.note])
        )
    singles = [r for r in results.rows if r.single]
    if singles:
        out += ["", "## Other figures", "", _md_row(["", "figure", "value", "how"]), _md_row(["---"] * 4)]
        out += [_md_row([r.section, r.metric, figure(r.ours, r.unit), r.note]) for r in singles]
    out += ["", "## How it is measured", "", *how(results), ""]
    return "\n".join(out)


def how(results: Results) -> list[str]:
    c = results.meta["config"]
    return [
        "- One run of `soroban-vision bench` on one machine: both models are trained, exported and timed "
        "in the same run. Timed steps never overlap other work of the run; only the exports (which are not "
        "timed) run two at a time.",
        "- Accuracy: Keras float32 `model(x)` on the test set through the training pipeline's decoding; "
        "a digit counts when both heads are right.",
        "- Size: bytes of the weight files each export ships (`soroban-vision export`, TF.js graph model "
        "with batch-norm folded, or the ONNX file). Its check compares digit decisions with Keras float32: "
        "float32 must agree on every column, float16/uint8 on at least 99.9% (else `export` refuses).",
        f"- Python: columns per second = batch ÷ median seconds of one call, over {c['py_runs']} calls "
        f"after {c['py_warmup']} warm-up calls; Keras `model(x, training=False)` and ONNX Runtime "
        "(CPU provider, default threads) on real test columns.",
        f"- Browser: the page's own clock around one inference (input upload, model, output download), "
        f"{c['browser_runs']} single inferences after {c['browser_warmup']} warm-up, in a fresh headless "
        "Chromium per model and backend; wasm is single-threaded (the page is not cross-origin isolated), "
        "webgl runs on SwiftShader (software). p95 is nearest-rank.",
        "- Training: wall time from the start of `train()` to the end of the first epoch whose validation "
        "digit accuracy reaches 99.5%, from the per-epoch events; TensorFlow uses all cores.",
        "- Rendering: `soroban-vision bench-render`'s measurement (one process, then a pool over all cores).",
        "- Reproduce: `soroban-vision bench --markdown docs/benchmarks.md --json bench.json` (the full run: "
        "about half an hour on 2 cores, most of it training the reference; `--epochs` and `--per-digit` "
        "change the training budget of both models); `soroban-vision bench --quick` is the CI version.",
    ]


# --------------------------------------------------------------------------- console and JSON


def console(results: Results) -> str:
    """The header lines, then one table (a section title row, then its rows), then the targets."""
    from soroban_vision.tables import render, table

    rows = table("", "ours", "reference", "ratio", right=("ratio",))
    last = None
    for r in results.rows:
        if r.section != last:
            rows.add_row(r.section, "", "", "")
            last = r.section
        if r.single:
            rows.add_row(f"  {r.metric}", figure(r.ours, r.unit), "", "")
        else:
            rows.add_row(f"  {r.metric}", cell(r, "ours"), cell(r, "reference"), ratio(r.ratio))
    targets = table("target", "status", "measured", right=("measured",))
    for t in results.targets:
        targets.add_row(t.text, t.status, figure(t.measured, t.unit))
    return render(*header_lines(results), "", rows, "", "Targets", targets)


def write_markdown(results: Results, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(results))
    return path
