"""Read a whole soroban from a photo: find the frame, rectify it, find the rods, read the number.

1. Frame: four ArUco markers (DICT_4X4_50, ids 0-3 clockwise from top-left, see
   render/scene.py for where they sit) when present; otherwise the frame is found as a
   quadrilateral from edges and contours (in gray, and in colour channels when gray shows
   no convincing frame), and each candidate is scored by how much it looks like a soroban
   once rectified (periodic rods inside). If the likeliest frame reads poorly, the next few
   are read too, and one that reads clearly better wins.
2. Rods: in the rectified frame, rods sit at side + (i + 0.5) * pitch. The side-rail width
   and the rod count are fitted to the vertical-edge profile (bead gaps and rails).
3. Columns: each rod's crop (SPEC["crop"]) is sampled straight from the photo through the
   homography into 64x128, classified in one batch, and decoded into a number.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from soroban_vision.beads import to_number
from soroban_vision.errors import UsageError
from soroban_vision.frame import FrameNotFound, find_markers, quad_candidates, soroban_score
from soroban_vision.preprocess import HEIGHT, SPEC, WIDTH, ImageError, load_rgba_or_gray, to_gray, warp_gray

MAX_COLUMNS = 17
MIN_SIDE = 64  # smaller images cannot hold a readable soroban
WORK_SIDE = 1600  # larger photos are reduced to this before anything else
LOW_CONFIDENCE = 0.8
FRAMES_READ = 3  # frames found without markers read, the one read most confidently kept
SURE = float(np.log(0.95))  # mean log confidence of the likeliest frame's reading that needs no other
OTHER_FRAME_MARGIN = 0.05  # mean log confidence by which another frame must read better
# soroban_score of a frame whose rods' profile may fit no layout well (beads of mixed
# brightness, uneven light) and still be read: clutter scores at most about 0.35
LOOKS_LIKE_A_FRAME = 0.5


@dataclass
class Column:
    index: int
    digit: int
    confidence: float
    quad: list[list[float]]
    low_confidence: bool
    heaven: dict = field(default_factory=dict)
    earth: dict = field(default_factory=dict)


@dataclass
class AbacusReading:
    number: int
    digits: list[int]
    columns: list[Column]
    corners: list[list[float]]  # frame corners in the photo's pixels, clockwise from top-left
    method: str  # "markers", "markers-3" or "contour"
    seconds: float
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "number": self.number,
            "digits": self.digits,
            "columns": [vars(c) for c in self.columns],
            "corners": self.corners,
            "method": self.method,
            "seconds": round(self.seconds, 4),
            "flagged_columns": [c.index for c in self.columns if c.low_confidence],
            "warnings": self.warnings,
        }


# --------------------------------------------------------------------------- image in


@dataclass
class Photo:
    """A photo as float64 gray [H,W] (the project's grayscale rule), reduced by a whole
    `factor` when huge. `to_photo` maps working coordinates back to the original pixels."""

    gray: np.ndarray
    factor: int = 1
    colour: np.ndarray | None = None  # RGB [H,W,3] in the same pixels, for finding the frame

    def to_photo(self, points) -> np.ndarray:
        return np.asarray(points, np.float64) * self.factor + (self.factor - 1) / 2


def load_photo(path: str | Path) -> Photo:
    try:
        pixels = load_rgba_or_gray(path)
    except ImageError as e:
        raise UsageError(str(e)) from None
    return prepare(pixels)


def prepare(pixels: np.ndarray) -> Photo:
    h, w = pixels.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise FrameNotFound(f"the image is {w}x{h}: too small to hold a readable soroban")
    factor = int(np.ceil(max(h, w) / WORK_SIDE))
    if factor > 1:  # box-average by a whole factor: cheap, exact and easy to reproduce in JS
        h2, w2 = h // factor, w // factor
        pixels = pixels[: h2 * factor, : w2 * factor]
        gray = to_gray(pixels).reshape(h2, factor, w2, factor).mean(axis=(1, 3))
    else:
        gray = to_gray(pixels)
    return Photo(gray, factor, _colour(pixels, factor))


def _colour(pixels: np.ndarray, factor: int) -> np.ndarray | None:
    """RGB float32 [H,W,3] of an RGB(A) photo, box-averaged by `factor` (alpha composited as
    `to_gray` does, after averaging), or None for a gray one or one whose channels are all
    alike. Only for finding the frame: the reading itself is in gray."""
    a = np.asarray(pixels)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        return None
    if np.array_equal(a[..., 0], a[..., 1]) and np.array_equal(a[..., 1], a[..., 2]):
        return None  # gray saved as RGB: nothing to add
    h, w = a.shape[0] // factor, a.shape[1] // factor
    a = a.reshape(h, factor, w, factor, a.shape[2]).mean(axis=(1, 3), dtype=np.float32)
    rgb = a[..., :3]
    if a.shape[2] == 4:
        alpha = a[..., 3:4] / 255.0
        rgb = rgb * alpha + float(SPEC["alpha"]["composite_over"]) * (1.0 - alpha)
    return rgb


# --------------------------------------------------------------------------- rods


def _frame_homography(corners: np.ndarray, width: float, height: float) -> np.ndarray:
    """Maps frame coordinates ([0,width] x [0,height]) to photo pixels."""
    src = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    return cv2.getPerspectiveTransform(src, corners.astype(np.float32)).astype(np.float64)


def rectify(gray: np.ndarray, corners: np.ndarray, width: int, height: int) -> np.ndarray:
    return warp_gray(gray, _frame_homography(corners, width, height), width, height)


def column_profile(rect: np.ndarray) -> np.ndarray:
    """Mean brightness per column of the rectified frame, rails and bar excluded (rows 10-90%).
    Beads are solid shapes centred on their rods, so the profile swings with the rod pitch:
    one extreme at every rod, the other at every gap between neighbouring columns."""
    h = rect.shape[0]
    return rect[int(0.1 * h) : int(0.9 * h)].mean(axis=0)


def rod_counts(profile: np.ndarray) -> list[int]:
    """Rod counts consistent with the profile's period (its autocorrelation's first strong peak).
    The side rails are 0.3-1.0 pitches wide, so a period leaves one or two candidate counts."""
    width = len(profile)
    inner = profile[int(0.1 * width) : int(0.9 * width)]
    inner = inner - inner.mean()
    ac = np.correlate(inner, inner, mode="full")[len(inner) - 1 :]
    ac = ac / (ac[0] + 1e-9)
    lo, hi = max(3, int(width / (MAX_COLUMNS + 2))), min(len(ac) - 2, int(width / 1.6))
    peaks = [k for k in range(lo, hi) if ac[k] >= ac[k - 1] and ac[k] >= ac[k + 1] and ac[k] > 0]
    if not peaks:
        return list(range(1, MAX_COLUMNS + 1))
    strongest = max(ac[k] for k in peaks)
    period = next(k for k in peaks if ac[k] >= 0.7 * strongest)
    counts = {n for n in range(1, MAX_COLUMNS + 1) if 0.85 <= (width / (n + 1.3)) / period <= 1.15}
    return sorted(counts) or list(range(1, MAX_COLUMNS + 1))


def fit_rods(profile: np.ndarray, columns: int | None) -> list[tuple[int, float, float]]:
    """Candidate (rods, side rail width in pitches, score) for a profile from `column_profile`,
    best first, one per rod count.

    The score is how strongly the profile differs between the rods and the gaps between
    columns, in units of its spread; a wrong count (half or double the true one, say) puts
    candidate rods on gaps as often as on rods, and the difference cancels out. Side rails
    are plain frame, so a candidate whose rails hold beads is marked down."""
    width = len(profile)
    grid = np.arange(width) + 0.5
    spread = float(profile.std()) + 1e-9
    out = []
    for n in [columns] if columns else rod_counts(profile):
        best = (n, 0.0, -np.inf)
        for side_frac in np.linspace(0.3, 1.0, 57):
            pitch = width / (n + 2 * side_frac)
            side = side_frac * pitch
            rods = np.interp(side + pitch * (np.arange(n) + 0.5), grid, profile)
            gaps = np.interp(side + pitch * np.arange(n + 1), grid, profile)
            inner = gaps[1:-1] if n > 1 else gaps
            diffs = rods - 0.5 * (gaps[:-1] + gaps[1:])  # every rod differs from its gaps alike
            consistency = abs(diffs.mean()) / (diffs.std() + 0.25 * spread)
            cut = max(1, int(side))
            flat = float(np.concatenate([profile[:cut], profile[width - cut :]]).std()) / spread
            score = consistency * abs(rods.mean() - inner.mean()) / spread - 1.5 * flat
            if score > best[2]:
                best = (n, float(side_frac), float(score))
        out.append(best)
    return sorted(out, key=lambda c: -c[2])


# --------------------------------------------------------------------------- reading


def column_quads(
    corners: np.ndarray, rods: int, side_frac: float
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each rod's crop as a photo quad, and as the homography from crop pixels to photo pixels."""
    half = SPEC["crop"]["width_pitches"] / 2
    pitch = 1.0 / (rods + 2 * side_frac)  # frame width is 1
    frame = _frame_homography(corners, 1.0, 1.0)
    quads, homs = [], []
    for i in range(rods):
        x = (side_frac + i + 0.5) * pitch
        q = np.array(
            [[x - half * pitch, 0], [x + half * pitch, 0], [x + half * pitch, 1], [x - half * pitch, 1]]
        )
        crop_to_frame = cv2.getPerspectiveTransform(
            np.array([[0, 0], [WIDTH, 0], [WIDTH, HEIGHT], [0, HEIGHT]], np.float32), q.astype(np.float32)
        ).astype(np.float64)
        hom = frame @ crop_to_frame
        pts = cv2.perspectiveTransform(q.reshape(1, 4, 2).astype(np.float64), frame).reshape(4, 2)
        quads.append(pts)
        homs.append(hom)
    return quads, homs


