"""Reporting: `Results` -> the README's markdown table, JSON, or console text. No measuring."""

from __future__ import annotations

from pathlib import Path

from soroban_vision.bench.results import Results, Row, Target, is_number

OURS_LABEL = "compact (ours)"
REFERENCE_LABEL = "MobileNetV2 α=0.35 (reference)"
FRAME_MODEL_LABEL = "frame model (learned)"
OUTLINE_LABEL = "outline search (classical)"
# each pair's table: (its title, ours, reference, the ratio's heading)
PAIR_LABELS = {
    "columns": (f"{OURS_LABEL} versus {REFERENCE_LABEL}", OURS_LABEL, REFERENCE_LABEL, "compact ÷ reference"),
    "frame": (
        "Markerless reading: the learned frame model versus the classical outline search",
        FRAME_MODEL_LABEL,
        OUTLINE_LABEL,
        "model ÷ outline",
    ),
}


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
    if unit == "fps":
        return f"{v:.1f} fps"
    return f"{v:g} {unit}"


def ratio(r: float | None) -> str:
    if r is None:
        return "–"
    return f"{r:.3f}×" if r < 0.1 else f"{r:.2f}×"


def cell(row: Row, side: str) -> str:
    text = figure(getattr(row, side), row.unit)
    check = row.checks.get(row.sides[0 if side == "ours" else 1])
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


def _parts(m: dict) -> list[str]:
    return m.get("parts", ["columns"])  # results saved before the markerless part were columns only


def _command(m: dict) -> str:
    only = "" if set(_parts(m)) == {"columns", "markerless"} else f" --only {_parts(m)[0]}"
    return f"soroban-vision bench{' --quick' if m['mode'] == 'quick' else ''}{only}"


def header_lines(results: Results) -> list[str]:
    m = results.meta
    mach, v = m["machine"], m["machine"]["versions"]
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
    out = [
        f"Measured by `{_command(m)}` on {m['date']} "
        f"({m['mode']} mode) in {m['wall_s'] / 60:.1f} min ({m['cpu_s'] / 60:.1f} min of CPU in Python, the "
        "converters and Node, Chromium not counted).",
        "",
        f"- **Machine**: {mach['cpu']}, {mach['cores']} cores, {_gib(mach['ram_bytes'])} RAM, {mach['os']}. "
        f"Load average {load['start'][0]:.1f} at the start and {load['end'][0]:.1f} at the end "
        "(1-minute; a value above the core count means other jobs shared the CPU, so timings are noisy).",
        f"- **Software**: {software}.",
    ]
    if "budget" in m:
        b = m["budget"]
        out += [
            f"- **Training budget, both models**: {b['train_columns']:,} rendered columns "
            f"({b['per_digit']:,} per digit, seed {b['train_seed']}; {100 * b['val_split']:.0f}% held out "
            f"for validation), {b['epochs']} epoch{'s' if b['epochs'] != 1 else ''}, "
            f"batch {b['batch_size']}, as `soroban-vision train` does it (Adam 3e-3, augmentation, early "
            "stopping, best weights kept).",
            f"- **Test set**: {m['test']['columns']:,} rendered columns, seed {m['test']['seed']} "
            f"(training never sees it). **Export check**: {m['export_check']['columns']:,} rendered columns, "
            f"seed {m['export_check']['seed']}.",
        ]
    if "markerless" in m:
        ml = m["markerless"]
        seeds = ", ".join(
            f"{n:,} {v} (seed {s})" for v, s in ml["seeds"].items() for n in [ml["scenes_per_variety"]]
        )
        out.append(
            f"- **Markerless scenes**: {seeds}: `render-scenes --markers off`, "
            f"{ml['size'][0]}×{ml['size'][1]}, {ml['rods']} rods (the reader fits the count); seeds the "
            "frame model never trained on."
        )
        if "video" in ml:  # results saved before the video was measured have none
            v = ml["video"]
            out.append(
                f"- **Markerless video**: {v['numbers']} number(s) of {v['frames_per_number']} frames each "
                f"(seed {v['seed']}, `render/video.py` without markers, a hand crossing the soroban as the "
                f"number changes), read in the browser {v['passes']} time(s) with `track` and without."
            )
    return out


# --------------------------------------------------------------------------- markdown


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _title(m: dict) -> str:
    parts = _parts(m)
    if parts == ["markerless"]:
        return "# Benchmarks: markerless reading, the learned frame model versus the outline search"
    if "markerless" in parts:
        return "# Benchmarks: compact versus MobileNetV2 α=0.35; the frame model versus the outline search"
    return "# Benchmarks: compact versus MobileNetV2 α=0.35"


RATIO_READING = {
    "columns": "above 1 is better for accuracy and columns/s, below 1 is better for bytes, milliseconds "
    "and seconds.",
    "frame": "above 1 is better for exact numbers, below 1 is better for milliseconds, frames not found, "
    "silent wrong numbers and corner errors.",
}


def _md_pair(results: Results, pair: str) -> list[str]:
    """One pair's table: its rows of both sides, each with the ratio."""
    rows = [r for r in results.rows if r.pair == pair and not r.single]
    if not rows:
        return []
    title, ours, reference, ratio_heading = PAIR_LABELS[pair]
    out = [
        "",
        f"## {title}",
        "",
        f"Ratios are {ratio_heading}: {RATIO_READING[pair]}",
        "",
        _md_row(["", "figure", ours, reference, ratio_heading, "how"]),
        _md_row(["---"] * 6),
    ]
    last = None
    for r in rows:
        section = r.section if r.section != last else ""
        last = r.section
        out.append(
            _md_row([section, r.metric, cell(r, "ours"), cell(r, "reference"), ratio(r.ratio), r.note])
        )
    return out


