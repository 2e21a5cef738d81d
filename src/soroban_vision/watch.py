"""Steady numbers from a camera or a video file: each frame read with `read_abacus`, fed to the
Stabilizer, and an event when a new number has held long enough to trust.

for event in watch(open_video("clip.avi"), load_column_classifier()):
    print(event["frame"], event["number"])          # {"event": "steady", ...}, then {"event": "end", ...}
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soroban_vision.errors import SorobanError, UsageError


@dataclass
class Frame:
    index: int
    seconds: float  # the video's own clock for a file, time since the start for a camera
    rgb: np.ndarray


class Video:
    """Frames from OpenCV's VideoCapture, RGB uint8; a camera is read live (stale frames dropped)."""

    def __init__(self, capture, name: str, live: bool):
        self.capture, self.name, self.live = capture, name, live

    def __iter__(self) -> Iterator[Frame]:
        import cv2

        t0, index = time.perf_counter(), 0
        while True:
            ok, bgr = self.capture.read()
            if not ok or bgr is None:
                return
            if self.live:
                seconds = time.perf_counter() - t0
            else:
                seconds = self.capture.get(cv2.CAP_PROP_POS_MSEC) / 1000
            rgb = cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB if bgr.ndim == 2 else cv2.COLOR_BGR2RGB)
            yield Frame(index, seconds, rgb)
            index += 1

    def close(self) -> None:
        self.capture.release()

    def __enter__(self) -> Video:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_video(source: str | Path | int) -> Video:
    """A video file (any container OpenCV's FFmpeg reads: .avi with MJPG, .mp4, ...) or camera N.
    UsageError (no_video, no_camera) when it cannot be opened."""
    import cv2

    live = isinstance(source, int)
    if not live and not Path(source).is_file():
        raise UsageError(f"no video file {source}", code="no_video")
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # we say it in one line
    try:
        capture = cv2.VideoCapture(source if live else str(source))
        if live and capture.isOpened():
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not a queue of old ones
    finally:
        cv2.utils.logging.setLogLevel(level)
    if not capture.isOpened():
        if live:
            raise UsageError(
                f"cannot open camera {source} (no such camera, it is busy, or access is denied)",
                code="no_camera",
            )
        raise UsageError(f"cannot read {source} as a video (OpenCV cannot decode it)", code="no_video")
    return Video(capture, f"camera {source}" if live else str(source), live)


def watch(
    frames,
    classifier,
    columns: int | None = None,
    markers: str = "auto",
    stabilizer=None,
    max_frames: int | None = None,
    on_frame=None,
    frame_model: bool = True,
) -> Iterator[dict]:
    """Read every frame; yield a "steady" event each time the Stabilizer accepts a number other
    than the last one it accepted, and an "end" event with counts and timing last (also after
    Ctrl-C, which is how a camera is stopped). A frame without a readable soroban (no frame,
    too small) counts as no reading. `on_frame(frame, reading or None, steady number or None)`
    sees every frame (the preview window); when it returns False, watching stops. Frames are
    read with the Stabilizer's min_confidence as their flag threshold, so one number decides
    both which columns are read and which digits are held. Without markers, the frame found
    in full is kept while the frame model sees it still (`frame.track`), as in the browser, and
    the outline search does not run; without a frame model (`frame_model` False) each frame is
    searched alone by the outline search, as asked."""
    from soroban_vision import abacus
    from soroban_vision.frame.track import FrameTrack

    abacus.check_options(columns, markers)
    stabilizer = stabilizer if stabilizer is not None else abacus.Stabilizer()
    track = FrameTrack() if frame_model else None
    shown, seen, read, steady, ms, stopped = None, 0, 0, 0, [], False
    try:
        for frame in frames:
            if max_frames is not None and seen >= max_frames:
                break
            seen += 1
            t0 = time.perf_counter()
            threshold = stabilizer.min_confidence
            reading = _read(frame, classifier, columns, markers, frame_model, threshold, track)
            ms.append((time.perf_counter() - t0) * 1000)
            number = None
            if reading is None:
                stabilizer.update(None, [], None)
            else:
                read += 1
                # the whole reading: a covered column keeps its last confident digit, and the rod
                # count must agree and be sure across the frames
                number = stabilizer.update(reading)
            if number is not None and number != shown:
                shown, steady = number, steady + 1
                yield _steady(frame, reading, number, stabilizer)
            if on_frame is not None and on_frame(frame, reading, number) is False:
                stopped = True
                break
    except KeyboardInterrupt:
        stopped = True
    if seen == 0 and not stopped:
        raise UsageError("no frame could be decoded from the video", code="no_frames")
    yield {
        "event": "end",
        "frames": seen,
        "frames_read": read,
        # handed the frame found in full on an earlier frame (no markers)
        "frames_kept": 0 if track is None else track.kept,
        "steady": steady,
        "last": shown,
        "ms_per_frame": round(statistics.median(ms), 1) if ms else None,
        "stopped": stopped,
    }


def _read(frame: Frame, classifier, columns, markers, frame_model: bool, threshold: float, track):
    from soroban_vision.api import read_abacus

    try:
        return read_abacus(
            frame.rgb,
            columns,
            markers,
            classifier=classifier,
            frame_model=frame_model,
            threshold=threshold,
            track=track,
        )
    except SorobanError:
        return None


def _steady(frame: Frame, reading, number: int, stabilizer) -> dict:
    """The settled number; `held` names the columns a hand covers whose digit is the last one seen."""
    return {
        "event": "steady",
        "frame": frame.index,
        "seconds": round(frame.seconds, 3),
        "number": number,
        "digits": list(stabilizer.digits),
        "held": list(stabilizer.held),
        "confidences": [round(c, 4) for c in reading.confidences],
        "flagged_columns": reading.flagged_columns,
        "corners": reading.corners,
        "method": reading.method,
    }