def locate(gray: np.ndarray, columns: int | None, markers: str, colour: np.ndarray | None = None):
    """Frame corners, the method that found them, candidate (rods, side) layouts, warnings.
    `colour`: the photo's RGB, if it has colour, to help find a frame without markers."""
    frames, method, warnings = frame_options(gray, columns, markers, colour, 1)
    return frames[0][0], method, frames[0][1], warnings


def frame_options(
    gray: np.ndarray, columns: int | None, markers: str, colour: np.ndarray | None = None, count: int = 1
):
    """Up to `count` frames the soroban may have, the likeliest first, each with its candidate
    (rods, side) layouts; the method that found them; warnings. Markers give one frame."""
    warnings: list[str] = []
    corners, method = None, ""
    if markers in ("auto", "on"):
        corners, method, warnings = find_markers(gray)
        if corners is None and markers == "on":
            raise FrameNotFound("no frame markers found (need at least 3 of ArUco 4x4 ids 0-3)")
    candidates = [corners] if corners is not None else []
    if corners is None and markers in ("auto", "off"):
        candidates = quad_candidates(gray, colour=colour)
        method = "contour"
    frames = []
    smooth = None  # the gray as quad_candidates scores it, made only when a frame needs a look
    for quad in candidates:
        top = np.linalg.norm(quad[1] - quad[0])
        left = np.linalg.norm(quad[3] - quad[0])
        if top < 1 or left < 1 or (method == "contour" and top / left < 1.2):
            continue  # degenerate, or (an outline) not wide enough for a soroban
        width = int(np.clip(top * 1.5, 200, 1400))
        height = int(np.clip(width * left / top, 40, 600))
        layouts = fit_rods(column_profile(rectify(gray, quad, width, height)), columns)
        if method == "contour" and layouts[0][2] < -0.5:
            if smooth is None:
                smooth = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 0.7)
            if soroban_score(smooth, quad) < LOOKS_LIKE_A_FRAME:
                continue  # no rods inside, nor a soroban's frame: not a soroban
        frames.append((quad, layouts[:3]))
        if len(frames) >= count:
            break  # candidates come best first: quad_candidates ranks them by how soroban-like they look
    if not frames:
        raise FrameNotFound(
            "no soroban frame found in the image"
            + (" (no markers, and no frame outline with rods)" if markers == "auto" else "")
        )
    return frames, method, warnings


