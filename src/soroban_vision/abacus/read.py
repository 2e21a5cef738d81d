"""Read a whole soroban from a photo: find the frame, fit the rods, read the number.

1. Frame (`locate`): the four corners given; or four ArUco markers (see render/marker_cards.py for
   where they sit) when present; otherwise the frame's outline, found as a quadrilateral from
   edges and contours (in gray, and in colour channels when gray shows no convincing frame),
   each candidate scored by how much it looks like a soroban once rectified. If the likeliest
   frame reads poorly, the next few are read too, and one that reads clearly better wins.
2. Rods (`rods`): the side rail width and the rod count fitted to the columns' profile.
3. Columns: each rod's crop (the contract's crop) is sampled straight from the photo through
   the homography into 64x128, classified in one batch, and decoded into a number. The rod
   count is the candidate layout's that reads best (`rods.choose_count`), unless given; the
   reading says how sure that count is, and warns when it is not.
4. Flags (`flags`): a column below the confidence threshold is "hidden" (so is, in a reading
   with a hidden column, any other that is not quite sure, and one whose digit changes when its
   crop moves a few pixels: its shifted crops are read in one more batch) and one whose crop is
   partly outside the image "out_of_frame"; neither is a digit. A count with many hidden columns
   is unsure. The number is given only when every column is read (else None, and its text marks
   the unread columns: "12?45").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from soroban_vision import preprocess
from soroban_vision.abacus.corners import check_corners
from soroban_vision.abacus.flags import (
    HIDDEN,
    OUT_OF_FRAME,
    READ,
    STEADY_SHIFTS,
    column_status,
    column_statuses,
    needs_views,
    number_text,
    outside_share,
)
from soroban_vision.abacus.locate import frame_options
from soroban_vision.abacus.markers import MARKER_METHODS
from soroban_vision.abacus.photo import Photo
from soroban_vision.abacus.rods import RodCount, choose_count, column_quads, shifted_homography
from soroban_vision.abacus.spec import LOW_CONFIDENCE, MARKER_MODES, MAX_COLUMNS, MIN_COLUMNS, SPEC, message
from soroban_vision.beads import to_number
from soroban_vision.errors import UsageError
from soroban_vision.preprocess import HEIGHT, WIDTH, warp_gray

OUTLINE = SPEC["frame_search"]["outline"]
FRAMES_READ = OUTLINE["frames_read"]  # frames the outline search gives that are read, the surest kept
SURE = float(np.log(OUTLINE["sure"]))  # mean log confidence of a likeliest frame that needs no other
OTHER_FRAME_MARGIN = OUTLINE["other_frame_margin"]  # mean log confidence another frame must read better by


@dataclass
class Column:
    index: int
    status: str  # "read", "hidden" (covered or unsure) or "out_of_frame": only read columns are digits
    digit: int | None  # None unless read (the model's guess stays in heaven and earth)
    confidence: float
    quad: list[list[float]]
    heaven: dict = field(default_factory=dict)
    earth: dict = field(default_factory=dict)
    steady: bool = True  # the digit holds in the crop's shifted views (False: hidden)


@dataclass
class AbacusReading:
    number: int | None  # None when any column is not read: `text` then shows which
    digits: list[int | None]
    columns: list[Column]
    corners: list[list[float]]  # frame corners in the photo's pixels, clockwise from top-left
    method: str  # "corners", "markers", "markers-3", "model" (the frame model) or "contour"
    seconds: float
    warnings: list[str] = field(default_factory=list)
    rods: RodCount | None = None  # the rod count read by, and how sure it is

    @property
    def confidences(self) -> list[float]:
        return [c.confidence for c in self.columns]

    @property
    def flagged_columns(self) -> list[int]:
        """The columns not read (hidden or out of frame), most significant first."""
        return [c.index for c in self.columns if c.status != READ]

    @property
    def text(self) -> str:
        """The number as a user reads it, each unread column marked: "12?45"."""
        return number_text(self.digits)

    def to_json(self) -> dict:
        return {
            "number": self.number,
            "text": self.text,
            "digits": self.digits,
            "columns": [vars(c) for c in self.columns],
            "corners": self.corners,
            "method": self.method,
            "seconds": round(self.seconds, 4),
            "flagged_columns": self.flagged_columns,
            "warnings": self.warnings,
            "rods": None if self.rods is None else self.rods.to_json(),
        }


def check_options(columns: int | None, markers: str) -> None:
    """UsageError (bad_columns, bad_markers) for a column count or marker mode out of range."""
    whole = isinstance(columns, int | np.integer) and not isinstance(columns, bool)
    if columns is not None and not (whole and MIN_COLUMNS <= columns <= MAX_COLUMNS):
        text = message("bad_columns", min=MIN_COLUMNS, max=MAX_COLUMNS, columns=columns)
        raise UsageError(text, code="bad_columns")
    if markers not in MARKER_MODES:
        raise UsageError(message("bad_markers", markers=repr(markers)), code="bad_markers")


def read_abacus(
    photo: Photo | np.ndarray,
    reader,
    columns: int | None = None,
    markers: str = "auto",
    threshold: float = LOW_CONFIDENCE,
    corners=None,
    frame_model="shipped",
    track=None,
) -> AbacusReading:
    """Read the number on the soroban in a photo (a `Photo`, or float64 gray [H,W] in 0..255).
    `markers`: "auto" (markers when found, else the frame without them), "on" (markers only)
    or "off" (never markers). `corners`: the frame's four [x, y] corners in the photo's
    pixels, clockwise from the top-left, used as given (method "corners"). `frame_model`:
    without markers, the frame model asked first ("model"), the outline search ("contour")
    only when it sees no frame: "shipped" (the default, models/frame), a `frame.FrameDetector`,
    or None (the outline search only). `track`: a video's `frame.track.FrameTrack`, the same
    one for each of its frames: the frame model's frame is kept while the model sees it still,
    and the outline search does not run. Corners and column quads are given in the original photo's pixels."""
    photo = photo if isinstance(photo, Photo) else Photo(np.asarray(photo, np.float64))
    check_options(columns, markers)
    given = None if corners is None else photo.from_photo(check_corners(corners))
    started = time.perf_counter()
    if frame_model == "shipped":
        from soroban_vision.frame.detector import shipped_detector

        frame_model = shipped_detector() if markers != "on" and given is None else None
    frames, method, warnings = frame_options(
        photo.gray, columns, markers, photo.colour, FRAMES_READ, given, frame_model, track
    )
    found, quads, homs, results, rods = _most_confident(photo.gray, frames, reader, columns is not None)
    cols, rods = _flagged(photo, quads, homs, results, rods, threshold, reader)
    if method not in MARKER_METHODS and columns is None:  # markers mark the frame's true ends
        rods = _beyond_ends(photo, found, rods, reader)
    if track is not None:
        _tracked(track, method, rods, cols)
    warnings += _flag_warnings(cols, rods)
    digits = [c.digit for c in cols]
    return AbacusReading(
        number=None if None in digits else to_number(digits),
        digits=digits,
        columns=cols,
        corners=_round(photo.to_photo(found)),
        method=method,
        seconds=time.perf_counter() - started,
        warnings=warnings,
        rods=rods,
    )


