"""The Python API, in the shape of the browser library (tfjs-models): load once, then read.

from soroban_vision import load_column_classifier, read_abacus

reading = read_abacus("photo.jpg")                   # the shipped model, markers or not
print(reading.number, reading.digits, reading.flagged_columns)
classifier = load_column_classifier()                # or a .keras file / model folder
print(classifier.classify(["column.png"])[0]["digit"])
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from soroban_vision.errors import UsageError
from soroban_vision.preprocess import MAX_MEGAPIXELS


def load_column_classifier(path: str | Path | None = None, *, prefer_onnx: bool = True):
    """The column classifier at `path` (a .keras file or a model folder; default: the shipped
    model), run by ONNX Runtime where the folder has a verified ONNX export, else by Keras.
    It has `.classify(images)` (file paths, PIL images or pixel arrays, any size and colour
    mode) returning one reading each: digit, confidence, heaven and earth."""
    from soroban_vision.reader import ColumnReader

    return ColumnReader.open(path, prefer_onnx=prefer_onnx)


@functools.lru_cache(maxsize=1)
def _shipped_classifier():
    return load_column_classifier()


def read_abacus(
    image,
    columns: int | None = None,
    markers: str = "auto",
    *,
    corners=None,
    classifier=None,
    threshold: float | None = None,
    max_megapixels: float = MAX_MEGAPIXELS,
    frame_model: bool = True,
    track=None,
):
    """Read the number on the soroban in `image` (a file path, a PIL image, or pixels as a
    uint8 array [H,W], [H,W,3] or [H,W,4]).

    columns: rods on the soroban (default: fitted from the rod spacing). markers: "auto"
    (markers when found, else the frame without them), "on" (markers only) or "off" (never
    markers). corners: the frame's four corners in the image's pixels, clockwise from the
    top-left, used as given. Files and PIL images are turned upright by their EXIF
    orientation, as a browser shows them: corners given and returned are in the upright
    image's pixels. threshold: the flag threshold (default: the spec's low_confidence, 0.8): a
    column read less sure is flagged, not given (`--min-confidence`). max_megapixels: a file or
    PIL image with more pixels is refused (too_many_pixels) before it is decoded. frame_model:
    without markers, ask the learned frame detector (models/frame) first, as the browser does,
    and the outline search only when it sees no frame (True, the default); False: the outline
    search only. track: for the frames of one video, one `soroban_vision.FrameTrack` passed with
    each: the frame model's frame is then kept while the model sees it still, as the browser's
    `track` option does, and the outline search does not run. Returns an `AbacusReading`:
    number, digits, confidences, flagged_columns, corners, method, warnings. Raises
    `FrameNotFound` when there is no soroban to read, `UsageError` on bad input; both have a
    stable `.code`."""
    from soroban_vision import abacus

    abacus.check_options(columns, markers)  # before decoding a photo for nothing
    photo = _photo(image, max_megapixels)
    classifier = classifier if classifier is not None else _shipped_classifier()
    options = {} if threshold is None else {"threshold": threshold}
    options["frame_model"] = "shipped" if frame_model else None
    return abacus.read_abacus(photo, classifier, columns, markers, corners=corners, track=track, **options)


def _photo(image, max_megapixels: float):
    from PIL import Image

    from soroban_vision import abacus
    from soroban_vision.preprocess import ImageError, pil_to_array

    if isinstance(image, str | Path):
        return abacus.load_photo(image, max_megapixels)
    if isinstance(image, Image.Image):
        try:
            return abacus.prepare(pil_to_array(image, max_megapixels))
        except ImageError as e:
            raise UsageError(str(e), code=e.code) from None
    pixels = np.asarray(image)
    channels = pixels.shape[2] if pixels.ndim == 3 else 1
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or channels not in (1, 3, 4):
        raise UsageError(
            f"an image must be a path, a PIL image or uint8 pixels [H,W], [H,W,3] or [H,W,4]; "
            f"got {pixels.dtype} {list(pixels.shape)}",
            code="bad_image",
        )
    return abacus.prepare(pixels)