def _read_layout(gray, corners, rods, side_frac, reader):
    quads, homs = column_quads(corners, rods, side_frac)
    crops = np.stack(
        [
            (warp_gray(gray, h, WIDTH, HEIGHT) / SPEC["scale"]["divide_by"]).astype(np.float32)[..., None]
            for h in homs
        ]
    )
    return quads, reader.read_inputs(crops)


def read_abacus(
    photo: Photo | np.ndarray,
    reader,
    columns: int | None = None,
    markers: str = "auto",
    threshold: float = LOW_CONFIDENCE,
) -> AbacusReading:
    """Read the number on the soroban in a photo (a `Photo`, or float64 gray [H,W] in 0..255).
    Corners and column quads are given in the original photo's pixels."""
    photo = photo if isinstance(photo, Photo) else Photo(np.asarray(photo, np.float64))
    gray = photo.gray
    if columns is not None and not 1 <= columns <= MAX_COLUMNS:
        raise UsageError(f"--columns must be 1-{MAX_COLUMNS}, got {columns}")
    if markers not in ("auto", "on", "off"):
        raise UsageError(f"--markers must be auto, on or off, got {markers!r}")
    started = time.perf_counter()
    frames, method, warnings = frame_options(gray, columns, markers, photo.colour, FRAMES_READ)
    # The frame, among the likeliest few, and the rod count are settled by the column model
    # itself: misplaced crops are read with low confidence, so the layout read most
    # confidently wins.
    best = None
    for k, (quad, layouts) in enumerate(frames):
        if k and best[0] >= SURE:
            break  # the likeliest frame reads well: the others are not looked at
        margin = OTHER_FRAME_MARGIN if k else 0.0  # a part of the soroban may read well too
        for rods, side_frac, _ in layouts:
            quads, results = _read_layout(gray, quad, rods, side_frac, reader)
            confidence = float(np.mean([np.log(max(r["confidence"], 1e-6)) for r in results]))
            if best is None or confidence - margin > best[0]:
                best = (confidence - margin, quads, results, quad)
    _, quads, results, corners = best
    digits = [r["digit"] for r in results]
    cols = [
        Column(
            index=i,
            digit=r["digit"],
            confidence=r["confidence"],
            quad=_round(photo.to_photo(q)),
            low_confidence=r["confidence"] < threshold,
            heaven=r["heaven"],
            earth=r["earth"],
        )
        for i, (r, q) in enumerate(zip(results, quads, strict=True))
    ]
    flagged = [c.index for c in cols if c.low_confidence]
    if flagged:
        warnings.append(f"low confidence on column(s) {flagged}")
    return AbacusReading(
        number=to_number(digits),
        digits=digits,
        columns=cols,
        corners=_round(photo.to_photo(corners)),
        method=method,
        seconds=time.perf_counter() - started,
        warnings=warnings,
    )


