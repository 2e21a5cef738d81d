"""`soroban-vision watch`: steady numbers from a video file (MJPG in .avi, written by OpenCV from
rendered scenes), NDJSON events, and one-line errors for a camera or a file that will not open."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from soroban_vision import load_column_classifier, read_abacus
from soroban_vision.abacus import Stabilizer
from soroban_vision.render.scene import render_scene
from soroban_vision.watch import open_video, watch
from tests.conftest import assert_one_line_error, run_cli

pytestmark = pytest.mark.slow
FIRST, SECOND = 4_031_200_598_761, 27_182_818_284
FPS = 10


def write_clip(path: Path, shots: list[tuple[int | None, int]], fps: int = FPS, markers: bool = True) -> Path:
    """An MJPG .avi: each shot is a rendered soroban showing `number` (None: an empty black
    frame) held for `frames` frames."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 480))
    assert writer.isOpened(), "this OpenCV cannot write MJPG"
    for k, (number, frames) in enumerate(shots):
        if number is None:
            rgb = np.zeros((480, 640, 3), np.uint8)
        else:
            rgb, _ = render_scene(number, 13, seed=31 + k, markers=markers)
        for _ in range(frames):
            writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    # a number held 8 frames, 3 empty frames, then another held 8 frames
    return write_clip(tmp_path_factory.mktemp("watch") / "clip.avi", [(FIRST, 8), (None, 3), (SECOND, 8)])


def test_each_number_is_reported_once_when_it_is_steady(clip):
    with open_video(clip) as video:
        events = list(watch(video, load_column_classifier()))
    steady = [e for e in events if e["event"] == "steady"]
    assert [e["number"] for e in steady] == [FIRST, SECOND]
    # the Stabilizer's 5 frames: the 5th frame of each shot, timed by the video's clock
    assert [e["frame"] for e in steady] == [4, 15]
    assert steady[0]["seconds"] == pytest.approx(4 / FPS)
    assert steady[0]["method"] == "markers" and len(steady[0]["digits"]) == 13
    end = events[-1]
    assert end["event"] == "end" and end["frames"] == 19 and end["frames_read"] == 16
    assert end["steady"] == 2 and end["last"] == SECOND and not end["stopped"]
    assert end["frames_kept"] == 0  # the markers give the frame


def test_without_markers_the_frame_found_in_full_is_kept_while_the_soroban_stays_still(tmp_path):
    """Each shot's first frame is searched in full; the next ones keep its frame (the frame
    model's first look does not move on a still soroban), up to the spec's `keep`."""
    from soroban_vision.frame.track import KEEP

    shots = [(FIRST, 6), (SECOND, KEEP + 3)]
    clip = write_clip(tmp_path / "markerless.avi", shots, markers=False)
    with open_video(clip) as video:
        events = list(watch(video, load_column_classifier(), markers="off"))
    steady = [e for e in events if e["event"] == "steady"]
    assert [e["number"] for e in steady] == [FIRST, SECOND]
    assert {e["method"] for e in steady} == {"model"}
    # searched: frames 0, 6 (the soroban moved) and 6 + KEEP + 1; every other frame kept
    assert events[-1]["frames_kept"] == sum(frames for _, frames in shots) - 3


def test_cli_prints_a_line_per_steady_number_and_ndjson_with_json_dash(clip, tmp_path):
    proc = run_cli("watch", clip, check=True)
    lines = proc.stdout.splitlines()
    assert len(lines) == 3, proc.stdout
    assert f"frame 4: {FIRST}" in lines[0] and f"frame 15: {SECOND}" in lines[1]
    assert lines[2].startswith("end: 19 frames, 16 read, 2 steady numbers")

    proc = run_cli("watch", clip, "--json", "-", "--frames", "3", check=True)
    events = [json.loads(line) for line in proc.stdout.splitlines()]  # nothing else on stdout
    assert [e["event"] for e in events] == ["steady", "steady", "end"]
    assert [e["frame"] for e in events[:2]] == [2, 13]

    proc = run_cli("watch", clip, "--max-frames", "6", "--json", tmp_path / "events.ndjson", check=True)
    events = [json.loads(line) for line in (tmp_path / "events.ndjson").read_text().splitlines()]
    assert [e["event"] for e in events] == ["steady", "end"] and events[-1]["frames"] == 6


def test_a_camera_or_a_file_that_will_not_open_is_one_line(tmp_path):
    assert_one_line_error(run_cli("watch", "--camera", "57"), 2, "cannot open camera 57")
    assert_one_line_error(run_cli("watch", tmp_path / "missing.avi"), 2, "no video file")
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"not a video" * 100)
    assert_one_line_error(run_cli("watch", junk), 2, "cannot read", "as a video")
    assert_one_line_error(run_cli("watch", junk, "--camera", "0"), 2, "not both")
    assert_one_line_error(run_cli("watch", junk, "--columns", "40"), 2, "--columns")


def test_a_shot_read_less_sure_than_min_confidence_is_never_steady(clip):
    """watch --min-confidence P: a shot whose least sure column reads below P gives no steady
    number, and one whose columns all read at least P still does."""
    classifier = load_column_classifier()
    with open_video(clip) as video:
        frames = list(video)
    shots = {FIRST: frames[0], SECOND: frames[11]}
    least = {n: min(read_abacus(f.rgb, classifier=classifier).confidences) for n, f in shots.items()}
    assert least[FIRST] != least[SECOND]
    sure, unsure = sorted(least, key=least.get, reverse=True)
    between = (least[FIRST] + least[SECOND]) / 2
    proc = run_cli("watch", clip, "--min-confidence", repr(between), "--json", "-", check=True)
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e["number"] for e in events if e["event"] == "steady"] == [sure], (least, unsure)
    assert events[-1]["frames_read"] == 16
    # the readings themselves flag it, not only the Stabilizer: watch reads with its threshold
    readings = []
    stabilizer = Stabilizer(min_confidence=between)
    with open_video(clip) as video:
        for _ in watch(video, classifier, stabilizer=stabilizer, on_frame=lambda f, r, n: readings.append(r)):
            pass
    frames_of = {FIRST: range(0, 8), SECOND: range(11, 19)}
    assert all(readings[i].number is None for i in frames_of[unsure])
    assert all(readings[i].number == sure for i in frames_of[sure])