def _tracked(track, method: str, rods: RodCount, cols: list[Column]) -> None:
    """Tell a video's FrameTrack how its frame read: the frame model's frame is kept once a
    reading is sure of its rods with every column read (a given count is never unsure); markers
    or given corners make the kept frame stale (a video runs no outline search)."""
    if method == "model":
        track.read(not rods.uncertain and all(c.status == READ for c in cols))
    else:
        track.forget()


def _flagged(photo: Photo, quads, homs, results, rods: RodCount, threshold: float, reader):
    """The columns with their statuses (`flags.column_statuses`), and the rod count once their
    flags are known (`RodCount.with_hidden`)."""
    height, width = photo.gray.shape
    confidences = [r["confidence"] for r in results]
    outsides = [outside_share(q, width, height) for q in quads]
    steadies = _steady(photo.gray, homs, results, needs_views(confidences, outsides, threshold), reader)
    statuses = column_statuses(confidences, outsides, threshold, steadies)
    cols = [
        Column(
            i,
            s,
            r["digit"] if s == READ else None,
            r["confidence"],
            _round(photo.to_photo(q)),
            r["heaven"],
            r["earth"],
            steadies[i],
        )
        for i, (s, r, q) in enumerate(zip(statuses, results, quads, strict=True))
    ]
    # hidden by its own reading, not only for another's
    own = [
        column_status(c.confidence, o, threshold, c.steady) == HIDDEN
        for c, o in zip(cols, outsides, strict=True)
    ]
    return cols, rods.with_hidden(own)


