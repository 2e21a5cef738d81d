"""The doctor's report three ways: a console table (always), JSON (stable, for machines) and one
self-contained HTML page (for people: the table, the normalization sweep as inline SVG, the
images the runtimes disagree on, the ranked quantization errors; no external assets)."""

from __future__ import annotations

import base64
import html
import io
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from soroban_vision.doctor.checks import Check
from soroban_vision.doctor.compare import fmt_range
from soroban_vision.doctor.runtimes import RuntimeResult
from soroban_vision.tables import render, table

FORMAT = "soroban-vision/doctor"
VERSION = 1
EXIT_CODES = {"pass": 0, "warn": 0, "fail": 1}
GALLERY_SHOWN = 12


@dataclass
class Report:
    status: str  # pass | warn | fail
    checks: list[Check]
    runtimes: list[RuntimeResult]
    model: dict
    data: dict
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    versions: dict = field(default_factory=dict)
    images: dict[str, np.ndarray] = field(default_factory=dict)  # for the HTML page only

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def check(self, check_id: str) -> Check:
        return next(c for c in self.checks if c.id == check_id)

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "status": self.status,
            "exit_code": self.exit_code,
            "checks": [c.to_json() for c in self.checks],
            "runtimes": [r.to_json() for r in self.runtimes],
            "model": self.model,
            "data": self.data,
            "notes": self.notes,
            "seconds": round(self.seconds, 2),
            "versions": self.versions,
        }


def overall(checks: list[Check]) -> str:
    statuses = {c.status for c in checks}
    return "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"


# --------------------------------------------------------------------------- console


def _status(s: str) -> str:
    return s.upper() if s in ("warn", "fail") else s


def _g(v) -> str:
    return "-" if v is None else f"{v:.2g}" if isinstance(v, float) else str(v)


def console(report: Report, width: int | None = None) -> str:
    width = width or max(100, min(160, shutil.get_terminal_size((120, 20)).columns))
    m = report.model
    what = []
    if m["keras"]:
        what.append(f"keras {m['keras']}")
    if m["tfjs"]:
        contract = " + contract" if m["contract"] else ", no contract"
        what.append(f"tfjs {m['tfjs']} ({m['weights_precision']}{contract})")
    if m["onnx"]:
        what.append(f"onnx {m['onnx']}")
    d = report.data
    feed = (
        f"{d['n']} {'rendered' if d['source'] == 'rendered' else 'labelled'} images"
        if d.get("n") is not None and d["source"] != "generated"
        else f"{d.get('feeds', 0)} generated feeds"
    )
    if m["kind"] == "frame" and d.get("n") is not None:
        feed = f"{d['n']} {d['source']} photos ({d['scenes']} with a soroban, {d['tables']} without)"
    rng = m["input_range"]
    lines = [
        f"soroban-vision doctor: {_status(report.status)}   ({'; '.join(what)})",
        f"inputs: {feed}; declared input range {fmt_range(rng['declared'])} ({rng['source']}); "
        f"{report.seconds:.0f} s",
        "",
    ]
    checks = table("CHECK", "STATUS", "SUMMARY", wrap=("SUMMARY",))
    for c in report.checks:
        checks.add_row(c.id, _status(c.status), c.summary)
    notes = [f"note: {n}" for n in report.notes]
    return render(*lines, checks, "", _runtime_table(report), *notes, width=width)


