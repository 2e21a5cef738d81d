"""A soroban's frame without markers: `quad_candidates`, in gray (and, if gray shows no
convincing frame, in single colour channels too: a frame may be like its table in gray but
not in colour).

1. Rough quads (`rough`), on a copy at most ROUGH_SIDE pixels: outlines in edge maps; if those
   give no convincing frame, also the beads' blob and pairs of long straight edges.
2. Each side of a rough quad is snapped to the frame's outer edge (`edges.refine_quad`).
3. Each quad is scored by how much it looks like a soroban's frame once rectified
   (`score.soroban_score`); the best few get each side searched among its other edges for
   a better score. Quads found in a colour channel are scored in gray like the rest. Quads
   below MIN_SCORE or not wholly inside the photo are dropped; quads around the same soroban
   are grouped, the best first (a side pushed out a little by a shadow does not count).
   Two sorobans, both scoring at least TWO_SOROBANS, are refused: FrameNotFound.
"""

from __future__ import annotations

import cv2
import numpy as np

from soroban_vision.abacus.corners import dedupe, order_corners, overlap, quad_height, within
from soroban_vision.abacus.edges import analyse, polish, refine_quad, smoothed
from soroban_vision.abacus.rough import blob_quads, contour_quads, line_quads
from soroban_vision.abacus.score import soroban_score
from soroban_vision.abacus.spec import SPEC, frame_not_found

OUTLINE = SPEC["frame_search"]["outline"]  # the browser's outline.js reads the same
ROUGH_SIDE = OUTLINE["rough_side"]  # rough quads are looked for in a copy no larger than this
ROUGH_SAME = OUTLINE["rough_same"]  # of the image's size: rough quads this close are one
SNAPS_TO = OUTLINE["snaps_to"]  # of a found quad's height: a rough quad this close to it snaps to it too
CONVINCING = OUTLINE["convincing"]  # soroban_score of a frame that needs no other look at the same place
SEARCHED = OUTLINE["searched"]  # best candidates whose sides are searched for better edges
MIN_SCORE = OUTLINE["min_score"]  # soroban_score below which a quad is not a soroban's frame
NESTED_MARGIN = OUTLINE["nested_margin"]  # soroban_score: quads around one soroban this close are alike
INSIDE, SAME = OUTLINE["inside_px"], OUTLINE["same_px"]  # pixels: inside the photo; one quad
SAME_SOROBAN = OUTLINE["same_soroban"]  # the share of the smaller quad two quads around one soroban share
SHORTENED = OUTLINE["shortened"]  # `_shortened`'s tolerances
TWO_SOROBANS = SPEC["frame_search"]["model"]["two_sorobans"]  # a second soroban this soroban-like: ambiguous


def quad_candidates(
    gray: np.ndarray, limit: int = OUTLINE["candidates"], colour: np.ndarray | None = None
) -> list[np.ndarray]:
    """Frame candidates ([4,2] float, clockwise from the top-left), the most soroban-like
    first; only quads that look like a soroban frame (soroban_score >= MIN_SCORE).

    Rough quads come from outlines in edge maps and, unless those already give a convincing
    frame, from the blob of strong gradients the beads make; each is snapped to the frame's
    outer edges (`refine_quad`) and scored (`soroban_score`).

    With `colour` (RGB [H,W,3], 0..255, in the same pixels as `gray`), when gray shows no
    convincing frame (a frame and a table alike in gray, but not in colour), the same is
    done on single colour channels (`_colour_channels`) too, and the best of all is kept.
    Two sorobans are refused as seen in gray only."""
    gray = np.asarray(gray, np.float64)
    h, w = gray.shape
    found = _found_in(gray)
    sorobans = _one_per_soroban([(sc, q) for sc, q, _ in found if within(q, w, h, INSIDE)])
    if len(sorobans) > 1 and sorobans[1][0] >= TWO_SOROBANS:
        outlines = sum(sc >= TWO_SOROBANS for sc, _ in sorobans)
        raise frame_not_found("two_sorobans", why=f"{outlines} frame outlines")
    if colour is not None and (not found or found[0][0] < CONVINCING):
        smooth = smoothed(gray)
        for channel in _colour_channels(colour):
            # scored in gray, like the rest: a frame's rails are plain and its beads busy
            # in gray too, whether or not its outline shows there
            rescored = [(soroban_score(smooth, q), q, im) for _, q, im in _found_in(channel)]
            found += [f for f in rescored if f[0] >= MIN_SCORE]
            found.sort(key=lambda x: -x[0])
            if found and found[0][0] >= CONVINCING:
                break
    inside = [(sc, q, im) for sc, q, im in found if within(q, w, h, INSIDE)]
    images = {id(q): im for _, q, im in inside}
    groups = _one_per_soroban([(sc, q) for sc, q, _ in inside])
    ordered = [q for group in groups for q in group[1]]
    if ordered:  # the one to read, fitted to the half pixel however it was found
        ordered[0] = polish(images[id(ordered[0])], ordered[0])
    return dedupe(ordered, SAME)[:limit]