def markdown(results: Results) -> str:
    m = results.meta
    out = [_title(m), ""]
    if m["mode"] == "quick":
        out += [
            "> Quick mode: tiny data, one epoch and a handful of scenes. Accuracy, training and markerless "
            "figures say nothing about the models; this run only proves that every figure can be measured.",
            "",
        ]
    out += [*header_lines(results), "", "## Targets (figures for this 2-core machine)", ""]
    out += [_md_row(["target", "measured", "result"]), _md_row(["---"] * 3)]
    for t in results.targets:
        measured = figure(t.measured, t.unit)
        if t.condition is not None:
            measured += f"; {t.condition[0]}: {'yes' if t.condition[1] else 'no'}"
        out.append(_md_row([t.text, measured, verdict(t)]))
    for pair in PAIR_LABELS:
        out += _md_pair(results, pair)
    singles = [r for r in results.rows if r.single]
    if singles:
        out += ["", "## Other figures", "", _md_row(["", "figure", "value", "how"]), _md_row(["---"] * 4)]
        out += [_md_row([r.section, r.metric, figure(r.ours, r.unit), r.note]) for r in singles]
    out += ["", "## How it is measured", "", *how(results), ""]
    return "\n".join(out)


def how(results: Results) -> list[str]:
    m, c = results.meta, results.meta["config"]
    out = []
    if "columns" in _parts(m):
        out += [
            "- One run of `soroban-vision bench` on one machine: both models are trained, exported and timed "
            "in the same run. Timed steps never overlap other work of the run; only the exports (which are "
            "not timed) run two at a time.",
            "- Accuracy: Keras float32 `model(x)` on the test set through the training pipeline's decoding; "
            "a digit counts when both heads are right.",
            "- Size: bytes of the weight files each export ships (`soroban-vision export`, TF.js graph model "
            "with batch-norm folded, or the ONNX file). Its check compares digit decisions with Keras "
            "float32: float32 must agree on every column, float16/uint8 on at least 99.9% (else `export` "
            "refuses).",
            f"- Python: columns per second = batch ÷ median seconds of one call, over {c['py_runs']} calls "
            f"after {c['py_warmup']} warm-up calls; Keras `model(x, training=False)` and ONNX Runtime "
            "(CPU provider, default threads) on real test columns.",
            f"- Browser: the page's own clock around one inference (input upload, model, output download), "
            f"{c['browser_runs']} single inferences after {c['browser_warmup']} warm-up, in a fresh "
            "headless Chromium per model and backend; wasm is single-threaded (the page is not cross-origin "
            "isolated), webgl runs on SwiftShader (software). p95 is nearest-rank.",
            "- Training: wall time from the start of `train()` to the end of the first epoch whose "
            "validation digit accuracy reaches 99.5%, from the per-epoch events; TensorFlow uses all cores.",
            "- Rendering: `soroban-vision bench-render`'s measurement (one process, then a pool over all "
            "cores).",
        ]
    if "markerless" in _parts(m):
        out += [
            "- Markerless: every scene is read by both methods through the public "
            '`read_abacus(pixels, markers="off")`, with `frame_model=True` (the learned model first; the '
            "outline search only when the model sees no frame) and without (the outline search alone), one "
            "after the other (which goes first alternates), the shipped column model (ONNX Runtime) reading "
            "the columns. *Whole read*: decoded pixels to number, frames not found included; *find the "
            "frame*: `abacus.frame_options` alone, as the reader calls it (the frame and its rod layouts). "
            "Exact, silent wrong, frame not found and corner error are evaluate-scenes' own "
            "(`abacus.outcomes`; corner error: the farthest of the four corners from the truth, ÷ the "
            "frame's top side; its percentiles interpolated as evaluate-scenes does). "
            "Timings: p95 nearest-rank, one process.",
        ]
    out.append(
        "- Reproduce: `soroban-vision bench --markdown docs/benchmarks.md --json bench.json` (the full run: "
        "about 40 minutes on 2 cores, most of it training the reference; `--epochs` and `--per-digit` change "
        "the training budget of both models; `--only columns` or `--only markerless` measures one part); "
        "`soroban-vision bench --quick` is the CI version."
    )
    return out


# --------------------------------------------------------------------------- console and JSON


def console(results: Results) -> str:
    """The header lines, then one table per pair (a section title row, then its rows), then the
    targets."""
    from soroban_vision.tables import render, table

    tables = []
    for pair, (title, ours, reference, _) in PAIR_LABELS.items():
        rows = [r for r in results.rows if r.pair == pair]
        if not rows:
            continue
        if pair == "frame":  # sentences where the browser's figures will be: wrapped
            t = table("", ours, reference, "ratio", right=("ratio",), wrap=(ours, reference))
        else:
            t = table("", "ours", "reference", "ratio", right=("ratio",))
        last = None
        for r in rows:
            if r.section != last:
                t.add_row(r.section, "", "", "")
                last = r.section
            if r.single:
                t.add_row(f"  {r.metric}", figure(r.ours, r.unit), "", "")
            else:
                t.add_row(f"  {r.metric}", cell(r, "ours"), cell(r, "reference"), ratio(r.ratio))
        tables += ["", title, t] if pair == "frame" else ["", t]
    targets = table("target", "status", "measured", right=("measured",), wrap=("target", "measured"))
    for t in results.targets:
        targets.add_row(t.text, t.status, figure(t.measured, t.unit))
    return render(*header_lines(results), *tables, "", "Targets", targets)


def write_markdown(results: Results, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(results))
    return path