def _runtime_table(report: Report):
    parity = next((c for c in report.checks if c.id == "runtime_parity"), None)
    comps = {c["runtime"]: c for c in (parity.evidence.get("comparisons", []) if parity else [])}
    ref = parity.evidence.get("reference") if parity else None
    rows = [
        (
            "RUNTIME",
            "STATUS",
            "WEIGHTS",
            "VS",
            "OUTPUT",
            "MAX|DIFF|",
            "MEAN|DIFF|",
            "DECISIONS",
            "MIN TOLERANCE",
        )
    ]
    for r in report.runtimes:
        weights = r.weights or "-" if r.compute == "float32" else f"{r.weights}/f16 tex"
        if not r.ran:
            rows.append((r.id, r.status, "-", "", "", "", "", "", r.reason[:70]))
            continue
        c = comps.get(r.id)
        if c is None:
            rows.append((r.id, "ran", weights, "(reference)" if r.id == ref else "", "", "", "", "", ""))
            continue
        dec = "-"
        if c["n"]:
            dec = f"{c['n'] - c['disagreements']}/{c['n']} agree"
        if c.get("max_corner_shift_px") is not None:  # a frame model: where the corners land
            dec += f", corners {c['max_corner_shift_px']:.2g} px"
        for i, o in enumerate(c["outputs"]):
            tol = (
                f"abs={o['required_atol']:.2g} OR rel={o['required_rtol']:.2g}"
                if "required_atol" in o
                else o.get("error", "")
            )
            rows.append(
                (
                    r.id if i == 0 else "",
                    ("ran" if c["status"] == "pass" else _status(c["status"])) if i == 0 else "",
                    weights if i == 0 else "",
                    c["vs"] if i == 0 else "",
                    o["output"],
                    _g(o.get("max_abs_diff")),
                    _g(o.get("mean_abs_diff")),
                    dec if i == 0 else "",
                    tol,
                )
            )
    runtimes = table(*rows[0], right=("MAX|DIFF|", "MEAN|DIFF|"))
    for row in rows[1:]:
        runtimes.add_row(*map(str, row))
    return runtimes


# --------------------------------------------------------------------------- JSON


