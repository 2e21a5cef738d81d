"""What each scene's reading amounts to against its truth, and the figures over many scenes.

Per scene: exact (the number given is the true one), silent wrong (some column given as a
digit is wrong, or the rod count is wrong and sure, with a digit given: the user is not
warned where it matters), flagged (the reading says it cannot give the whole number: a
column hidden or out of frame, or the rod count unsure) or frame not found. A silent wrong
scene has a cause (SILENT_CAUSES): the frame held more or fewer rods than the soroban (cut short
at a hand, or run past its end), it held the right count on rods one or two off, or a digit
was read wrong on its own rod. Over scenes: those
rates, column figures, the corner error, and the same per condition of the manifest's items
(`conditions`: hand, scale, style, light, ...; scenes without them are "classic")."""

from __future__ import annotations

import numpy as np

from soroban_vision.abacus.calibration import expected_calibration_error, reliability
from soroban_vision.abacus.flags import READ

CONDITIONS = ("hand", "scale", "style", "light", "camera", "frame", "back", "beads", "bead_shape")
CLASSIC = "classic"  # the group of scenes whose manifest item has no conditions
ROD_COUNT, RODS_OFFSET, DIGIT = "rod_count", "rods_offset", "digit"
SILENT_CAUSES = (ROD_COUNT, RODS_OFFSET, DIGIT)
OFFSETS = (-2, -1, 1, 2)  # rods a frame can sit off by and still hold the right count


def outcome(item: dict, reading) -> dict:
    """One scene: found, exact, silent_wrong, flagged, corner error (share of the frame's
    width), and its columns: (confidence, the model's guess is right) and the covered ones."""
    truth = item["digits"]
    covered = (item.get("conditions") or {}).get("hand_rods", [])
    if reading is None:
        return {
            "found": False,
            "exact": False,
            "silent_wrong": False,
            "silent_cause": None,
            "flagged": False,
            "covered": covered,
            "covered_flagged": 0,
        }
    same_count = len(reading.digits) == len(truth)
    read = [c for c in reading.columns if c.status == READ]
    wrong = [c.index for c in read if not same_count or c.digit != truth[c.index]]
    unsure_rods = bool(reading.rods is not None and reading.rods.uncertain)
    flagged = len(read) < len(reading.columns) or unsure_rods
    exact = same_count and reading.number == item["number"]
    t = np.array(item["corners"], np.float64)
    # calibration: each column's confidence and whether the model's guess is right (not read too);
    # a wrong rod count leaves no column to score
    columns = [
        (c.confidence, 5 * int(c.heaven["active"]) + int(c.earth["count"]) == truth[c.index])
        for c in (reading.columns if same_count else [])
    ]
    silent = not exact and bool(wrong) and (same_count or not unsure_rods)
    return {
        "found": True,
        "exact": exact,
        # a wrong count is flagged when the reading says it is unsure; a wrong digit never is
        "silent_wrong": silent,
        "silent_cause": silent_cause(truth, len(reading.columns), [(c.index, c.digit) for c in read])
        if silent
        else None,
        "flagged": flagged,
        "corner_error": float(
            np.linalg.norm(np.array(reading.corners) - t, axis=1).max() / np.linalg.norm(t[1] - t[0])
        ),
        "columns": columns,
        "right_columns": sum(1 for c in read if same_count and c.digit == truth[c.index]),
        "wrong_columns": len(wrong),
        "flagged_columns": len(reading.columns) - len(read),
        "covered": covered,
        "covered_flagged": sum(1 for i in covered if same_count and reading.columns[i].status != READ),
    }


def silent_cause(truth: list[int], rods: int, read: list[tuple[int, int]]) -> str:
    """Why a silent wrong reading is wrong, from the true digits, the rods it read and the (rod,
    digit) pairs it gave: ROD_COUNT when it read another number of rods; RODS_OFFSET when it gave
    two or more wrong digits and, moved by one or two rods, its digits miss the truth at fewer
    than half as many rods (the frame sits rods off); else DIGIT. One wrong digit is a DIGIT: on
    a soroban of repeated digits, any offset would explain it."""
    if rods != len(truth):
        return ROD_COUNT

    def misses(offset: int) -> int:
        return sum(1 for i, d in read if 0 <= i + offset < len(truth) and d != truth[i + offset])

    unmoved = misses(0)
    return RODS_OFFSET if unmoved >= 2 and any(2 * misses(k) < unmoved for k in OFFSETS) else DIGIT


def figures(items: list[dict], outcomes: list[dict]) -> dict:
    """The rates and column, corner and calibration figures of scenes and their outcomes."""
    n = len(items)
    found = [o for o in outcomes if o["found"]]
    errors = [o["corner_error"] for o in found]
    columns = [c for o in found for c in o["columns"]]
    covered = sum(len(o["covered"]) for o in outcomes)
    share = (lambda k: sum(o[k] for o in outcomes) / n) if n else (lambda k: 0.0)
    cols_n = sum(len(it["digits"]) for it in items)
    pct = (lambda q: 100 * float(np.percentile(errors, q))) if errors else (lambda q: None)
    confidence = [c for c, _ in columns]
    right = [r for _, r in columns]
    return {
        "n": n,
        "exact_number_accuracy": share("exact"),
        "silent_wrong_rate": share("silent_wrong"),
        "silent_wrong_causes": {k: sum(o["silent_cause"] == k for o in outcomes) for k in SILENT_CAUSES},
        "flagged_rate": share("flagged"),
        "frame_not_found": n - len(found),
        "frame_not_found_rate": (n - len(found)) / n if n else 0.0,
        "column_accuracy": sum(o["right_columns"] for o in found) / cols_n if cols_n else 0.0,
        "wrong_columns": sum(o["wrong_columns"] for o in found),
        "flagged_columns": sum(o["flagged_columns"] for o in found),
        "covered_columns": covered,
        "covered_flagged_rate": sum(o["covered_flagged"] for o in outcomes) / covered if covered else None,
        "corner_error_pct_of_width": {
            "median": pct(50),
            "p90": pct(90),
            "p95": pct(95),
            "max": 100 * float(np.max(errors)) if errors else None,
        },
        "calibration": {
            "columns": len(columns),
            "ece": expected_calibration_error(confidence, right),
            "bins": reliability(confidence, right),
        },
    }


def by_condition(items: list[dict], outcomes: list[dict]) -> dict:
    """{condition: {value: figures}} over the manifest items' conditions; scenes without
    conditions are one value, "classic", of every condition."""
    out = {}
    for key in CONDITIONS:
        groups: dict[str, list[int]] = {}
        for i, item in enumerate(items):
            conditions = item.get("conditions")
            value = CLASSIC if conditions is None else str(conditions.get(key, CLASSIC))
            groups.setdefault(value, []).append(i)
        out[key] = {
            value: _compact(figures([items[i] for i in idx], [outcomes[i] for i in idx]))
            for value, idx in sorted(groups.items())
        }
    return out


def _compact(f: dict) -> dict:
    """A group's figures without its reliability bins (the whole set's are enough)."""
    return {**f, "calibration": {"columns": f["calibration"]["columns"], "ece": f["calibration"]["ece"]}}