def _colour_channels(colour: np.ndarray):
    """Single channels of an RGB photo in which a frame may stand out from a table it is
    like in gray: first the opponent channels, CIELAB's yellow-blue b* and red-green a*
    (stretched twice), which gray (luminance) leaves out; then red, blue and green."""
    rgb = np.asarray(colour, np.float64)[..., :3]
    lab = cv2.cvtColor(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), cv2.COLOR_RGB2LAB)
    for k in (2, 1):
        yield np.clip((lab[..., k].astype(np.float64) - 128.0) * OUTLINE["opponent_stretch"] + 128.0, 0, 255)
    for k in (0, 2, 1):
        yield rgb[..., k]


def _found_in(gray: np.ndarray) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """(score, quad, the smoothed image it was found in) for the frame-like quads in one
    single-channel image, best first, scoring at least MIN_SCORE."""
    h, w = gray.shape
    u8 = np.clip(np.rint(gray), 0, 255).astype(np.uint8)
    scale = min(1.0, ROUGH_SIDE / max(h, w))
    small = u8 if scale == 1.0 else cv2.resize(u8, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    img = smoothed(gray)
    found: list[tuple[float, np.ndarray, dict]] = []  # (score, quad, analysis of the rough quad)
    for source in (contour_quads, blob_quads, line_quads):
        if source is not contour_quads and found and max(f[0] for f in found) >= CONVINCING:
            break
        rough = [(q + 0.5) / scale - 0.5 for q in source(small)]
        for q in dedupe([q for q in rough if _plausible(q)], ROUGH_SAME * max(h, w)):
            q = order_corners(q)
            if any(np.abs(q - f).max() <= SNAPS_TO * quad_height(f) for _, f, _ in found):
                continue  # close enough to a quad already found to snap to the same edges
            if any(sc >= CONVINCING and overlap(q, f) >= SAME_SOROBAN for sc, f, _ in found):
                continue  # on a soroban already found, and well
            analysis = analyse(img, q)
            r = refine_quad(img, q, search=False, fine=False, analysis=analysis)
            if r is None:
                continue
            r = order_corners(r)
            if any(np.abs(r - f).max() <= SAME for _, f, _ in found):
                continue
            found.append((soroban_score(img, r), r, analysis))
    found.sort(key=lambda x: -x[0])
    # the best again, now letting each side take another of its edges if that makes the
    # frame look more like a soroban's, and fitted to the half pixel
    for i, (_, _, analysis) in enumerate(found[:SEARCHED]):
        r = refine_quad(img, analysis["quad"], search=True, analysis=analysis)
        if r is not None:
            r = order_corners(r)
            found[i] = (soroban_score(img, r), r, analysis)
    found.sort(key=lambda x: -x[0])
    return [(sc, q, img) for sc, q, _ in found if sc >= MIN_SCORE]


def _one_per_soroban(found: list[tuple[float, np.ndarray]]) -> list[tuple[float, list[np.ndarray]]]:
    """Group quads (score, quad; best first) by the soroban they are around: (best score,
    quads best first) per soroban. Within a group, a shadow or a thing on the table just
    outside a side rail may have moved an end of a quad out past the frame's edge without
    the quad looking any less like a soroban: so of those with the best quad's long sides
    and scoring nearly as well, the shortest comes first."""
    groups = []
    while found:
        best = found[0]
        group = [f for f in found if overlap(f[1], best[1]) >= SAME_SOROBAN]
        close = [f for f in group if f[0] >= best[0] - NESTED_MARGIN and _shortened(f[1], best[1])]
        pick = min([best] + close, key=lambda f: cv2.contourArea(f[1].astype(np.float32)))
        groups.append((best[0], [pick[1]] + [f[1] for f in group if f is not pick]))
        found = [f for f in found if not any(f is g for g in group)]
    return groups


def _shortened(a: np.ndarray, b: np.ndarray) -> bool:
    """Is quad a quad b (both clockwise from the top-left) with an end or both moved in by
    a few pixels to a fifth of its height (a side rail's width, give or take), and nothing
    else moved?"""
    height = quad_height(b)
    tol = max(SHORTENED["tol_px"], SHORTENED["tol"] * height)
    moved = []
    centre = b.mean(axis=0)
    for k in range(4):
        p, q = b[k], b[(k + 1) % 4]
        n = np.array([q[1] - p[1], p[0] - q[0]]) / max(np.linalg.norm(q - p), 1e-9)
        n = n if n @ (0.5 * (p + q) - centre) >= 0 else -n
        ends = [(a[k] - p) @ n, (a[(k + 1) % 4] - p) @ n]  # + outward
        moved.append(-float(np.mean(ends)))
        if max(abs(ends[0] - ends[1]), 0) > 2 * tol or ends[0] > tol or ends[1] > tol:
            return False  # tilted or moved out
    top_bottom, ends = (moved[0], moved[2]), (moved[1], moved[3])
    level = max(abs(v) for v in top_bottom) <= tol
    return level and SHORTENED["least_px"] <= max(ends) <= SHORTENED["most"] * height


def _plausible(quad: np.ndarray) -> bool:
    """Could this rough quad be a soroban frame: convex, wider than tall, not tiny?"""
    quad = order_corners(quad)
    top, left = np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[3] - quad[0])
    least, wider = OUTLINE["plausible"]["min_side_px"], OUTLINE["plausible"]["wider_than_tall"]
    return cv2.isContourConvex(quad.astype(np.float32)) and left >= least and top >= wider * left