def _round(points: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 2), round(float(y), 2)] for x, y in np.asarray(points).reshape(-1, 2)]


def annotate(path: str | Path, reading: AbacusReading, out: str | Path) -> None:
    """Draw the frame, the column boxes and the digits over the photo."""
    from PIL import Image

    with Image.open(path) as im:
        img = np.asarray(im.convert("RGB")).copy()
    scale = max(1.0, max(img.shape[:2]) / 800)  # line and text size
    corners = np.array(reading.corners).astype(np.int32)
    cv2.polylines(img, [corners], True, (0, 255, 0), max(1, int(2 * scale)), cv2.LINE_AA)
    for c in reading.columns:
        q = np.array(c.quad).astype(np.int32)
        colour = (255, 80, 0) if c.low_confidence else (0, 200, 255)
        cv2.polylines(img, [q], True, colour, 1, cv2.LINE_AA)
        x, y = q[0]
        cv2.putText(
            img,
            str(c.digit),
            (int(x), int(y - 4 * scale)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.6 * scale,
            colour,
            max(1, int(2 * scale)),
            cv2.LINE_AA,
        )
    cv2.putText(
        img,
        f"{reading.number}",
        (10, int(30 * scale)),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 0),
        max(1, int(2 * scale)),
        cv2.LINE_AA,
    )
    Image.fromarray(img).save(out)


# --------------------------------------------------------------------------- video


class Stabilizer:
    """Accept a reading only after it has been the same for `frames` frames, each above the
    confidence floor; any motion of the frame (corners moving more than `motion` of the frame
    width) starts the count again."""

    def __init__(self, frames: int = 5, min_confidence: float = LOW_CONFIDENCE, motion: float = 0.02):
        self.frames, self.min_confidence, self.motion = frames, min_confidence, motion
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.candidate: int | None = None
        self.corners: np.ndarray | None = None

    def update(self, number: int | None, confidences: Sequence[float], corners=None) -> int | None:
        """Feed one frame's reading; returns the number once it is stable, else None."""
        if corners is not None:
            c = np.asarray(corners, np.float64)
            if self.corners is not None:
                width = max(np.linalg.norm(c[1] - c[0]), 1.0)
                if np.abs(c - self.corners).max() > self.motion * width:
                    self.reset()
            self.corners = c
        if number is None or not confidences or min(confidences) < self.min_confidence:
            self.count, self.candidate = 0, None
            return None
        if number != self.candidate:
            self.candidate, self.count = number, 0
        self.count += 1
        return number if self.count >= self.frames else None


# --------------------------------------------------------------------------- evaluation