def _steady(gray: np.ndarray, homs: list, results: list, viewed: list[bool], reader) -> list[bool]:
    """Whether each column's digit is read again from every one of its shifted crops
    (STEADY_SHIFTS), for the columns `viewed` says (the others count as steady), in one batch."""
    steady = [True] * len(homs)
    which = [i for i, v in enumerate(viewed) if v]
    if not which or not STEADY_SHIFTS:
        return steady
    shifted = [shifted_homography(homs[i], dx, dy) for i in which for dx, dy in STEADY_SHIFTS]
    views = reader.read_inputs(_crops(gray, shifted))
    k = len(STEADY_SHIFTS)
    for n, i in enumerate(which):
        steady[i] = all(v["digit"] == results[i]["digit"] for v in views[n * k : (n + 1) * k])
    return steady


def _beyond_ends(photo: Photo, corners: np.ndarray, rods: RodCount, reader) -> RodCount:
    """The count once the crops one pitch past its first and last rods are read (`with_beyond`)."""
    side_frac = next(c["side_frac"] for c in rods.candidates if c["rods"] == rods.count)
    quads, _, results = _read_layout(photo.gray, corners, rods.count, side_frac, reader, (-1, rods.count))
    height, width = photo.gray.shape
    outsides = [outside_share(q, width, height) for q in quads]
    return rods.with_beyond([r["confidence"] for r in results], outsides)


def _flag_warnings(cols: list[Column], rods: RodCount) -> list[str]:
    """The sentences that say which columns are not read, and why the rod count is unsure."""
    warnings = []
    for status, warning in ((HIDDEN, "columns_hidden"), (OUT_OF_FRAME, "columns_out_of_frame")):
        which = [c.index for c in cols if c.status == status]
        if which:
            warnings.append(SPEC["warnings"][warning].format(columns=which))
    if rods.doubt is not None:
        hidden = round(rods.hidden_share * rods.count)
        text = SPEC["warnings"][f"rods_{rods.doubt}"]
        warnings.append(text.format(count=rods.count, rival=rods.rival, hidden=hidden))
    return warnings


def _most_confident(gray: np.ndarray, frames: list, reader, given: bool):
    """(frame corners, column quads, their homographies, readings, RodCount) of the frame and
    layout read most confidently.

    The frame, among the likeliest few, and the rod count are settled by the column model
    itself: misplaced crops are read with low confidence, so the layout read most
    confidently wins (`choose_count` has the last word on the count within a frame)."""
    best = None
    for k, (quad, layouts) in enumerate(frames):
        if k and best[0] >= SURE:
            break  # the likeliest frame reads well: the others are not looked at
        margin = OTHER_FRAME_MARGIN if k else 0.0  # a part of the soroban may read well too
        read = [_read_layout(gray, quad, rods, side_frac, reader) for rods, side_frac, _ in layouts]
        logs = [float(np.mean([np.log(max(r["confidence"], 1e-6)) for r in results])) for *_, results in read]
        chosen, rods = choose_count(layouts, logs, given)
        if best is None or logs[chosen] - margin > best[0]:
            best = (logs[chosen] - margin, quad, *read[chosen], rods)
    return best[1:]


def _read_layout(gray, corners, rods, side_frac, reader, indices=None):
    """The column quads of one layout (or of its `indices`), their homographies, and the model's
    readings of their crops."""
    quads, homs = column_quads(corners, rods, side_frac, indices)
    return quads, homs, reader.read_inputs(_crops(gray, homs))


def _crops(gray: np.ndarray, homs: list) -> np.ndarray:
    """The model input: each homography's crop, gray / divide_by as the contract says."""
    divide_by = preprocess.SPEC["scale"]["divide_by"]
    crops = [(warp_gray(gray, h, WIDTH, HEIGHT) / divide_by).astype(np.float32)[..., None] for h in homs]
    return np.stack(crops)


def _round(points: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 2), round(float(y), 2)] for x, y in np.asarray(points).reshape(-1, 2)]