# --------------------------------------------------------------------------- HTML

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:6px 0} td,th{padding:4px 8px;border-bottom:1px solid #eee;
text-align:left;vertical-align:top} th{background:#f6f6f6;font-weight:600} td.num{text-align:right;
font-variant-numeric:tabular-nums} code{font-size:12px} .muted{color:#777}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px;color:#fff}
.pass{background:#2e7d32}.warn{background:#ef8f00}.fail{background:#c62828}.skip{background:#9e9e9e}
.gallery{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #ddd;border-radius:6px;padding:8px;
display:flex;gap:8px;font-size:12px}.card img{image-rendering:pixelated;border:1px solid #ccc}
.diff{color:#c62828;font-weight:600}
details pre{max-height:400px;overflow:auto;background:#f8f8f8;padding:8px}
"""


def _png(gray01: np.ndarray, zoom: int = 1) -> str:
    from PIL import Image

    a = np.clip(np.rint(np.asarray(gray01, np.float64).squeeze() * 255), 0, 255).astype(np.uint8)
    im = Image.fromarray(a, "L")
    if zoom > 1:
        im = im.resize((im.width * zoom, im.height * zoom), Image.NEAREST)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _badge(status: str) -> str:
    return f'<span class="badge {status}">{status}</span>'


def _e(v) -> str:
    return html.escape(str(v))


def sweep_svg(sweep: list[dict]) -> str:
    """Accuracy per candidate input range as an inline bar chart; the declared range is orange,
    the best one green."""
    w, h, pad, bar = 560, 220, 40, 70
    best = max(s["accuracy"] for s in sweep)
    parts = [f'<svg width="{w}" height="{h}" role="img" aria-label="accuracy per input range">']
    for t in (0, 0.25, 0.5, 0.75, 1.0):
        y = h - pad - t * (h - 2 * pad)
        parts.append(f'<line x1="{pad}" y1="{y:.0f}" x2="{w - 10}" y2="{y:.0f}" stroke="#eee"/>')
        parts.append(f'<text x="{pad - 6}" y="{y + 4:.0f}" font-size="11" text-anchor="end">{t:.2f}</text>')
    step = (w - pad - 20) / max(1, len(sweep))
    for i, s in enumerate(sweep):
        x = pad + 10 + i * step
        bh = s["accuracy"] * (h - 2 * pad)
        color = "#2e7d32" if s["accuracy"] == best else "#ef8f00" if s["declared"] else "#90a4ae"
        if s["declared"] and s["accuracy"] == best:
            color = "#2e7d32"
        label = fmt_range(s["range"]) + (" (declared)" if s["declared"] else "")
        parts.append(
            f'<rect x="{x:.0f}" y="{h - pad - bh:.0f}" width="{bar}" height="{bh:.0f}" fill="{color}"/>'
        )
        parts.append(
            f'<text x="{x + bar / 2:.0f}" y="{h - pad - bh - 4:.0f}" font-size="11" text-anchor="middle">'
            f"{s['accuracy']:.3f}</text>"
        )
        parts.append(
            f'<text x="{x + bar / 2:.0f}" y="{h - pad + 14:.0f}" font-size="11" text-anchor="middle">'
            f"{_e(label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def to_html(report: Report) -> str:
    j = report.to_json()
    m = report.model
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>soroban-vision doctor</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>soroban-vision doctor {_badge(report.status)}</h1>",
        "<p class='muted'>"
        + " · ".join(
            _e(x)
            for x in (
                f"Keras {m['keras']}" if m["keras"] else None,
                f"TF.js {m['tfjs']} ({m['weights_precision']}, "
                f"{'contract' if m['contract'] else 'no contract'})"
                if m["tfjs"]
                else None,
                f"ONNX {m['onnx']}" if m["onnx"] else None,
                f"declared input {fmt_range(m['input_range']['declared'])} ({m['input_range']['source']})",
                f"{report.seconds:.0f} s",
            )
            if x
        )
        + "</p>",
        "<h2>Checks</h2><table><tr><th>check</th><th>status</th><th>summary</th></tr>",
    ]
    for c in report.checks:
        out.append(
            f"<tr><td><code>{_e(c.id)}</code></td><td>{_badge(c.status)}</td><td>{_e(c.summary)}</td></tr>"
        )
    out.append("</table>")

    norm = next((c for c in report.checks if c.id == "normalization" and c.evidence.get("sweep")), None)
    if norm:
        ev = norm.evidence
        out.append("<h2>Normalization sweep</h2>")
        out.append(
            f"<p class='muted'>Digit accuracy of {_e(ev['runtime'])} on {ev['n']} labelled images, "
            "the [0,1] image "
            "mapped linearly to each range.</p>"
        )
        out.append(sweep_svg(ev["sweep"]))

    out += _parity_html(report)
    out += _gallery_html(report)
    out += _preprocess_html(report)
    out += _quant_html(report)

    out.append(
        "<h2>Runtimes</h2><table><tr><th>runtime</th><th>status</th><th>weights</th><th>compute</th>"
        "<th>median ms / batch</th><th>note</th></tr>"
    )
    for r in j["runtimes"]:
        ms = "" if r["median_ms_per_batch"] is None else f"{r['median_ms_per_batch']:.1f}"
        out.append(
            f"<tr><td>{_e(r['id'])}</td><td>{_e(r['status'])}</td><td>{_e(r['weights'] or '')}</td>"
            f"<td>{_e(r['compute'])}</td><td class='num'>{ms}</td><td>{_e(r['reason'])}</td></tr>"
        )
    out.append("</table>")
    if report.notes:
        out.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in report.notes) + "</ul>")
    out.append("<h2>Evidence</h2><details><summary>the JSON report</summary><pre>")
    out.append(_e(json.dumps(j, indent=1)))
    out.append("</pre></details></body></html>")
    return "\n".join(out)


def _parity_html(report: Report) -> list[str]:
    parity = next((c for c in report.checks if c.id == "runtime_parity"), None)
    if not parity or not parity.evidence.get("comparisons"):
        return []
    out = [
        "<h2>Runtime parity</h2>",
        f"<p class='muted'>{_e(parity.evidence.get('inputs', ''))}; "
        f"reference {_e(parity.evidence['reference'])}. "
        "Minimum tolerance: an element passes when |diff| ≤ abs OR |diff|/|ref| ≤ rel.</p>",
        "<table><tr><th>runtime</th><th>vs</th><th>kind</th><th>output</th><th>max |diff|</th>"
        "<th>mean |diff|</th>"
        "<th>decisions</th><th>min tolerance</th><th>status</th></tr>",
    ]
    for c in parity.evidence["comparisons"]:
        dec = f"{c['n'] - c['disagreements']}/{c['n']}" if c["n"] else "-"
        for i, o in enumerate(c["outputs"]):
            tol = (
                f"abs={o['required_atol']:.2g} or rel={o['required_rtol']:.2g}"
                if "required_atol" in o
                else o.get("error")
            )
            first = i == 0
            out.append(
                f"<tr><td>{_e(c['runtime']) if first else ''}</td><td>{_e(c['vs']) if first else ''}</td>"
                f"<td>{_e(c['kind']) if first else ''}</td><td>{_e(o['output'])}</td>"
                f"<td class='num'>{_g(o.get('max_abs_diff'))}</td>"
                f"<td class='num'>{_g(o.get('mean_abs_diff'))}</td>"
                f"<td class='num'>{dec if first else ''}</td><td>{_e(tol)}</td>"
                f"<td>{_badge(c['status']) if first else ''}</td></tr>"
            )
    out.append("</table>")
    return out


def _gallery_html(report: Report) -> list[str]:
    parity = next((c for c in report.checks if c.id == "runtime_parity"), None)
    items = parity.evidence.get("disagreements", []) if parity else []
    if not items:
        return []
    ref = parity.evidence.get("reference")
    total = max((c.get("disagreements") or 0) for c in parity.evidence["comparisons"])  # at least
    out = [
        "<h2>Where the runtimes disagree</h2>",
        f"<p class='muted'>The model input (Python's preprocessing) and each runtime's digit (confidence); "
        f"answers that differ from {_e(ref)} are red.</p><div class='gallery'>",
    ]
    for it in items[:GALLERY_SHOWN]:
        img = report.images.get(f"input:{it['item']}")
        pic = (
            f"<img src='{_png(img, 2)}' width='80' height='160' alt='input {it['item']}'>"
            if img is not None
            else ""
        )
        want = it["answers"].get(ref, {}).get("digit")
        rows = []
        for rid, a in it["answers"].items():
            cls = " class='diff'" if a["digit"] != want else ""
            rows.append(f"<div{cls}>{_e(rid)}: {a['digit']} ({a['confidence']:.2f})</div>")
        label = f"label {it['label']}" if "label" in it else f"item {it['item']}"
        out.append(
            f"<div class='card'>{pic}<div><b>{_e(label)}</b><div class='muted'>{_e(it.get('file', ''))}</div>"
            + "".join(rows)
            + "</div></div>"
        )
    out.append("</div>")
    more = max(len(items), total) - GALLERY_SHOWN
    if more > 0:
        out.append(f"<p class='muted'>… and {more} more (the JSON report lists up to {len(items)}).</p>")
    return out


def _preprocess_html(report: Report) -> list[str]:
    pp = next((c for c in report.checks if c.id == "preprocess_parity"), None)
    if not pp or pp.status in ("pass", "skip") or not pp.evidence.get("worst_files"):
        return []
    out = ["<h2>Preprocessing: Python vs browser</h2><div class='gallery'>"]
    for i, w in enumerate(pp.evidence["worst_files"][:6]):
        py, br = report.images.get(f"python:{i}"), report.images.get(f"browser:{i}")
        if py is None or br is None:
            continue
        out.append(
            f"<div class='card'><img src='{_png(py, 2)}' width='80' height='160' alt='python'>"
            f"<img src='{_png(br, 2)}' width='80' height='160' alt='browser'>"
            f"<div><b>{_e(Path(w['file']).name)}</b><div>left: Python, right: browser</div>"
            f"<div>max |diff| {w['max_abs_diff']:.3f}</div></div></div>"
        )
    out.append("</div>")
    return out


def _quant_html(report: Report) -> list[str]:
    q = next((c for c in report.checks if c.id == "quantization"), None)
    ranking = q.evidence.get("ranking") if q else None
    if not ranking:
        return []
    out = [
        "<h2>Quantization error by weight tensor</h2>",
        "<p class='muted'>Deployed weights dequantized and compared with a float32 conversion of the Keras "
        "model; ranked by mean error relative to a typical weight of the tensor.</p>",
        "<table><tr><th>#</th><th>tensor</th><th>size</th><th>max |error|</th><th>max error / range</th>"
        "<th>mean error / typical weight</th></tr>",
    ]
    for i, r in enumerate(ranking[:15], 1):
        out.append(
            f"<tr><td>{i}</td><td><code>{_e(r['tensor'])}</code></td><td class='num'>{r['size']}</td>"
            f"<td class='num'>{r['max_abs_error']:.3g}</td><td class='num'>{r['relative_to_range']:.3g}</td>"
            f"<td class='num'>{r['mean_error_vs_typical_weight']:.3g}</td></tr>"
        )
    out.append("</table>")
    return out


def write_html(report: Report, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(to_html(report))
    return path
