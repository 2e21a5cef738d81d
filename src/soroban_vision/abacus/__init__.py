"""The whole-soroban reader: find the frame, fit the rods, read the number.

spec.py       the reader's spec (web/src/abacus/spec.json, shared with the browser), FrameNotFound
photo.py      a photo in: gray, reduced when huge, its colour kept
corners.py    a frame's corners: their order, checks, the geometry of quads
markers.py    corners from ArUco markers (three are enough)
rough.py      rough quads: edge-map outlines, the beads' blob, long straight edges
edges.py      a rough quad's sides snapped to the frame's outer edge
score.py      how much a quad looks like a soroban's frame
outline.py    the frame without markers: rough quads snapped, scored and chosen
rods.py       rectify, the columns' profile, the rods fitted, each rod's crop
locate.py     the frame (given, markers or outline) and its rod layouts
read.py       read_abacus: the number, its columns and confidences
flags.py      which columns are not read (hidden, out of frame) and the number's text
calibration.py does the confidence mean what it says: ECE, reliability bins, temperatures
annotate.py   a reading drawn over its photo
stabilizer.py steady readings from video; a covered column keeps its last confident digit
evaluate.py   accuracy on a render-scenes folder (outcomes.py: per scene and per condition)
parity.py     the same folder read again in the browser, compared with Python
"""

from soroban_vision.abacus.annotate import annotate
from soroban_vision.abacus.corners import check_corners, order_corners
from soroban_vision.abacus.edges import refine_quad
from soroban_vision.abacus.evaluate import evaluate_scenes
from soroban_vision.abacus.locate import frame_options, locate
from soroban_vision.abacus.markers import MARKER_FIT_PX, find_markers
from soroban_vision.abacus.outline import quad_candidates
from soroban_vision.abacus.photo import MIN_SIDE, WORK_SIDE, Photo, load_photo, prepare
from soroban_vision.abacus.read import AbacusReading, Column, check_options, read_abacus
from soroban_vision.abacus.rods import (
    RodCount,
    choose_count,
    column_profile,
    column_quads,
    fit_rods,
    rectify,
    rod_counts,
)
from soroban_vision.abacus.score import soroban_score
from soroban_vision.abacus.spec import (
    LOW_CONFIDENCE,
    MAX_COLUMNS,
    MIN_COLUMNS,
    SPEC,
    FrameNotFound,
    message,
    side_fracs,
)
from soroban_vision.abacus.stabilizer import Stabilizer

__all__ = [
    "LOW_CONFIDENCE",
    "MARKER_FIT_PX",
    "MAX_COLUMNS",
    "MIN_COLUMNS",
    "MIN_SIDE",
    "SPEC",
    "WORK_SIDE",
    "AbacusReading",
    "Column",
    "FrameNotFound",
    "Photo",
    "RodCount",
    "Stabilizer",
    "annotate",
    "check_corners",
    "check_options",
    "choose_count",
    "column_profile",
    "column_quads",
    "evaluate_scenes",
    "find_markers",
    "fit_rods",
    "frame_options",
    "load_photo",
    "locate",
    "message",
    "order_corners",
    "prepare",
    "quad_candidates",
    "read_abacus",
    "rectify",
    "refine_quad",
    "rod_counts",
    "side_fracs",
    "soroban_score",
]