def evaluate_scenes(
    root: str | Path, reader, columns: int | None = None, markers: str = "auto", browser=None
) -> dict:
    """Read every scene of a `render-scenes` folder and compare with its ground truth.

    With `browser` (an open ChromiumRunner), every scene is read again by the browser pipeline
    (web/src/soroban-abacus.js) and the result gains a "browser" section: its accuracy, its
    agreement with Python and its time per frame. The browser finds the frame from the markers
    when the scenes have them; otherwise it is given the corners Python found, as a user would
    click them, so the rest of the pipeline is compared on the same frame.
    """
    import json

    root = Path(root)
    try:
        manifest = json.loads((root / "manifest.json").read_text())
    except FileNotFoundError:
        raise UsageError(
            f"{root} has no manifest.json (make one with `soroban-vision render-scenes`)"
        ) from None
    exact = cols_ok = cols_n = not_found = 0
    corner_errors, seconds, failures, found = [], [], [], {}
    for item in manifest["items"]:
        truth = np.array(item["corners"], np.float64)
        t0 = time.perf_counter()
        try:
            reading = read_abacus(load_photo(root / item["file"]), reader, columns, markers)
        except FrameNotFound as e:
            not_found += 1
            cols_n += len(item["digits"])
            failures.append({"file": item["file"], "error": str(e)})
            continue
        found[item["file"]] = reading
        seconds.append(time.perf_counter() - t0)
        got = np.array(reading.corners, np.float64)
        corner_errors.append(
            float(np.linalg.norm(got - truth, axis=1).max() / np.linalg.norm(truth[1] - truth[0]))
        )
        exact += reading.number == item["number"] and len(reading.digits) == len(item["digits"])
        if len(reading.digits) == len(item["digits"]):
            cols_ok += sum(a == b for a, b in zip(reading.digits, item["digits"], strict=True))
        cols_n += len(item["digits"])
        if reading.digits != item["digits"]:
            failures.append(
                {
                    "file": item["file"],
                    "got": reading.digits,
                    "want": item["digits"],
                    "method": reading.method,
                }
            )
    n = len(manifest["items"])
    return {
        "n": n,
        "markers_in_scenes": manifest.get("markers"),
        "exact_number_accuracy": exact / n if n else 0.0,
        "column_accuracy": cols_ok / cols_n if cols_n else 0.0,
        "frame_not_found": not_found,
        "corner_error_pct_of_width": {
            "median": 100 * float(np.median(corner_errors)) if corner_errors else None,
            "p95": 100 * float(np.percentile(corner_errors, 95)) if corner_errors else None,
            "max": 100 * float(np.max(corner_errors)) if corner_errors else None,
        },
        "ms_per_frame": {
            "median": 1000 * float(np.median(seconds)) if seconds else None,
            "p95": 1000 * float(np.percentile(seconds, 95)) if seconds else None,
        },
        "runtime": getattr(reader, "runtime", ""),
        "failures": failures,
        **(
            {"browser": _evaluate_in_browser(root, manifest, found, browser, columns, markers)}
            if browser
            else {}
        ),
    }


def _evaluate_in_browser(root: Path, manifest: dict, python: dict, runner, columns, markers) -> dict:
    """The scenes read again in Chromium; see evaluate_scenes."""
    from soroban_vision.runners.chromium import BrowserError

    by_markers = bool(manifest.get("markers")) and markers != "off"
    options = {"columns": columns} if columns else {}
    exact = agree = not_found = 0
    ms, failures = [], []
    for k, item in enumerate(manifest["items"]):
        path = root / item["file"]
        mine = python.get(item["file"])
        if by_markers:
            given = {"markers": "on"}
        elif mine is not None:
            given = {"corners": mine.corners}
        else:
            not_found += 1  # Python found no frame to hand over
            continue
        try:
            if k == 0:
                runner.read_abacus([path], **options, **given)  # warm-up: compile, first upload
            got = runner.read_abacus([path], **options, **given)[0]
        except BrowserError as e:
            if getattr(e, "js_name", "") != "FrameNotFound":
                raise
            not_found += 1
            failures.append({"file": item["file"], "error": str(e)})
            continue
        ms.append(float(got["ms"]))
        exact += got["digits"] == item["digits"]
        agree += mine is not None and got["digits"] == mine.digits
        if got["digits"] != item["digits"]:
            failures.append({"file": item["file"], "got": got["digits"], "want": item["digits"]})
    n = len(manifest["items"])
    return {
        "n": n,
        "runtime": runner.name,
        "frame_from": "markers" if by_markers else "the corners Python found (as if clicked)",
        "exact_number_accuracy": exact / n if n else 0.0,
        "same_number_as_python": agree / len(python) if python else 0.0,
        "frame_not_found": not_found,
        "ms_per_frame": {
            "median": float(np.median(ms)) if ms else None,
            "p95": float(np.percentile(ms, 95)) if ms else None,
        },
        "failures": failures,
    }
